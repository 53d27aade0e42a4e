package accounts

import (
	"context"
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
