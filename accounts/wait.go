package accounts

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"golang.org/x/time/rate"
)

// waiter is one Acquire call waiting for an account: every usable account
// it may use is at max_concurrent or has used up its pacing burst.
type waiter struct {
	r       AcquireRequest
	exclude []string
	// ready is closed once the waiter is served: e holds the account
	// reserved for it, or err says why none can serve.
	ready chan struct{}
	e     *entry
	err   error
}

// waitQueue holds the waiters in arrival order. The pool lock guards it.
// Capacity is handed to the first waiter that can use it by whoever frees
// it (a release, a reload, a finished refresh), so a release wakes one
// waiter, not all of them, and waiters are served in the order they came.
type waitQueue struct {
	list   []*waiter
	usable []*entry // dispatch's scratch list of usable accounts
	// timer runs dispatch when the next account's pacing allows a start;
	// at is when it fires (zero: not armed).
	timer *time.Timer
	at    time.Time
}

// reserve returns an account reserved for r: at once when one is free and
// nobody is waiting, else after every earlier waiter that the freed
// capacity suits has been served.
func (m *Manager) reserve(ctx context.Context, r AcquireRequest, exclude []string) (*entry, error) {
	m.mu.Lock()
	if len(m.queue.list) == 0 {
		e, _, err := m.pickLocked(r, exclude)
		if e != nil || err != nil {
			m.mu.Unlock()
			return e, err
		}
	}
	w := &waiter{r: r, exclude: exclude, ready: make(chan struct{})}
	m.queue.list = append(m.queue.list, w)
	m.dispatchLocked()
	m.mu.Unlock()

	select {
	case <-w.ready:
		return w.e, w.err
	case <-ctx.Done():
	}
	m.mu.Lock()
	select {
	case <-w.ready:
		// Served while the caller gave up: give the account back.
		m.mu.Unlock()
		if w.e != nil {
			m.unreserve(w.e)
		}
	default:
		m.queue.list = slices.DeleteFunc(m.queue.list, func(x *waiter) bool { return x == w })
		m.mu.Unlock()
	}
	return nil, fmt.Errorf("acquire account: waiting for a free account: %w", ctx.Err())
}

// signalFreed serves waiters after capacity may have come free or the
// pool changed.
func (m *Manager) signalFreed() {
	m.mu.Lock()
	m.dispatchLocked()
	m.mu.Unlock()
}

// dispatchLocked serves waiters in arrival order: each one that an account
// can serve now gets it reserved, each one that no account can ever serve
// gets the reason, and the rest keep their place. While no account can
// start a request it only checks the latter against the usable accounts,
// without picking, so a release under a long queue costs one pick, not one
// per waiter. When pacing holds the next start back it arms the timer.
func (m *Manager) dispatchLocked() {
	q := &m.queue
	if len(q.list) == 0 {
		return
	}
	mono := time.Now()
	now := m.now()
	q.usable = q.usable[:0]
	for _, e := range m.accounts {
		if selectable(effective(&e.acc, now, m.lead())) {
			q.usable = append(q.usable, e)
		}
	}
	free, next := m.startableLocked(q.usable, mono)
	kept := q.list[:0]
	for _, w := range q.list {
		if !free && couldServe(w, q.usable, now) {
			kept = append(kept, w)
			continue
		}
		e, wait, err := m.pickLocked(w.r, w.exclude)
		if e == nil && err == nil {
			if wait > 0 {
				next = min(next, wait)
			}
			kept = append(kept, w)
			continue
		}
		w.e, w.err = e, err
		close(w.ready)
		if e != nil {
			var n time.Duration
			free, n = m.startableLocked(q.usable, mono)
			next = min(next, n)
		}
	}
	clear(q.list[len(kept):])
	q.list = kept
	clear(q.usable)
	if len(q.list) > 0 && next < time.Duration(math.MaxInt64) {
		m.armLocked(mono.Add(next))
	}
}

// startableLocked reports whether any of the usable accounts can start a
// request now, and else how long until pacing lets the first one under its
// concurrency limit start (MaxInt64: none; only a release frees one).
func (m *Manager) startableLocked(usable []*entry, mono time.Time) (bool, time.Duration) {
	next := time.Duration(math.MaxInt64)
	for _, e := range usable {
		if e.inflight >= m.cfg.MaxConcurrent {
			continue
		}
		gap := m.paceLeft(e, mono)
		if gap <= 0 {
			return true, 0
		}
		next = min(next, gap)
	}
	return false, next
}

// couldServe reports whether one of the usable accounts could ever serve
// w: one it has not excluded and that has not refused its model. A waiter
// for which none is left is answered at once with the reason.
func couldServe(w *waiter, usable []*entry, now time.Time) bool {
	for _, e := range usable {
		if slices.Contains(w.exclude, e.acc.ID) || (w.r.AccountID != "" && e.acc.ID != w.r.AccountID) {
			continue
		}
		if !e.modelBlocked(w.r.Model, now) {
			return true
		}
	}
	return false
}

// armLocked makes sure dispatch runs by at.
func (m *Manager) armLocked(at time.Time) {
	q := &m.queue
	if !q.at.IsZero() && !q.at.After(at) {
		return
	}
	q.at = at
	d := time.Until(at)
	if q.timer == nil {
		q.timer = time.AfterFunc(d, m.paced)
		return
	}
	q.timer.Reset(d)
}

// paced runs when pacing lets the next request start.
func (m *Manager) paced() {
	m.mu.Lock()
	m.queue.at = time.Time{}
	m.dispatchLocked()
	m.mu.Unlock()
}

// pacer is the account's token bucket: one start per min_spacing on
// average, up to spacing_burst at once after a quiet spell. nil: starts
// are not paced.
func (m *Manager) pacer(e *entry) *rate.Limiter {
	if m.cfg.MinSpacing <= 0 {
		return nil
	}
	if e.pace == nil {
		e.pace = rate.NewLimiter(rate.Every(m.cfg.MinSpacing.D()), max(1, m.cfg.SpacingBurst))
	}
	return e.pace
}

// paceLeft is how long until the account's pacing allows another start.
// Pacing is a real-time rate limit, so it runs on the monotonic clock,
// not the injectable one.
func (m *Manager) paceLeft(e *entry, mono time.Time) time.Duration {
	lim := m.pacer(e)
	if lim == nil {
		return 0
	}
	short := 1 - lim.TokensAt(mono)
	if short <= 0 {
		return 0
	}
	return max(time.Duration(short*float64(m.cfg.MinSpacing.D())), time.Millisecond)
}

// takePace spends one start of the account's pacing.
func (m *Manager) takePace(e *entry, mono time.Time) {
	if lim := m.pacer(e); lim != nil {
		lim.AllowN(mono, 1)
	}
}

// queued is how many Acquire calls are waiting.
func (m *Manager) queued() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.queue.list)
}
