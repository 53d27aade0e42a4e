package accounts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kirobar/kirobar/kiro"
)

// Outcome is what happened on one leased attempt.
type Outcome struct {
	// Err is the attempt's error; nil on success. Kiro errors are
	// classified with kiro.AsError to pick the cooldown.
	Err error
	// Style is the upstream API style that worked; it is remembered per
	// account so the next request starts with it.
	Style string
	// Credits Kiro metered for the attempt.
	Credits float64
	// InputTokens and OutputTokens as reported to the client.
	InputTokens, OutputTokens int
	// Started reports that the first byte reached the client.
	Started bool
}

// Error classes from the kiro package, named here once.
const (
	classContextTooLong = kiro.ClassContextTooLong
	classBadRequest     = kiro.ClassBadRequest
	classInvalidModel   = kiro.ClassInvalidModel
	classAuth           = kiro.ClassAuth
	classForbidden      = kiro.ClassForbidden
	classSuspended      = kiro.ClassSuspended
	classQuota          = kiro.ClassQuota
	classThrottled      = kiro.ClassThrottled
	classServer         = kiro.ClassServer
	classNotFound       = kiro.ClassNotFound
	classNetwork        = kiro.ClassNetwork
	classTimeout        = kiro.ClassTimeout
	classCanceled       = kiro.ClassCanceled
	classInvalidGrant   = kiro.ClassInvalidGrant
)

// classify returns the error class and the Retry-After Kiro sent.
func classify(err error) (kiro.Class, time.Duration) {
	if ke, ok := kiro.AsError(err); ok {
		return ke.Class, ke.RetryAfter
	}
	switch {
	case errors.Is(err, context.Canceled):
		return classCanceled, 0
	case errors.Is(err, context.DeadlineExceeded):
		return classTimeout, 0
	}
	return classNetwork, 0
}

// Release returns a lease and records its outcome: counters, the API
// style that worked, and a cooldown chosen by the error class. Only the
// first call for a lease counts.
func (m *Manager) Release(l *Lease, o Outcome) {
	if l == nil || l.e == nil {
		return
	}
	l.released.Do(func() { m.release(l, o) })
}

func (m *Manager) release(l *Lease, o Outcome) {
	now := m.now()
	e := l.e
	m.mu.Lock()
	e.inflight--
	e.pending.requests++
	e.pending.credits += o.Credits
	e.pending.inTokens += int64(o.InputTokens)
	e.pending.outTokens += int64(o.OutputTokens)
	e.pending.lastUsed = now
	change := m.judgeLocked(e, l.model, o, now)
	if o.Style != "" && o.Style != e.acc.APIStyle {
		prev := change
		change = func(a *Account) map[string]any {
			cols := map[string]any{}
			if prev != nil {
				cols = prev(a)
			}
			a.APIStyle = o.Style
			cols["api_style"] = o.Style
			return cols
		}
	}
	m.mu.Unlock()
	if change != nil {
		if err := m.update(context.Background(), l.AccountID, change); err != nil && !errors.Is(err, ErrNotFound) {
			m.log.Warn("accounts: record outcome", "account", l.AccountID, "err", err)
		}
	}
	m.signalFreed()
	m.notify()
}

// judgeLocked updates the runtime failure state and returns the stored
// change the outcome calls for, if any.
func (m *Manager) judgeLocked(e *entry, model string, o Outcome, now time.Time) func(a *Account) map[string]any {
	a := &e.acc
	if o.Err == nil {
		e.errRate *= 0.9
		e.throttleStreak, e.breakerFails, e.authFails = 0, 0, 0
		if (a.Status == StatusCooling || a.Status == StatusError) && !a.CooldownUntil.After(now) {
			return setStatus(StatusReady, time.Time{}, "")
		}
		return nil
	}
	class, retryAfter := classify(o.Err)
	switch class {
	case classContextTooLong, classBadRequest, classCanceled:
		return nil // the request's fault, not the account's
	}
	e.errRate = 0.9*e.errRate + 0.1
	e.pending.errors++
	msg := fmt.Sprintf("%s: %v", class, o.Err)
	switch class {
	case classInvalidModel:
		if model != "" {
			if e.badModels == nil {
				e.badModels = map[string]time.Time{}
			}
			e.badModels[model] = now.Add(m.cfg.ModelCooldown.D())
		}
		return nil
	case classThrottled:
		e.throttleStreak++
		d := retryAfter
		if d <= 0 {
			d = m.cfg.ThrottleBase.D() << min(e.throttleStreak-1, 20)
		}
		d = min(d, m.cfg.ThrottleMax.D())
		return setStatus(StatusCooling, now.Add(d), "rate limited by Kiro; cooling down for "+d.String())
	case classQuota:
		until := now.Add(m.cfg.QuotaFallback.D())
		if a.QuotaReset.After(now) {
			until = a.QuotaReset
		}
		e.needUsage = true
		m.kick()
		return setStatus(StatusExhausted, until, "monthly Kiro quota used up; resting until it resets")
	case classSuspended:
		return setStatus(StatusSuspended, time.Time{}, "Kiro suspended this account; after resolving it with Kiro, run `kirobar accounts enable "+a.ID+"`")
	case classInvalidGrant:
		return markNeedsLogin
	case classAuth:
		e.authFails++
		if e.authFails >= 2 {
			return setStatus(StatusError, now.Add(m.cfg.BreakerCooldown.D()), msg)
		}
		return setLastError(msg)
	case classForbidden:
		return setStatus(StatusError, now.Add(m.cfg.ForbiddenCooldown.D()), msg)
	default: // server, network, timeout, not_found and anything unknown
		e.breakerFails++
		if e.breakerFails >= m.cfg.BreakerThreshold {
			e.breakerFails = 0
			return setStatus(StatusCooling, now.Add(m.cfg.BreakerCooldown.D()), msg)
		}
		return setLastError(msg)
	}
}

func setStatus(status string, until time.Time, msg string) func(a *Account) map[string]any {
	return func(a *Account) map[string]any {
		a.Status, a.CooldownUntil, a.LastError = status, until, msg
		return map[string]any{"status": status, "cooldown_until": until.UTC(), "last_error": msg}
	}
}

func setLastError(msg string) func(a *Account) map[string]any {
	return func(a *Account) map[string]any {
		a.LastError = msg
		return map[string]any{"last_error": msg}
	}
}

// markSuspended records a suspension found outside a request (refresh,
// check).
func (m *Manager) markSuspended(ctx context.Context, id string, cause error) {
	msg := "Kiro suspended this account; after resolving it with Kiro, run `kirobar accounts enable " + id + "`"
	if err := m.update(ctx, id, setStatus(StatusSuspended, time.Time{}, msg)); err != nil {
		m.log.Warn("accounts: mark suspended", "account", id, "err", err)
	}
	m.log.Warn("accounts: account suspended", "account", id, "err", cause)
}
