package main

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
)

// TestRequestsTodaySurvivesRestart: after a restart the tray and the
// dashboard still count the requests made today, because kirobar seeds the
// count from today's flows when it opens, and counts on from there.
func TestRequestsTodaySurvivesRestart(t *testing.T) {
	fake, err := kirofake.Start(kirofake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	refresh := "aorAAAAA" + strings.Repeat("t", 120)
	fake.AddAccount(kirofake.Account{ID: "acct1", AuthMethod: kirofake.AuthSocial, RefreshToken: refresh})
	home := filepath.Join(t.TempDir(), "home")
	key := "kb-requests-today-0123456789abcdef"
	writeConfig(t, home, "127.0.0.1:0", key, fake.URL)

	// run opens kirobar as main does, sends n requests and shuts down,
	// returning the count the running kirobar showed at the end.
	run := func(n int, addAccount bool) int {
		t.Helper()
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
		if addAccount {
			if _, err := a.accounts.AddRefreshToken(ctx, accounts.AddRequest{RefreshToken: refresh, AuthMethod: accounts.AuthSocial}); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.server.Start(); err != nil {
			t.Fatal(err)
		}
		for range n {
			req, _ := http.NewRequest(http.MethodPost, "http://"+a.server.Addr()+"/v1/messages",
				strings.NewReader(`{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`))
			req.Header.Set("x-api-key", key)
			req.Header.Set("content-type", "application/json")
			resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if body := readBody(t, resp); resp.StatusCode != 200 {
				t.Fatalf("request: %d %s", resp.StatusCode, body)
			}
		}
		return a.server.RequestsToday()
	}
	if got := run(3, true); got != 3 {
		t.Fatalf("first run counted %d requests today, want 3", got)
	}
	if got := run(2, false); got != 5 {
		t.Fatalf("after a restart: %d requests today, want 5 (3 before + 2 after)", got)
	}
}
