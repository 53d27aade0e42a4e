package accounts

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kirobar/kirobar/internal/duration"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
	"github.com/kirobar/kirobar/kiro"
)

func TestExhaustedPoolAnswersAtOnceWithEarliestCooldown(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, false)
	m := e.manager(testConfig(), 0)
	if _, err := m.Acquire(context.Background(), AcquireRequest{}); !errors.Is(err, ErrNoAccounts) {
		t.Fatalf("empty pool: %v", err)
	}
	a := e.add(m, "a", time.Hour)
	b := e.add(m, "b", time.Hour)
	for _, tc := range []struct {
		id    string
		fake  string
		after time.Duration
	}{{a.ID, "a", 20 * time.Second}, {b.ID, "b", 10 * time.Second}} {
		l := acquire(t, m, AcquireRequest{AccountID: tc.id})
		e.fake.Throttle(tc.fake, 1, tc.after)
		m.Release(l, Outcome{Err: e.send(l)})
	}
	_, err := m.Acquire(context.Background(), AcquireRequest{})
	var ex *ExhaustedError
	if !errors.As(err, &ex) {
		t.Fatalf("want ExhaustedError, got %v", err)
	}
	if ex.RetryAfter != 10*time.Second {
		t.Fatalf("RetryAfter %s, want 10s", ex.RetryAfter)
	}
	for _, want := range []string{"2 cooling", "kirobar accounts list", "kirobar accounts add"} {
		if !contains(ex.Message, want) {
			t.Fatalf("message %q lacks %q", ex.Message, want)
		}
	}
	// Disabled accounts have no cooldown to wait for: 503, not 429.
	for _, id := range []string{a.ID, b.ID} {
		if err := m.SetEnabled(id, false); err != nil {
			t.Fatal(err)
		}
	}
	_, err = m.Acquire(context.Background(), AcquireRequest{})
	if !errors.As(err, &ex) || ex.RetryAfter != 0 || !contains(ex.Message, "2 disabled") {
		t.Fatalf("all disabled: %v", err)
	}
}

func TestConcurrentAcquireOnExpiredTokenRefreshesOnce(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, false)
	cfg := testConfig()
	cfg.MaxConcurrent = 16
	m := e.manager(cfg, 0)
	a := e.add(m, "a", -time.Minute) // already expired
	if st := viewOf(t, m, a.ID).Status; st != StatusExpiring {
		t.Fatalf("status %s, want expiring", st)
	}
	var wg sync.WaitGroup
	leases := make([]*Lease, 16)
	errs := make([]error, 16)
	for i := range leases {
		wg.Go(func() { leases[i], errs[i] = m.Acquire(context.Background(), AcquireRequest{}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("acquire %d: %v", i, err)
		}
	}
	if n := e.fake.Stats().Refreshes["a"]; n != 1 {
		t.Fatalf("refreshes at the fake: %d, want 1", n)
	}
	fresh := e.fake.Account("a").AccessToken
	for _, l := range leases {
		if l.Credentials.AccessToken != fresh {
			t.Fatal("a lease carries a stale token")
		}
		if err := e.send(l); err != nil {
			t.Fatalf("send with refreshed token: %v", err)
		}
		m.Release(l, Outcome{})
	}
}

func TestStickySessionsStayPut(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, false)
	m := e.manager(testConfig(), 0)
	for _, id := range []string{"a", "b", "c"} {
		e.add(m, id, time.Hour)
	}
	first := acquire(t, m, AcquireRequest{Session: "s1"})
	m.Release(first, Outcome{})
	for range 5 {
		e.clock.Advance(time.Second)
		l := acquire(t, m, AcquireRequest{Session: "s1"})
		if l.AccountID != first.AccountID {
			t.Fatalf("session moved from %s to %s", first.AccountID, l.AccountID)
		}
		m.Release(l, Outcome{})
	}
	// Scoring spreads other conversations: the just-used account scores lowest.
	other := acquire(t, m, AcquireRequest{Session: "s2"})
	if other.AccountID == first.AccountID {
		t.Fatalf("a new session went to the busiest account %s", other.AccountID)
	}
	m.Release(other, Outcome{})

	// When the session's account cools down, the session moves and stays.
	l := acquire(t, m, AcquireRequest{Session: "s1"})
	m.Release(l, Outcome{Err: &kiro.Error{Class: kiro.ClassThrottled, Status: 429}})
	moved := acquire(t, m, AcquireRequest{Session: "s1"})
	if moved.AccountID == first.AccountID {
		t.Fatal("session stayed on a cooling account")
	}
	m.Release(moved, Outcome{})
	e.clock.Advance(time.Minute) // the first account is healthy again
	again := acquire(t, m, AcquireRequest{Session: "s1"})
	if again.AccountID != moved.AccountID {
		t.Fatalf("session moved again from %s to %s", moved.AccountID, again.AccountID)
	}
	m.Release(again, Outcome{})
}

func TestStrategies(t *testing.T) {
	for _, tc := range []struct {
		strategy string
		want     []int // indexes into the accounts in creation order
	}{
		{StrategyRoundRobin, []int{0, 1, 2, 0, 1}},
		{StrategyFillFirst, []int{0, 0, 0, 0, 0}},
	} {
		t.Run(tc.strategy, func(t *testing.T) {
			e := newEnv(t, kirofake.Options{}, false)
			cfg := testConfig()
			cfg.Strategy = tc.strategy
			m := e.manager(cfg, 0)
			var ids []string
			for _, id := range []string{"a", "b", "c"} {
				ids = append(ids, e.add(m, id, time.Hour).ID)
				e.clock.Advance(time.Second) // distinct creation times
			}
			for i, want := range tc.want {
				l := acquire(t, m, AcquireRequest{})
				if l.AccountID != ids[want] {
					t.Fatalf("pick %d: %s, want %s", i, l.AccountID, ids[want])
				}
				m.Release(l, Outcome{})
			}
		})
	}
}

func TestConcurrencyLimitAndSpacing(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, false)
	cfg := testConfig()
	cfg.MaxConcurrent = 1
	cfg.Strategy = StrategyFillFirst
	m := e.manager(cfg, 0)
	a := e.add(m, "a", time.Hour)
	e.clock.Advance(time.Second)
	b := e.add(m, "b", time.Hour)

	la := acquire(t, m, AcquireRequest{})
	lb := acquire(t, m, AcquireRequest{})
	if la.AccountID != a.ID || lb.AccountID != b.ID {
		t.Fatalf("picked %s, %s", la.AccountID, lb.AccountID)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Acquire(ctx, AcquireRequest{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("full pool with a canceled context: %v", err)
	}
	got := make(chan *Lease, 1)
	go func() {
		l, err := m.Acquire(context.Background(), AcquireRequest{})
		if err != nil {
			t.Errorf("waiting acquire: %v", err)
		}
		got <- l
	}()
	m.Release(lb, Outcome{})
	if l := <-got; l == nil || l.AccountID != b.ID {
		t.Fatalf("waiting acquire got %v, want the released account", l)
	}
	m.Release(la, Outcome{})
	m.Release(la, Outcome{}) // a second release is ignored
	if v := viewOf(t, m, a.ID); v.InFlight != 0 || v.Requests != 1 {
		t.Fatalf("after double release: in flight %d, requests %d", v.InFlight, v.Requests)
	}

	// Pacing without a burst: a just-used account steps aside while another
	// is free.
	cfg.MaxConcurrent = 4
	cfg.MinSpacing, cfg.SpacingBurst = duration.Duration(time.Hour), 1
	m2 := e.manager(cfg, 0)
	first := acquire(t, m2, AcquireRequest{})
	second := acquire(t, m2, AcquireRequest{})
	if first.AccountID == second.AccountID {
		t.Fatalf("two starts within min_spacing on %s", first.AccountID)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
