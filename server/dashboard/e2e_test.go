package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/flows"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
)

// browserTools finds Debian's chromium and the playwright-core package
// .ci/setup installs. Missing tools skip the test on a developer's
// machine and fail it in CI.
func browserTools(t *testing.T) (chromium, playwright, node string) {
	t.Helper()
	missing := func(what string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing; .ci/setup installs it", what)
		}
		t.Skipf("%s is missing; run .ci/setup", what)
	}
	chromium = os.Getenv("KIROBAR_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		missing("chromium")
	}
	clients := os.Getenv("KIROBAR_CLIENTS")
	if clients == "" {
		_, file, _, _ := runtime.Caller(0)
		clients = filepath.Join(filepath.Dir(file), "..", "..", ".ci", "clients")
	}
	playwright = filepath.Join(clients, "node_modules", "playwright-core")
	if _, err := os.Stat(filepath.Join(playwright, "package.json")); err != nil {
		missing("playwright-core")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node")
	}
	return chromium, playwright, node
}

// TestBrowser drives the dashboard in a real browser: sign in, accounts
// with countdowns, a refresh, a request appearing in Flows live, its
// detail, a speed test, stats, keyboard navigation and the accessibility
// tree. Set KIROBAR_SCREENSHOTS to a directory (docs/screenshots) to keep
// the screenshots.
func TestBrowser(t *testing.T) {
	chromium, playwright, node := browserTools(t)
	var h *harness
	h = newHarness(t, harnessOptions{accounts: 2, login: func(ctx context.Context, r LoginRequest, ui LoginUI) (accounts.View, error) {
		return AccountsLogin(h.mgr)(ctx, r, ui)
	}})
	seedDay(t, h)
	// Requests with the web search tool search once (the flow-detail step).
	h.fake.SetResponder(kirofake.WebSearchRoundTrip("kiro web search", "Found it."))
	link, err := h.dash.LoginURL()
	if err != nil {
		t.Fatal(err)
	}
	shots := os.Getenv("KIROBAR_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if shots, err = filepath.Abs(shots); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "e2e.cjs"))
	cmd.Env = append(os.Environ(),
		"CHROMIUM="+chromium, "PLAYWRIGHT_CORE="+playwright, "KIROBAR_URL="+h.url,
		"KIROBAR_LOGIN_URL="+link, "KIROBAR_KEY="+testKey, "KIROBAR_SHOTS="+shots)
	out, err := cmd.Output()
	var res struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
		Steps []struct {
			Name string `json:"name"`
			MS   int64  `json:"ms"`
		} `json:"steps"`
	}
	if jerr := json.Unmarshal(out, &res); jerr != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("browser script: %v %v\nstdout: %s\nstderr: %s", err, jerr, out, stderr)
	}
	for _, s := range res.Steps {
		t.Logf("ok  %-60s %5d ms", s.Name, s.MS)
	}
	if !res.OK || err != nil {
		t.Fatalf("browser test failed after %d steps: %s", len(res.Steps), res.Error)
	}
	for _, name := range []string{"signin", "overview", "accounts", "flows", "flow-detail", "speed", "stats",
		"accounts-800", "stats-800", "overview-800", "flows-800"} {
		if st, err := os.Stat(filepath.Join(shots, name+".png")); err != nil || st.Size() == 0 {
			t.Errorf("screenshot %s missing: %v", name, err)
		}
	}
}

// seedDay records a day of earlier requests on the harness's accounts, as
// a kirobar in use for a while has: one every 40 minutes or so, some
// failed, none in the last half hour.
func seedDay(t *testing.T, h *harness) {
	t.Helper()
	views := h.mgr.List()
	if len(views) == 0 {
		t.Fatal("no accounts to seed flows for")
	}
	sub, unsubscribe := h.rec.Subscribe()
	defer unsubscribe()
	now := time.Now()
	const n = 30
	for i := 0; i < n; i++ {
		at := now.Add(-23*time.Hour + time.Duration(i)*45*time.Minute + time.Duration(i%3)*7*time.Minute)
		f := &flows.Flow{
			ID: fmt.Sprintf("msg_seed%04d", i), Time: at, KeyName: "key1", Surface: "anthropic", Path: "/v1/messages",
			ClientModel: "claude-sonnet-4-5", KiroModel: "claude-sonnet-4.5", Stream: true,
			AccountID: views[i%len(views)].ID, Status: flows.StatusCompleted, HTTPStatus: 200,
			TTFB: time.Duration(300+(i*37)%400) * time.Millisecond, Duration: 2 * time.Second,
			InputTokens: 1200 + i*10, OutputTokens: 80 + i, Credits: 0.1, StopReason: "end_turn",
		}
		if i%7 == 3 {
			f.Status, f.HTTPStatus, f.ErrorType, f.ErrorMessage = flows.StatusFailed, 502, "api_error", "upstream stream cut"
		}
		f.Attempts = []flows.Attempt{{AccountID: f.AccountID, Status: f.HTTPStatus, Duration: f.Duration}}
		h.rec.Record(f)
	}
	for seen := 0; seen < n; {
		select {
		case <-sub:
			seen++
		case <-time.After(20 * time.Second):
			t.Fatalf("%d of %d seeded flows recorded", seen, n)
		}
	}
}
