package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
)

// TestDashboardWiring opens kirobar as main does and uses the dashboard
// through the tray's "Open dashboard" link: accounts, a request's flow,
// the speed test and the overview all come from the app's real parts.
func TestDashboardWiring(t *testing.T) {
	fake, err := kirofake.Start(kirofake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	refresh := "aorAAAAA" + strings.Repeat("d", 120)
	fake.AddAccount(kirofake.Account{ID: "acct1", Email: "dash@example.com", AuthMethod: kirofake.AuthSocial, RefreshToken: refresh})
	home := filepath.Join(t.TempDir(), "home")
	key := "kb-dashboard-wiring-0123456789"
	writeConfig(t, home, "127.0.0.1:0", key, fake.URL)

	a, err := openApp(home, false)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	if err := a.openServing(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	wait := a.runBackground(ctx)
	defer func() { a.stop(); cancel(); wait() }()
	if _, err := a.accounts.AddRefreshToken(ctx, accounts.AddRequest{RefreshToken: refresh, AuthMethod: accounts.AuthSocial}); err != nil {
		t.Fatal(err)
	}
	tb := &trayBackend{a: a}
	if u := tb.DashboardURL(); u != "" {
		t.Fatalf("DashboardURL %q while the server is stopped", u)
	}
	if err := a.server.Start(); err != nil {
		t.Fatal(err)
	}
	base := "http://" + a.server.Addr()

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := c.Get(tb.DashboardURL())
	if err != nil {
		t.Fatal(err)
	}
	page := readBody(t, resp)
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/ui/" || !strings.Contains(page, "kirobar dashboard") {
		t.Fatalf("dashboard link: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	get := func(path string, v any) {
		t.Helper()
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body := readBody(t, resp)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		assertNoSecret(t, home, body, key, refresh)
		if err := json.Unmarshal([]byte(body), v); err != nil {
			t.Fatal(err)
		}
	}
	var session struct {
		CSRF  string `json:"csrf"`
		Flows bool   `json:"flows"`
		Login bool   `json:"login"`
	}
	get("/api/session", &session)
	if !session.Flows || !session.Login || session.CSRF == "" {
		t.Fatalf("session %+v", session)
	}
	var list struct {
		Accounts []struct {
			ID string `json:"id"`
		} `json:"accounts"`
	}
	get("/api/accounts", &list)
	if len(list.Accounts) != 1 {
		t.Fatalf("accounts %+v", list)
	}

	req, _ := http.NewRequest(http.MethodPost, base+"/api/accounts/"+list.Accounts[0].ID+"/speedtest", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", session.CSRF)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, resp)
	var speed struct {
		TTFB   float64 `json:"ttfb_ms"`
		Error  string  `json:"error"`
		FlowID string  `json:"flow_id"`
	}
	if err := json.Unmarshal([]byte(body), &speed); err != nil || speed.Error != "" || speed.TTFB <= 0 || speed.FlowID == "" {
		t.Fatalf("speed test: %d %s", resp.StatusCode, body)
	}

	deadline := time.Now().Add(10 * time.Second)
	for {
		var flows struct {
			Flows []struct {
				ID string `json:"id"`
			} `json:"flows"`
		}
		get("/api/flows", &flows)
		if len(flows.Flows) == 1 && flows.Flows[0].ID == speed.FlowID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("speed test flow not listed: %+v", flows)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var o struct {
		Running bool `json:"running"`
		Today   *struct {
			Requests int `json:"requests"`
		} `json:"today"`
	}
	get("/api/overview", &o)
	if !o.Running || o.Today == nil || o.Today.Requests != 1 {
		t.Fatalf("overview %+v", o)
	}
}
