package accounts

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kirobar/kirobar/kiro"
)

// CheckResult is what "check" learned about one account.
type CheckResult struct {
	ID        string    `json:"id"`
	Label     string    `json:"label"`
	Email     string    `json:"email,omitempty"`
	Status    string    `json:"status"`
	Plan      string    `json:"plan,omitempty"`
	Used      float64   `json:"used"`
	Limit     float64   `json:"limit"`
	NextReset time.Time `json:"next_reset,omitzero"`
	Models    int       `json:"models"` // -1 when the model list was unavailable
	Refreshed bool      `json:"refreshed"`
	// Overage says the account is past its limit and served as overage;
	// Overages is what it used past the limit.
	Overage  bool    `json:"overage,omitempty"`
	Overages float64 `json:"overages,omitempty"`
	// Profile, APIRegion and APIStyle are where the account is served.
	Profile   string `json:"profile_arn,omitempty"`
	APIRegion string `json:"api_region,omitempty"`
	APIStyle  string `json:"api_style,omitempty"`
	Err       string `json:"error,omitempty"`
}

// Check checks accounts without spending credits: for each (concurrently,
// bounded by check_concurrency) a refresh if one is due, the profile when
// it was never resolved, then getUsageLimits and the model list. It
// stores quota, overage, plan, email, reset date, models and status. With no ids it checks every enabled account. progress,
// if set, is called after each account, one call at a time.
func (m *Manager) Check(ctx context.Context, ids []string, progress func(done, total int)) ([]CheckResult, error) {
	if len(ids) == 0 {
		for _, v := range m.List() {
			if v.Enabled {
				ids = append(ids, v.ID)
			}
		}
	}
	for _, id := range ids {
		if _, err := m.View(id); err != nil {
			return nil, err
		}
	}
	results := make([]CheckResult, len(ids))
	sem := make(chan struct{}, m.cfg.CheckConcurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for i, id := range ids {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return results, fmt.Errorf("check accounts: %w", ctx.Err())
		}
		wg.Go(func() {
			defer func() { <-sem }()
			results[i] = m.checkOne(ctx, id)
			mu.Lock()
			defer mu.Unlock()
			done++
			if progress != nil {
				progress(done, len(ids))
			}
		})
	}
	wg.Wait()
	m.notify()
	return results, ctx.Err()
}

// checkOne checks one account and records the result.
func (m *Manager) checkOne(ctx context.Context, id string) CheckResult {
	res := CheckResult{ID: id, Models: -1}
	finish := func(err error) CheckResult {
		if err != nil {
			res.Err = err.Error()
		}
		if v, verr := m.View(id); verr == nil {
			res.Label, res.Status = v.Label, v.Status
			res.Profile, res.APIRegion, res.APIStyle = v.ProfileARN, v.APIRegion, v.APIStyle
			res.Overage, res.Overages = v.Status == StatusOverage, v.Overages
			if res.Email == "" {
				res.Email = v.Email
			}
		}
		return res
	}
	refreshed, err := m.refreshIfDue(ctx, id)
	res.Refreshed = refreshed
	if err != nil {
		return finish(err)
	}
	if err := m.ensureProfile(ctx, id); err != nil {
		m.log.Info("accounts: profile unresolved", "account", id, "err", err)
	}
	lim, err := m.usageLimits(ctx, id)
	if err != nil {
		return finish(err)
	}
	res.Email, res.Plan, res.Used, res.Limit, res.NextReset = lim.Email, lim.Plan, lim.Used, lim.Limit, lim.NextReset
	if err := m.recordLimits(ctx, id, lim, false); err != nil {
		return finish(err)
	}
	if n, err := m.discoverModels(ctx, id); err == nil {
		res.Models = n
	} else {
		m.log.Info("accounts: model list unavailable", "account", id, "err", err)
	}
	return finish(nil)
}

// refreshIfDue refreshes the account when its token expires within the
// refresh lead; refreshes are paced so a check of many accounts does not
// send them in a burst.
func (m *Manager) refreshIfDue(ctx context.Context, id string) (bool, error) {
	m.mu.Lock()
	e, ok := m.accounts[id]
	if !ok {
		m.mu.Unlock()
		return false, fmt.Errorf("account %s: %w", id, ErrNotFound)
	}
	due := !e.acc.ExpiresAt.After(m.now().Add(m.lead())) || e.acc.AccessToken == ""
	m.mu.Unlock()
	if !due {
		return false, nil
	}
	if err := m.paceRefresh(ctx); err != nil {
		return false, err
	}
	if err := m.ensureFresh(ctx, id, true); err != nil {
		return false, err
	}
	return true, nil
}

// usageLimits calls getUsageLimits, refreshing once if Kiro says the
// token is invalid, and resolving the profile once if Kiro says it is
// missing or invalid (an IdC account's usage needs it, kiro-protocol.md
// §11.5).
func (m *Manager) usageLimits(ctx context.Context, id string) (kiro.UsageLimits, error) {
	for attempt := 0; ; attempt++ {
		m.mu.Lock()
		e, ok := m.accounts[id]
		if !ok {
			m.mu.Unlock()
			return kiro.UsageLimits{}, fmt.Errorf("account %s: %w", id, ErrNotFound)
		}
		creds := credentials(&e.acc)
		m.mu.Unlock()
		lim, err := m.kc.UsageLimits(ctx, creds)
		if err == nil {
			return lim, nil
		}
		switch classify(err).Policy().Account {
		case kiro.ActRefresh:
			if attempt > 0 {
				break
			}
			if rerr := m.ensureFresh(ctx, id, true); rerr != nil {
				return kiro.UsageLimits{}, rerr
			}
			continue
		case kiro.ActResolveProfile:
			if attempt > 0 {
				break
			}
			if rerr := m.resolveStale(ctx, id, creds.ProfileARN); rerr != nil {
				return kiro.UsageLimits{}, fmt.Errorf("usage limits for %s: %w (resolving the profile: %v)", id, err, rerr)
			}
			continue
		case kiro.ActSuspend:
			m.markSuspended(ctx, id, err)
		case kiro.ActRelogin:
			if uerr := m.update(ctx, id, markNeedsLogin); uerr != nil {
				err = errors.Join(err, uerr)
			}
		}
		return kiro.UsageLimits{}, fmt.Errorf("usage limits for %s: %w", id, err)
	}
}

// recordLimits stores what getUsageLimits said. An account whose quota is
// used up (or that Kiro just refused for quota: quotaHit) is quarantined
// until the reset date; one that has quota again leaves quarantine. An
// account whose overage is enabled is not used up at its limit: Kiro goes
// on serving it, billed as overage, until its overage cap or the
// OVERAGE_REQUEST_LIMIT_EXCEEDED refusal (kiro-protocol.md §11.5) — unless
// use_overage is off, which rests it at the limit.
func (m *Manager) recordLimits(ctx context.Context, id string, lim kiro.UsageLimits, quotaHit bool) error {
	now := m.now()
	m.mu.Lock()
	if e, ok := m.accounts[id]; ok {
		e.metered = 0
	}
	m.mu.Unlock()
	return m.update(ctx, id, func(a *Account) map[string]any {
		a.Plan, a.QuotaUsed, a.QuotaLimit, a.QuotaReset, a.CheckedAt = lim.Plan, lim.Used, lim.Limit, lim.NextReset.UTC(), now.UTC()
		a.OverageEnabled, a.Overages, a.OverageCap = lim.OverageEnabled, lim.Overages, lim.OverageCap
		cols := map[string]any{
			"plan": a.Plan, "quota_used": a.QuotaUsed, "quota_limit": a.QuotaLimit,
			"quota_reset": a.QuotaReset, "checked_at": a.CheckedAt,
			"overage_enabled": a.OverageEnabled, "overages": a.Overages, "overage_cap": a.OverageCap,
		}
		overage := lim.OverageEnabled && m.cfg.UseOverage
		capped := overage && lim.OverageCap > 0 && lim.Overages >= lim.OverageCap
		atLimit := lim.Limit > 0 && lim.Used >= lim.Limit
		if lim.Email != "" {
			a.Email = lim.Email
			cols["email"] = lim.Email
			if a.LabelAuto {
				a.Label = lim.Email
				cols["label"] = lim.Email
			}
		}
		if lim.UserID != "" {
			a.UserID = lim.UserID
			cols["user_id"] = lim.UserID
		}
		switch {
		case quotaHit || capped || atLimit && !overage:
			until := lim.NextReset.UTC()
			if !until.After(now) {
				until = now.Add(m.cfg.QuotaFallback.D()).UTC()
			}
			a.Status, a.CooldownUntil, a.LastError = StatusExhausted, until, exhaustedMessage(lim, m.cfg.UseOverage, quotaHit)
			cols["status"], cols["cooldown_until"], cols["last_error"] = a.Status, until, a.LastError
		case a.Status == StatusExhausted:
			a.Status, a.CooldownUntil, a.LastError = StatusReady, time.Time{}, ""
			cols["status"], cols["cooldown_until"], cols["last_error"] = a.Status, a.CooldownUntil, ""
		case a.Status == StatusError:
			// the token works and Kiro answers: whatever failed has passed
			a.Status, a.CooldownUntil = StatusReady, time.Time{}
			cols["status"], cols["cooldown_until"] = a.Status, a.CooldownUntil
		}
		return cols
	})
}

// exhaustedMessage says why an account rests until its quota resets.
func exhaustedMessage(lim kiro.UsageLimits, useOverage, quotaHit bool) string {
	switch {
	case lim.OverageEnabled && !useOverage:
		return "monthly Kiro limit reached; overage is enabled at Kiro but [accounts] use_overage = false, so kirobar rests the account until the limit resets"
	case lim.OverageEnabled && (quotaHit || lim.OverageCap > 0 && lim.Overages >= lim.OverageCap):
		return "Kiro overage limit reached; resting until the monthly limit resets"
	}
	return "monthly Kiro quota used up; resting until it resets"
}
