package accounts

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kirobar/kirobar/kiro"
)

// AcquireRequest says what a request needs from the pool.
type AcquireRequest struct {
	// Session identifies the conversation (metadata.user_id's session, or
	// the client key plus the first user message); it keeps a conversation
	// on one account while that account is healthy. Empty: no stickiness.
	Session string
	// Exclude lists accounts that already failed this request.
	Exclude []string
	// Model is the Kiro model id; accounts that rejected it recently are
	// skipped.
	Model string
	// AccountID, when set, asks for exactly this account (the retry after
	// a forced refresh).
	AccountID string
}

// Lease is one request's hold on an account. Pass it back to Release
// exactly once; later calls are ignored.
type Lease struct {
	AccountID   string
	Label       string
	Credentials kiro.Credentials

	e        *entry
	model    string
	released sync.Once
}

// ExhaustedError means no account can serve now. The server answers 429
// with Retry-After when RetryAfter > 0, else 503, with Message.
type ExhaustedError struct {
	RetryAfter time.Duration
	Message    string
}

func (e *ExhaustedError) Error() string { return e.Message }

// Acquire picks an account for one upstream attempt and returns it with a
// usable access token, refreshing it first when needed (single-flight, no
// pool lock held). It waits only while every usable account is at its
// concurrency limit or its pacing holds the next start back, in line
// behind earlier waiters (wait.go); when none is usable it returns
// *ExhaustedError (or ErrNoAccounts) at once.
func (m *Manager) Acquire(ctx context.Context, r AcquireRequest) (*Lease, error) {
	exclude := slices.Clone(r.Exclude)
	m.adoptBinding(ctx, r.Session)
	var waited time.Duration
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("acquire account: %w", err)
		}
		t0 := time.Now()
		e, err := m.reserve(ctx, r, exclude)
		waited += time.Since(t0)
		if err != nil {
			return nil, err
		}
		m.mu.Lock()
		id := e.acc.ID // a reload may replace e.acc: read it under the lock
		needs := !m.tokenUsable(&e.acc, m.now())
		m.mu.Unlock()
		if needs {
			if err := m.ensureFresh(ctx, id, false); err != nil {
				m.unreserve(e)
				if ctx.Err() != nil {
					return nil, fmt.Errorf("acquire account: %w", ctx.Err())
				}
				m.log.Warn("accounts: skipping account whose token could not be refreshed", "account", id, "err", err)
				exclude = append(exclude, id)
				continue
			}
		}
		m.mu.Lock()
		l := &Lease{AccountID: id, Label: e.acc.Label, Credentials: credentials(&e.acc), e: e, model: r.Model}
		m.mu.Unlock()
		m.notify()
		m.metrics.QueueWait(waited)
		return l, nil
	}
}

// credentials builds what the kiro client needs for one call: the API
// region is the profile's (never the sign-in region, which may be one Kiro's
// API does not exist in).
func credentials(a *Account) kiro.Credentials {
	return kiro.Credentials{
		AccountID:   a.ID,
		AuthMethod:  a.AuthMethod,
		AccessToken: a.AccessToken,
		ProfileARN:  a.ProfileARN,
		Region:      apiRegion(a),
		MachineID:   a.MachineID,
		Proxy:       a.Proxy,
		APIStyle:    a.APIStyle,
	}
}

// pickLocked chooses and reserves an account. It returns (nil, wait, nil)
// when accounts exist that could serve but are busy: wait is how long
// until pacing allows one (0: until a lease is released).
func (m *Manager) pickLocked(r AcquireRequest, exclude []string) (*entry, time.Duration, error) {
	now, mono := m.now(), time.Now()
	if len(m.accounts) == 0 {
		return nil, 0, ErrNoAccounts
	}
	var eligible []*entry
	for _, e := range m.sortedLocked() {
		if slices.Contains(exclude, e.acc.ID) || (r.AccountID != "" && e.acc.ID != r.AccountID) {
			continue
		}
		if !selectable(effective(&e.acc, now, m.lead())) || e.modelBlocked(r.Model, now) {
			continue
		}
		eligible = append(eligible, e)
	}
	if len(eligible) == 0 {
		return nil, 0, m.exhaustedLocked(r, exclude, now)
	}
	var free []*entry
	wait := time.Duration(math.MaxInt64)
	for _, e := range eligible {
		if e.inflight >= m.cfg.MaxConcurrent {
			continue
		}
		if gap := m.paceLeft(e, mono); gap > 0 {
			wait = min(wait, gap)
			continue
		}
		free = append(free, e)
	}
	if wait == time.Duration(math.MaxInt64) {
		wait = 0
	}
	chosen, keep, hold := m.stickyLocked(r.Session, eligible, free, now, mono)
	if hold > 0 {
		return nil, hold, nil
	}
	if chosen == nil && len(free) > 0 {
		chosen = m.chooseLocked(free, now)
	}
	if chosen == nil {
		return nil, wait, nil
	}
	chosen.inflight++
	chosen.lastStart = now
	m.takePace(chosen, mono)
	if r.Session != "" && m.cfg.StickySessions {
		bound := chosen.acc.ID
		if keep != "" {
			bound = keep
		}
		m.sessions[r.Session] = binding{id: bound, seen: now}
		m.shareBindingLocked(r.Session, bound, now)
	}
	return chosen, 0, nil
}

// stickyLocked returns the session's account when it is free. When the
// bound account is healthy but busy, another free account serves this one
// request and keep names the binding to preserve. When only pacing holds
// the bound account back, hold says how long to wait for it. A session
// whose account can no longer serve moves to whatever the strategy picks.
func (m *Manager) stickyLocked(session string, eligible, free []*entry, now, mono time.Time) (chosen *entry, keep string, hold time.Duration) {
	if session == "" || !m.cfg.StickySessions {
		return nil, "", 0
	}
	m.expireSessionsLocked(now)
	b, ok := m.sessions[session]
	if !ok {
		return nil, "", 0
	}
	for _, e := range free {
		if e.acc.ID == b.id {
			return e, "", 0
		}
	}
	for _, e := range eligible {
		if e.acc.ID != b.id {
			continue
		}
		if e.inflight < m.cfg.MaxConcurrent {
			return nil, "", max(m.paceLeft(e, mono), time.Millisecond)
		}
		if len(free) > 0 {
			return m.chooseLocked(free, now), b.id, 0
		}
	}
	return nil, "", 0
}

// expireSessionsLocked forgets bindings idle for longer than StickyTTL.
func (m *Manager) expireSessionsLocked(now time.Time) {
	ttl := m.cfg.StickyTTL.D()
	if ttl <= 0 {
		return
	}
	for k, b := range m.sessions {
		if now.Sub(b.seen) > ttl {
			delete(m.sessions, k)
		}
	}
}

// chooseLocked applies the configured strategy to free accounts (already
// in creation order).
func (m *Manager) chooseLocked(free []*entry, now time.Time) *entry {
	switch m.cfg.Strategy {
	case StrategyFillFirst:
		return free[0]
	case StrategyRoundRobin:
		all := m.sortedLocked()
		n := len(all)
		for i := range n {
			cand := all[(m.rrNext+i)%n]
			if slices.Contains(free, cand) {
				m.rrNext = (m.rrNext + i + 1) % n
				return cand
			}
		}
		return free[0]
	default:
		best, bestScore := free[0], -1.0
		for _, e := range free {
			if s := m.score(e, now); s > bestScore {
				best, bestScore = e, s
			}
		}
		return best
	}
}

// score rates a free account in [0,1]: 40% health, 30% how long since it
// was last used, 20% recent success rate, 10% cooldown history, scaled by
// the share of quota left and by free capacity.
func (m *Manager) score(e *entry, now time.Time) float64 {
	a := &e.acc
	health := 1.0
	if !m.tokenUsable(a, now) {
		health = 0.5 // needs a refresh before it can serve
	} else if effective(a, now, m.lead()) == StatusExpiring {
		health = 0.9
	}
	idle := 1.0
	last := a.LastUsed
	if e.pending.lastUsed.After(last) {
		last = e.pending.lastUsed
	}
	if e.lastStart.After(last) {
		last = e.lastStart
	}
	if !last.IsZero() {
		idle = 1 - math.Exp(-now.Sub(last).Seconds()/60)
	}
	success := 1 - e.errRate
	calm := 1 / float64(1+e.throttleStreak+e.breakerFails)
	s := 0.4*health + 0.3*idle + 0.2*success + 0.1*calm
	if a.QuotaLimit > 0 {
		left := (a.QuotaLimit - a.QuotaUsed) / a.QuotaLimit
		s *= max(0.05, min(1, left))
	}
	s *= 1 - 0.5*float64(e.inflight)/float64(m.cfg.MaxConcurrent)
	return s
}

// modelBlocked reports whether the account rejected model recently.
func (e *entry) modelBlocked(model string, now time.Time) bool {
	if model == "" || e.badModels == nil {
		return false
	}
	until, ok := e.badModels[model]
	return ok && until.After(now)
}

// exhaustedLocked explains why nothing can serve.
func (m *Manager) exhaustedLocked(r AcquireRequest, exclude []string, now time.Time) error {
	var earliest time.Time
	counts := map[string]int{}
	for _, e := range m.accounts {
		st := effective(&e.acc, now, m.lead())
		if selectable(st) {
			switch {
			case slices.Contains(exclude, e.acc.ID):
				st = "failed for this request"
			case e.modelBlocked(r.Model, now):
				st = "without model " + r.Model
				if u := e.badModels[r.Model]; earliest.IsZero() || u.Before(earliest) {
					earliest = u
				}
			}
		}
		counts[st]++
		if (st == StatusCooling || st == StatusExhausted || st == StatusError) && (earliest.IsZero() || e.acc.CooldownUntil.Before(earliest)) {
			earliest = e.acc.CooldownUntil
		}
	}
	var parts, rest []string
	for _, st := range []string{StatusCooling, StatusExhausted, StatusError, StatusSuspended, StatusNeedsLogin, StatusDisabled} {
		if n := counts[st]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, st))
			delete(counts, st)
		}
	}
	for st, n := range counts {
		rest = append(rest, fmt.Sprintf("%d %s", n, st))
	}
	slices.Sort(rest)
	parts = append(parts, rest...)
	var retry time.Duration
	if !earliest.IsZero() && earliest.After(now) {
		retry = earliest.Sub(now).Round(time.Second)
		if retry < time.Second {
			retry = time.Second
		}
	}
	msg := fmt.Sprintf("no Kiro account can serve this request (%s)", strings.Join(parts, ", "))
	if retry > 0 {
		msg += fmt.Sprintf("; the first one is free again in %s", retry)
	}
	msg += ". Run `kirobar accounts list` to see why; sign in again with `kirobar accounts login --relogin ID` (or log in again in the Kiro IDE and run `kirobar accounts import`) for accounts that need login; re-enable a suspended account with `kirobar accounts enable ID`; or add another account with `kirobar accounts login --builder-id` or `kirobar accounts add --refresh-token TOKEN`"
	return &ExhaustedError{RetryAfter: retry, Message: msg}
}

// unreserve undoes pick's reservation when the lease is never handed out.
func (m *Manager) unreserve(e *entry) {
	m.mu.Lock()
	e.inflight--
	m.mu.Unlock()
	m.signalFreed()
}
