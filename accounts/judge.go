package accounts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kirobar/kirobar/kiro"
)

// The cooldown judge: what the outcome of one leased attempt does to the
// account that served it. kiro classifies the error and its policy table
// names the account action (kiro.Policy().Account); here each action
// becomes the account's runtime failure state (streaks, the circuit
// breaker, blocked models) and, when the account must rest, a stored
// status with its end and a last error that says why and what to do.

// classify returns the classified upstream error and the Retry-After Kiro
// sent. Errors that never reached Kiro are the caller's cancellation, a
// deadline, or the network.
func classify(err error) *kiro.Error {
	if ke, ok := kiro.AsError(err); ok {
		return ke
	}
	switch {
	case errors.Is(err, context.Canceled):
		return &kiro.Error{Class: kiro.ClassCanceled, Err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &kiro.Error{Class: kiro.ClassTimeout, Err: err}
	}
	return &kiro.Error{Class: kiro.ClassNetwork, Err: err}
}

// judgeLocked updates the runtime failure state and returns the stored
// change the outcome calls for, if any.
func (m *Manager) judgeLocked(e *entry, model string, o Outcome, now time.Time) func(a *Account) map[string]any {
	a := &e.acc
	if o.Err == nil {
		e.errRate *= 0.9
		e.throttleStreak, e.breakerFails, e.authFails = 0, 0, 0
		if rest := m.overageStopLocked(e, o.Credits, now); rest != nil {
			return rest
		}
		if (a.Status == StatusCooling || a.Status == StatusError) && !a.CooldownUntil.After(now) {
			return setStatus(StatusReady, time.Time{}, "")
		}
		return nil
	}
	ke := classify(o.Err)
	action := ke.Policy().Account
	if action == kiro.ActNone {
		return nil // the request's fault, not the account's
	}
	e.errRate = 0.9*e.errRate + 0.1
	e.pending.errors++
	msg := fmt.Sprintf("%s: %v", ke.Class, o.Err)
	switch action {
	case kiro.ActBlockModel:
		return m.modelRefusedLocked(e, model, now)
	case kiro.ActResolveProfile:
		// Recover resolves the profile; only a failed resolution is news.
		return setLastError(msg)
	case kiro.ActThrottle:
		e.throttleStreak++
		d := ke.RetryAfter
		if d <= 0 {
			d = m.cfg.ThrottleBase.D() << min(e.throttleStreak-1, 20)
		}
		d = min(d, m.cfg.ThrottleMax.D())
		what := "rate limited by Kiro"
		if ke.Class == kiro.ClassCapacity {
			what = "Kiro has no capacity for the model"
		}
		return setStatus(StatusCooling, now.Add(d), what+"; cooling down for "+d.String())
	case kiro.ActDailyLimit:
		until := nextUTCDay(now)
		if ke.RetryAfter > 0 {
			until = now.Add(ke.RetryAfter)
		}
		return setStatus(StatusCooling, until, "daily Kiro request limit reached; resting until "+until.UTC().Format("2006-01-02 15:04 UTC"))
	case kiro.ActQuota:
		until := now.Add(m.cfg.QuotaFallback.D())
		if a.QuotaReset.After(now) {
			until = a.QuotaReset
		}
		return m.thenLookUpUsage(e, setStatus(StatusExhausted, until, "monthly Kiro quota used up; resting until it resets"))
	case kiro.ActSuspend:
		return setStatus(StatusSuspended, time.Time{}, suspendedHint(a.ID))
	case kiro.ActRelogin:
		return markNeedsLogin
	case kiro.ActRefresh:
		e.authFails++
		if e.authFails >= 2 {
			return setStatus(StatusError, now.Add(m.cfg.BreakerCooldown.D()), msg)
		}
		return setLastError(msg)
	case kiro.ActForbidden:
		return setStatus(StatusError, now.Add(m.cfg.ForbiddenCooldown.D()), msg)
	default: // ActStrike and anything new: the circuit breaker counts it
		e.breakerFails++
		if e.breakerFails >= m.cfg.BreakerThreshold {
			e.breakerFails = 0
			return setStatus(StatusCooling, now.Add(m.cfg.BreakerCooldown.D()), msg)
		}
		return setLastError(msg)
	}
}

// overageStopLocked rests an account with overage enabled at Kiro once
// what kirobar saw metered takes it to its limit, when use_overage is off:
// Kiro would go on serving it and bill the overage, so no refusal would
// ever stop it. The next usage check confirms or lifts it.
func (m *Manager) overageStopLocked(e *entry, credits float64, now time.Time) func(a *Account) map[string]any {
	a := &e.acc
	if m.cfg.UseOverage || !a.OverageEnabled || a.QuotaLimit <= 0 {
		return nil
	}
	e.metered += credits
	if a.QuotaUsed+e.metered < a.QuotaLimit {
		return nil
	}
	until := a.QuotaReset
	if !until.After(now) {
		until = now.Add(m.cfg.QuotaFallback.D())
	}
	return m.thenLookUpUsage(e, setStatus(StatusExhausted, until, "monthly Kiro limit reached; overage is enabled at Kiro but [accounts] use_overage = false, so kirobar rests the account until the limit resets"))
}

// thenLookUpUsage wraps a resting change so the getUsageLimits lookup it
// calls for is requested only when the change is applied (update runs it
// under m.mu): a lookup started earlier could record the real reset date
// before the fallback rest lands and be overwritten by it.
func (m *Manager) thenLookUpUsage(e *entry, change func(a *Account) map[string]any) func(a *Account) map[string]any {
	return func(a *Account) map[string]any {
		e.needUsage = true
		m.kick()
		return change(a)
	}
}

// modelRefusedLocked handles an INVALID_MODEL_ID. Kiro sometimes refuses a
// valid model id for a few minutes (kiro-protocol.md §11.6), so a first
// refusal only marks the model as suspect; a second one within
// ModelCooldown blocks it on this account for ModelCooldown, visibly
// (View.BlockedModels).
func (m *Manager) modelRefusedLocked(e *entry, model string, now time.Time) func(a *Account) map[string]any {
	if model == "" {
		return nil
	}
	if e.suspectModels == nil {
		e.suspectModels = map[string]time.Time{}
	}
	if since, ok := e.suspectModels[model]; !ok || now.Sub(since) > m.cfg.ModelCooldown.D() {
		e.suspectModels[model] = now
		return nil
	}
	delete(e.suspectModels, model)
	if e.badModels == nil {
		e.badModels = map[string]time.Time{}
	}
	until := now.Add(m.cfg.ModelCooldown.D())
	e.badModels[model] = until
	return setLastError(fmt.Sprintf("Kiro refused model %s twice; not offered on this account until %s", model, until.UTC().Format("15:04 UTC")))
}

// nextUTCDay is the start of the day after now, in UTC, when Kiro's daily
// request counts start over.
func nextUTCDay(now time.Time) time.Time {
	y, mo, d := now.UTC().Date()
	return time.Date(y, mo, d+1, 0, 0, 0, 0, time.UTC)
}

// suspendedHint says what to do about a suspended account.
func suspendedHint(id string) string {
	return "Kiro suspended this account; after resolving it with Kiro, run `kirobar accounts enable " + id + "`"
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
	if err := m.update(ctx, id, setStatus(StatusSuspended, time.Time{}, suspendedHint(id))); err != nil {
		m.log.Warn("accounts: mark suspended", "account", id, "err", err)
	}
	m.log.Warn("accounts: account suspended", "account", id, "err", cause)
}

// markNeedsLogin is the stored change for an account whose refresh token
// Kiro rejected.
func markNeedsLogin(a *Account) map[string]any {
	return setStatus(StatusNeedsLogin, time.Time{}, reloginHint(a))(a)
}
