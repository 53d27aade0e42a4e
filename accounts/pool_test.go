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

func TestThrottledAccountCoolsDownAndNextAcquirePicksAnother(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, false)
	cfg := testConfig()
	cfg.Strategy = StrategyFillFirst
	m := e.manager(cfg, 0)
	a := e.add(m, "a", time.Hour)
	b := e.add(m, "b", time.Hour)

	l := acquire(t, m, AcquireRequest{})
	if l.AccountID != a.ID {
		t.Fatalf("fill_first picked %s, want %s", l.AccountID, a.ID)
	}
	e.fake.Throttle("a", 1, 0)
	err := e.send(l)
	if ke, ok := kiro.AsError(err); !ok || ke.Class != kiro.ClassThrottled {
		t.Fatalf("send on throttled account: %v", err)
	}
	m.Release(l, Outcome{Err: err})

	va := viewOf(t, m, a.ID)
	if va.Status != StatusCooling || !va.CooldownUntil.Equal(e.now().Add(cfg.ThrottleBase.D())) {
		t.Fatalf("after 429: status %s until %v, want cooling until now+%s", va.Status, va.CooldownUntil, cfg.ThrottleBase)
	}
	l2 := acquire(t, m, AcquireRequest{})
	if l2.AccountID != b.ID {
		t.Fatalf("next acquire picked %s, want %s", l2.AccountID, b.ID)
	}
	if err := e.send(l2); err != nil {
		t.Fatalf("send on healthy account: %v", err)
	}
	m.Release(l2, Outcome{})

	// A second 429 doubles the cooldown; Retry-After wins when sent.
	e.clock.Advance(cfg.ThrottleBase.D())
	l3 := acquire(t, m, AcquireRequest{})
	if l3.AccountID != a.ID {
		t.Fatalf("after the cooldown fill_first picked %s, want %s", l3.AccountID, a.ID)
	}
	e.fake.Throttle("a", 1, 0)
	m.Release(l3, Outcome{Err: e.send(l3)})
	if got := viewOf(t, m, a.ID).CooldownUntil; !got.Equal(e.now().Add(2 * cfg.ThrottleBase.D())) {
		t.Fatalf("second cooldown ends %v, want now+%s", got, 2*cfg.ThrottleBase.D())
	}
	e.clock.Advance(2 * cfg.ThrottleBase.D())
	l4 := acquire(t, m, AcquireRequest{})
	e.fake.Throttle("a", 1, 7*time.Second)
	m.Release(l4, Outcome{Err: e.send(l4)})
	if got := viewOf(t, m, a.ID).CooldownUntil; !got.Equal(e.now().Add(7 * time.Second)) {
		t.Fatalf("cooldown with Retry-After ends %v, want now+7s", got)
	}
	// Success resets the streak.
	e.clock.Advance(7 * time.Second)
	l5 := acquire(t, m, AcquireRequest{})
	m.Release(l5, Outcome{Err: e.send(l5)})
	if st := viewOf(t, m, a.ID).Status; st != StatusReady {
		t.Fatalf("after a success status is %s", st)
	}
}

func TestQuotaExhaustedIsQuarantinedUntilResetFromUsageLimits(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, false)
	m := e.manager(testConfig(), time.Hour)
	a := e.add(m, "a", time.Hour)
	b := e.add(m, "b", time.Hour)
	run(t, m)
	reset := e.fake.Account("a").NextReset

	l := acquire(t, m, AcquireRequest{AccountID: a.ID})
	e.fake.SetQuotaExhausted("a", true)
	err := e.send(l)
	if ke, ok := kiro.AsError(err); !ok || ke.Class != kiro.ClassQuota {
		t.Fatalf("send: %v", err)
	}
	m.Release(l, Outcome{Err: err})
	if st := viewOf(t, m, a.ID).Status; st != StatusExhausted {
		t.Fatalf("status %s, want exhausted", st)
	}
	waitFor(t, m, "reset date from getUsageLimits", func() bool {
		return viewOf(t, m, a.ID).CooldownUntil.Equal(reset)
	})
	if n := e.fake.Stats().UsageChecks["a"]; n != 1 {
		t.Fatalf("usage checks %d, want 1", n)
	}
	for range 3 {
		l := acquire(t, m, AcquireRequest{})
		if l.AccountID != b.ID {
			t.Fatalf("quarantined account %s was picked", l.AccountID)
		}
		m.Release(l, Outcome{})
	}
	e.clock.Advance(reset.Sub(e.now()) + time.Second)
	if st := viewOf(t, m, a.ID).Status; !selectable(st) {
		t.Fatalf("after the reset date status is %s", st)
	}
}

func TestSuspendedAccountStaysOutUntilReenabled(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, false)
	m := e.manager(testConfig(), 0)
	a := e.add(m, "a", time.Hour)
	b := e.add(m, "b", time.Hour)

	l := acquire(t, m, AcquireRequest{AccountID: a.ID})
	e.fake.SetSuspended("a", true)
	err := e.send(l)
	if ke, ok := kiro.AsError(err); !ok || ke.Class != kiro.ClassSuspended {
		t.Fatalf("send: %v", err)
	}
	m.Release(l, Outcome{Err: err})
	e.clock.Advance(30 * 24 * time.Hour)
	for range 3 {
		l := acquire(t, m, AcquireRequest{})
		if l.AccountID != b.ID {
			t.Fatalf("suspended account was picked")
		}
		m.Release(l, Outcome{})
	}
	if st := viewOf(t, m, a.ID).Status; st != StatusSuspended {
		t.Fatalf("status %s, want suspended", st)
	}
	if err := m.SetEnabled(a.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Acquire(context.Background(), AcquireRequest{AccountID: a.ID}); err != nil {
		t.Fatalf("re-enabled account: %v", err)
	}
}

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

func TestOutcomeClasses(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		repeat     int
		wantStatus string
		wantErrors int64
	}{
		{"success", nil, 1, StatusReady, 0},
		{"context too long is the request's fault", &kiro.Error{Class: kiro.ClassContextTooLong}, 3, StatusReady, 0},
		{"client went away", context.Canceled, 3, StatusReady, 0},
		{"server errors below the breaker threshold", &kiro.Error{Class: kiro.ClassServer, Status: 500}, 2, StatusReady, 2},
		{"server errors open the breaker", &kiro.Error{Class: kiro.ClassServer, Status: 500}, 3, StatusCooling, 3},
		{"forbidden", &kiro.Error{Class: kiro.ClassForbidden, Status: 403}, 1, StatusError, 1},
		{"invalid grant", &kiro.Error{Class: kiro.ClassInvalidGrant}, 1, StatusNeedsLogin, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, kirofake.Options{}, false)
			m := e.manager(testConfig(), 0)
			a := e.add(m, "a", time.Hour)
			for range tc.repeat {
				l := acquire(t, m, AcquireRequest{})
				m.Release(l, Outcome{Err: tc.err})
			}
			v := viewOf(t, m, a.ID)
			if v.Status != tc.wantStatus || v.Errors != tc.wantErrors || v.Requests != int64(tc.repeat) {
				t.Fatalf("status %s errors %d requests %d; want %s %d %d", v.Status, v.Errors, v.Requests, tc.wantStatus, tc.wantErrors, tc.repeat)
			}
		})
	}
}

// TestInvalidModelBlocksOnlyWhenRepeated: Kiro sometimes refuses a valid
// model id for a few minutes (kiro-protocol.md §11.6). One refusal leaves
// the model offered; a second one blocks it on that account for
// model_cooldown, visibly, and other models stay offered.
func TestInvalidModelBlocksOnlyWhenRepeated(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, false)
	cfg := testConfig()
	cfg.Strategy = StrategyFillFirst
	m := e.manager(cfg, 0)
	a := e.add(m, "a", time.Hour)
	e.clock.Advance(time.Second)
	b := e.add(m, "b", time.Hour)
	refuse := func() {
		t.Helper()
		l := acquire(t, m, AcquireRequest{Model: "claude-opus-4.6"})
		if l.AccountID != a.ID {
			t.Fatalf("fill_first picked %s, want %s", l.AccountID, a.ID)
		}
		m.Release(l, Outcome{Err: &kiro.Error{Class: kiro.ClassInvalidModel, Status: 400}})
	}
	refuse()
	if v := viewOf(t, m, a.ID); len(v.BlockedModels) != 0 {
		t.Fatalf("one refusal blocked %v", v.BlockedModels)
	}
	refuse() // the same account again: the refusal repeats
	if l := acquire(t, m, AcquireRequest{Model: "claude-opus-4.6"}); l.AccountID != b.ID {
		t.Fatalf("model-less account picked again for that model")
	} else {
		m.Release(l, Outcome{})
	}
	v := viewOf(t, m, a.ID)
	if until, ok := v.BlockedModels["claude-opus-4.6"]; !ok || until.Sub(e.clock.Now()) != cfg.ModelCooldown.D() {
		t.Fatalf("blocked models %v, want claude-opus-4.6 for %s", v.BlockedModels, cfg.ModelCooldown)
	}
	if l := acquire(t, m, AcquireRequest{Model: "claude-sonnet-4.5"}); l.AccountID != a.ID {
		t.Fatalf("other models should still use %s", a.ID)
	}
	e.clock.Advance(cfg.ModelCooldown.D() + time.Second)
	if v := viewOf(t, m, a.ID); len(v.BlockedModels) != 0 {
		t.Fatalf("block outlived model_cooldown: %v", v.BlockedModels)
	}
}

func TestRecoverRefreshesAfterBearerInvalid(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, false)
	m := e.manager(testConfig(), 0)
	a := e.add(m, "a", time.Hour)
	l := acquire(t, m, AcquireRequest{})
	e.fake.InvalidateAccessTokens("a")
	err := e.send(l)
	if ke, ok := kiro.AsError(err); !ok || ke.Class != kiro.ClassAuth {
		t.Fatalf("send with invalidated token: %v", err)
	}
	m.Release(l, Outcome{Err: err})
	ke, _ := kiro.AsError(err)
	for range 3 { // a burst of 403s with the same token costs one refresh
		if err := m.Recover(context.Background(), l, ke); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.fake.Stats().Refreshes["a"]; n != 1 {
		t.Fatalf("refreshes %d, want 1", n)
	}
	l = acquire(t, m, AcquireRequest{AccountID: a.ID})
	if err := e.send(l); err != nil {
		t.Fatalf("retry after forced refresh: %v", err)
	}
	m.Release(l, Outcome{})
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
