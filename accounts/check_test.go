package accounts

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kirobar/kirobar/internal/duration"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
)

func TestCheckReadsQuotaWithoutSpendingCredits(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, false)
	m := e.manager(testConfig(), 0)
	soon := e.add(m, "soon", 5*time.Minute) // inside the refresh lead
	fine := e.add(m, "fine", time.Hour)
	susp := e.add(m, "susp", time.Hour)
	full := e.fakeAccount("full", time.Hour)
	full.Used, full.Limit = 50, 50
	e.fake.AddAccount(full)
	fullView, err := m.ImportPath(context.Background(), e.ideFile(full, e.dir+"/full.json"))
	if err != nil {
		t.Fatal(err)
	}
	e.fake.SetSuspended("susp", true)

	var calls []int
	results, err := m.Check(context.Background(), nil, func(done, total int) {
		if total != 4 {
			t.Errorf("progress total %d", total)
		}
		calls = append(calls, done)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 4 {
		t.Fatalf("progress called %d times", len(calls))
	}
	byID := map[string]CheckResult{}
	for _, r := range results {
		byID[r.ID] = r
	}
	for _, tc := range []struct {
		id, status string
		refreshed  bool
		failed     bool
	}{
		{soon.ID, StatusReady, true, false},
		{fine.ID, StatusReady, false, false},
		{susp.ID, StatusSuspended, false, true},
		{fullView[0].ID, StatusExhausted, false, false},
	} {
		r := byID[tc.id]
		if r.Status != tc.status || r.Refreshed != tc.refreshed || (r.Err != "") != tc.failed {
			t.Fatalf("check of %s: %+v; want status %s refreshed %v failed %v", tc.id, r, tc.status, tc.refreshed, tc.failed)
		}
		if !tc.failed && (r.Plan != "KIRO FREE" || r.Limit != 50 || r.Models < 1 || !strings.HasSuffix(r.Email, "@example.com")) {
			t.Fatalf("check of %s recorded %+v", tc.id, r)
		}
	}
	if v := viewOf(t, m, fine.ID); v.Label != "fine@example.com" || v.Plan != "KIRO FREE" || v.CheckedAt.IsZero() {
		t.Fatalf("check did not store what it learned: %+v", v)
	}
	if v := viewOf(t, m, fullView[0].ID); !v.CooldownUntil.Equal(e.fake.Account("full").NextReset) {
		t.Fatalf("used-up account quarantined until %v, want the reset date", v.CooldownUntil)
	}
	st := e.fake.Stats()
	if st.Generations != 0 || st.Refreshes["soon"] != 1 || st.Refreshes["fine"] != 0 {
		t.Fatalf("check spent credits or refreshed too much: %+v", st)
	}

	var out, errw strings.Builder
	code := Command(context.Background(), m, []string{"check"}, &out, &errw)
	if code != ExitFailure { // the suspended account fails its check
		t.Fatalf("check exit code %d: %s", code, errw.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "USED/LIMIT") {
		t.Fatalf("check table:\n%s", out.String())
	}
	for _, want := range []string{"fine@example.com", "KIRO FREE", "0.0/50", "50.0/50", "suspended", "exhausted"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("check table lacks %q:\n%s", want, out.String())
		}
	}
}

func TestCommandListMasksTokens(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, false)
	m := e.manager(testConfig(), 0)
	e.add(m, "a", time.Hour)
	e.add(m, "b", time.Hour)
	secrets := []string{e.fake.Account("a").AccessToken, e.fake.Account("a").RefreshToken, e.fake.Account("b").RefreshToken}

	var out, errw strings.Builder
	if code := Command(context.Background(), m, []string{"list", "--json"}, &out, &errw); code != ExitOK {
		t.Fatalf("list --json: %d %s", code, errw.String())
	}
	var views []View
	if err := json.Unmarshal([]byte(out.String()), &views); err != nil {
		t.Fatalf("list --json is not JSON: %v", err)
	}
	if len(views) != 2 || views[0].RefreshToken != Mask(secrets[1]) || !strings.HasPrefix(views[0].AccessToken, secrets[0][:4]) {
		t.Fatalf("list --json: %+v", views)
	}
	out.Reset()
	if code := Command(context.Background(), m, []string{"list"}, &out, &errw); code != ExitOK {
		t.Fatalf("list: %d", code)
	}
	if !strings.Contains(out.String(), "STATUS") || !strings.Contains(out.String(), views[1].ID) {
		t.Fatalf("list table:\n%s", out.String())
	}
	for _, s := range secrets {
		if strings.Contains(out.String(), s) || strings.Contains(errw.String(), s) {
			t.Fatal("a token reached the CLI output")
		}
	}
}

func TestCommandUsageErrors(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, false)
	m := e.manager(testConfig(), 0)
	for _, tc := range []struct {
		args []string
		code int
	}{
		{nil, ExitUsage},
		{[]string{"help"}, ExitOK},
		{[]string{"frobnicate"}, ExitUsage},
		{[]string{"remove"}, ExitUsage},
		{[]string{"remove", "nope"}, ExitFailure},
		{[]string{"add"}, ExitUsage},
		{[]string{"add", "--refresh-token", "short...token"}, ExitFailure},
		{[]string{"set-proxy", "x"}, ExitUsage},
		{[]string{"refresh", "--expiring", "x"}, ExitUsage},
		{[]string{"import", e.dir + "/missing"}, ExitFailure},
		{[]string{"list", "--bogus"}, ExitUsage},
	} {
		var out, errw strings.Builder
		if code := Command(context.Background(), m, tc.args, &out, &errw); code != tc.code {
			t.Errorf("accounts %v: exit %d, want %d (%s)", tc.args, code, tc.code, errw.String())
		}
	}
}

func TestSubscribeCoalescesChanges(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, false)
	m := e.manager(testConfig(), 0)
	ch, unsub := m.Subscribe()
	v := e.add(m, "a", time.Hour)
	for range 5 {
		if err := m.SetEnabled(v.ID, false); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-ch:
	default:
		t.Fatal("no change notification")
	}
	select {
	case <-ch:
		t.Fatal("changes were not coalesced")
	default:
	}
	unsub()
	unsub()
	if err := m.SetEnabled(v.ID, true); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
		t.Fatal("notified after unsubscribing")
	default:
	}
	if ready, total := m.Ready(); ready != 1 || total != 1 {
		t.Fatalf("Ready() = %d, %d", ready, total)
	}
	if err := m.SetProxy(v.ID, "ftp://x"); err == nil {
		t.Fatal("ftp proxy accepted")
	}
}

func TestPeriodicCheck(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, false)
	cfg := testConfig()
	cfg.CheckInterval = duration.Duration(10 * time.Millisecond)
	m := e.manager(cfg, time.Hour)
	v := e.add(m, "a", time.Hour)
	run(t, m)
	waitFor(t, m, "a periodic check", func() bool { return !viewOf(t, m, v.ID).CheckedAt.IsZero() })
	if e.fake.Stats().UsageChecks["a"] < 1 || e.fake.Stats().Generations != 0 {
		t.Fatalf("periodic check stats: %+v", e.fake.Stats())
	}
}
