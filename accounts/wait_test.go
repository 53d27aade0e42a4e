package accounts

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kirobar/kirobar/internal/duration"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
	"github.com/kirobar/kirobar/kiro"
)

// queueUntil waits until n Acquire calls are waiting in m.
func queueUntil(t *testing.T, m *Manager, n int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for m.queued() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d waiters, want %d", m.queued(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// acquired is what one background Acquire returned.
type acquired struct {
	who int
	l   *Lease
	err error
}

// acquireAsync starts Acquire in the background and reports on out.
func acquireAsync(ctx context.Context, m *Manager, who int, r AcquireRequest, out chan<- acquired) {
	go func() {
		l, err := m.Acquire(ctx, r)
		out <- acquired{who, l, err}
	}()
}

func TestWaitersAreServedInArrivalOrder(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, false)
	cfg := testConfig()
	cfg.MaxConcurrent = 1
	m := e.manager(cfg, 0)
	a := e.add(m, "a", time.Hour)

	held := acquire(t, m, AcquireRequest{})
	const n = 8
	got := make(chan acquired, n)
	for i := range n {
		acquireAsync(context.Background(), m, i, AcquireRequest{}, got)
		queueUntil(t, m, i+1) // i is in line before i+1 arrives
	}
	for want := range n {
		m.Release(held, Outcome{})
		a := <-got
		if a.err != nil {
			t.Fatalf("waiter %d: %v", a.who, a.err)
		}
		if a.who != want {
			t.Fatalf("served waiter %d, want %d (arrival order)", a.who, want)
		}
		select {
		case b := <-got:
			t.Fatalf("one release served two waiters (%d and %d)", a.who, b.who)
		default:
		}
		held = a.l
	}
	m.Release(held, Outcome{})
	if v := viewOf(t, m, a.ID); v.InFlight != 0 {
		t.Fatalf("in flight %d after every release", v.InFlight)
	}
}

func TestWaitersTakeTheFirstAccountTheyMayUse(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, false)
	cfg := testConfig()
	cfg.MaxConcurrent = 1
	cfg.Strategy = StrategyFillFirst
	m := e.manager(cfg, 0)
	a := e.add(m, "a", time.Hour)
	b := e.add(m, "b", time.Hour)
	la := acquire(t, m, AcquireRequest{})
	lb := acquire(t, m, AcquireRequest{})
	if la.AccountID != a.ID || lb.AccountID != b.ID {
		t.Fatalf("picked %s, %s", la.AccountID, lb.AccountID)
	}

	got := make(chan acquired, 2)
	// The first in line already failed on a; a freed a serves the second,
	// and the first keeps its place for b.
	acquireAsync(context.Background(), m, 0, AcquireRequest{Exclude: []string{a.ID}}, got)
	queueUntil(t, m, 1)
	acquireAsync(context.Background(), m, 1, AcquireRequest{}, got)
	queueUntil(t, m, 2)
	m.Release(la, Outcome{})
	if w := <-got; w.err != nil || w.who != 1 || w.l.AccountID != a.ID {
		t.Fatalf("after releasing a: waiter %d got %+v, %v; want waiter 1 on a", w.who, w.l, w.err)
	}
	m.Release(lb, Outcome{})
	if w := <-got; w.err != nil || w.who != 0 || w.l.AccountID != b.ID {
		t.Fatalf("after releasing b: waiter %d got %+v, %v; want waiter 0 on b", w.who, w.l, w.err)
	}
}

func TestWaiterThatGivesUpLeavesTheLine(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, false)
	cfg := testConfig()
	cfg.MaxConcurrent = 1
	m := e.manager(cfg, 0)
	a := e.add(m, "a", time.Hour)
	held := acquire(t, m, AcquireRequest{})

	got := make(chan acquired, 3)
	ctx, cancel := context.WithCancel(context.Background())
	acquireAsync(context.Background(), m, 0, AcquireRequest{}, got)
	queueUntil(t, m, 1)
	acquireAsync(ctx, m, 1, AcquireRequest{}, got)
	queueUntil(t, m, 2)
	acquireAsync(context.Background(), m, 2, AcquireRequest{}, got)
	queueUntil(t, m, 3)

	cancel()
	if w := <-got; w.who != 1 || !errors.Is(w.err, context.Canceled) {
		t.Fatalf("canceled waiter: %d %v", w.who, w.err)
	}
	queueUntil(t, m, 2)
	for _, want := range []int{0, 2} {
		m.Release(held, Outcome{})
		w := <-got
		if w.err != nil || w.who != want {
			t.Fatalf("served %d (%v), want %d", w.who, w.err, want)
		}
		held = w.l
	}
	m.Release(held, Outcome{})
	if v := viewOf(t, m, a.ID); v.InFlight != 0 {
		t.Fatalf("in flight %d: a canceled waiter kept a slot", v.InFlight)
	}
}

func TestWaiterIsAnsweredWhenNoAccountCanServeAnyMore(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, false)
	cfg := testConfig()
	cfg.MaxConcurrent = 1
	m := e.manager(cfg, 0)
	e.add(m, "a", time.Hour)
	held := acquire(t, m, AcquireRequest{})

	got := make(chan acquired, 1)
	acquireAsync(context.Background(), m, 0, AcquireRequest{}, got)
	queueUntil(t, m, 1)
	// The only account is throttled while the waiter waits: it must hear
	// so at once, not wait for the cooldown.
	m.Release(held, Outcome{Err: &kiro.Error{Class: kiro.ClassThrottled, Status: 429}})
	w := <-got
	var ex *ExhaustedError
	if !errors.As(w.err, &ex) || ex.RetryAfter <= 0 {
		t.Fatalf("waiter got %+v, %v; want *ExhaustedError with Retry-After", w.l, w.err)
	}
	if m.queued() != 0 {
		t.Fatalf("%d still waiting", m.queued())
	}
}

func TestPacingLetsABurstThroughThenWaits(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, false)
	cfg := testConfig()
	// An hour between starts on average: anything but the burst would
	// have to wait an hour.
	cfg.MinSpacing, cfg.SpacingBurst = duration.Duration(time.Hour), 3
	m := e.manager(cfg, 0)
	e.add(m, "a", time.Hour)

	// Back-to-back requests of one user (a turn that starts subagents)
	// are not held back.
	for i := range cfg.SpacingBurst {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		l, err := m.Acquire(ctx, AcquireRequest{Session: "one user"})
		cancel()
		if err != nil {
			t.Fatalf("start %d of the burst: %v", i+1, err)
		}
		m.Release(l, Outcome{})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if l, err := m.Acquire(ctx, AcquireRequest{Session: "one user"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("start past the burst: %+v, %v; want it paced", l, err)
	}
	if m.queued() != 0 {
		t.Fatalf("%d still waiting", m.queued())
	}
}

func TestPacedWaiterStartsWithoutARelease(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, false)
	cfg := testConfig()
	cfg.MinSpacing, cfg.SpacingBurst = duration.Duration(50*time.Millisecond), 1
	m := e.manager(cfg, 0)
	e.add(m, "a", time.Hour)

	first := acquire(t, m, AcquireRequest{})
	defer m.Release(first, Outcome{})
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Nothing is released: only the pacing timer can start this one.
	second, err := m.Acquire(ctx, AcquireRequest{})
	if err != nil {
		t.Fatalf("paced acquire: %v", err)
	}
	defer m.Release(second, Outcome{})
	if waited := time.Since(start); waited < 40*time.Millisecond {
		t.Fatalf("second start after %v, want about min_spacing (50ms)", waited)
	}
}
