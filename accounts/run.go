package accounts

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Run keeps the pool healthy until ctx ends: it refreshes every token
// refresh_lead before it expires (one timer over a heap of due times,
// refreshes paced by refresh_spacing), picks up changes other processes
// made to the database, adopts tokens the IDE rotated in linked files,
// looks up the reset date of accounts that hit their quota, and runs the
// optional periodic check. It returns after its background work stopped.
func (m *Manager) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		m.writeMu.Lock()
		err := m.flushUsage(fctx)
		m.writeMu.Unlock()
		if err != nil {
			m.log.Warn("accounts: flush usage on shutdown", "err", err)
		}
	}()

	reload := time.NewTicker(m.reloadEvery)
	defer reload.Stop()
	var checkC <-chan time.Time
	if iv := m.cfg.CheckInterval.D(); iv > 0 {
		t := time.NewTicker(iv)
		defer t.Stop()
		checkC = t.C
	}
	var checking atomic.Bool
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()

	m.mu.Lock()
	for _, e := range m.accounts {
		m.reschedule(e)
	}
	m.mu.Unlock()
	wg.Go(func() { m.runListener(ctx) })
	wg.Go(func() { m.writeBindings(ctx) })
	wg.Go(func() { m.listUnlisted(ctx) })

	for {
		m.startDue(ctx, &wg)
		m.startUsageLookups(ctx, &wg)
		timer.Reset(m.untilNextDue())
		select {
		case <-ctx.Done():
			return nil
		case <-m.wake:
		case <-timer.C:
		case <-reload.C:
			if _, err := m.reload(ctx); !errors.Is(err, context.Canceled) {
				m.storeResult(err)
			}
			m.watchLinked(ctx)
		case <-m.teamWake():
			if _, err := m.resync(ctx); err != nil && !errors.Is(err, context.Canceled) {
				m.log.Debug("accounts: resync after a notification", "err", err)
			}
		case <-checkC:
			if checking.CompareAndSwap(false, true) {
				wg.Go(func() {
					defer checking.Store(false)
					if _, err := m.Check(ctx, nil, nil); err != nil && ctx.Err() == nil {
						m.log.Warn("accounts: periodic check", "err", err)
					}
				})
			}
		}
	}
}

// untilNextDue is how long the scheduler may sleep.
func (m *Manager) untilNextDue() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.sched.peek()
	if !ok {
		return time.Hour
	}
	return max(it.due.Sub(m.now()), 0)
}

// startDue starts a background refresh for every account that is due.
func (m *Manager) startDue(ctx context.Context, wg *sync.WaitGroup) {
	now := m.now()
	for {
		m.mu.Lock()
		it, ok := m.sched.peek()
		if !ok || it.due.After(now) {
			m.mu.Unlock()
			return
		}
		m.sched.pop()
		m.mu.Unlock()
		wg.Go(func() { m.backgroundRefresh(ctx, it.id) })
	}
}

// backgroundRefresh refreshes one due account after waiting its turn.
func (m *Manager) backgroundRefresh(ctx context.Context, id string) {
	if err := m.paceRefresh(ctx); err != nil {
		m.requeue(id)
		return
	}
	m.mu.Lock()
	e, ok := m.accounts[id]
	stillDue := ok && !m.refreshDue(e).IsZero() && !m.refreshDue(e).After(m.now())
	m.mu.Unlock()
	if !stillDue {
		m.requeue(id)
		return
	}
	if err := m.ensureFresh(ctx, id, true); err != nil {
		m.log.Warn("accounts: background refresh", "account", id, "err", err)
	}
}

// requeue puts an account back on the schedule after a skipped refresh.
func (m *Manager) requeue(id string) {
	m.mu.Lock()
	if e, ok := m.accounts[id]; ok {
		m.reschedule(e)
	}
	m.mu.Unlock()
}

// paceRefresh lets one refresh start per refresh_spacing across all
// accounts, so a pool never refreshes in a burst. It measures real time.
func (m *Manager) paceRefresh(ctx context.Context) error {
	m.paceMu.Lock()
	defer m.paceMu.Unlock()
	if wait := m.cfg.RefreshSpacing.D() - time.Since(m.lastPaced); !m.lastPaced.IsZero() && wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	m.lastPaced = time.Now()
	return nil
}

// startUsageLookups asks getUsageLimits for the reset date of accounts
// that just hit their monthly quota.
func (m *Manager) startUsageLookups(ctx context.Context, wg *sync.WaitGroup) {
	m.mu.Lock()
	var ids []string
	for id, e := range m.accounts {
		if e.needUsage {
			e.needUsage = false
			ids = append(ids, id)
		}
	}
	m.mu.Unlock()
	for _, id := range ids {
		wg.Go(func() {
			lim, err := m.usageLimits(ctx, id)
			if err != nil {
				m.log.Warn("accounts: usage limits after quota error", "account", id, "err", err)
				return
			}
			if err := m.recordLimits(ctx, id, lim, true); err != nil {
				m.log.Warn("accounts: record usage limits", "account", id, "err", err)
			}
		})
	}
}

// listUnlisted lists the models (and resolves the profile) of accounts
// stored before kirobar discovered them, once per Run, one at a time and
// only while their tokens are usable: a credit-free catch-up for accounts
// added by an older kirobar, so the pool's model list is known without a
// manual check.
func (m *Manager) listUnlisted(ctx context.Context) {
	var ids []string
	now := m.now()
	m.mu.Lock()
	for id, e := range m.accounts {
		if e.acc.Enabled && e.acc.ModelsAt.IsZero() && m.tokenUsable(&e.acc, now) && selectable(effective(&e.acc, now, m.lead())) {
			ids = append(ids, id)
		}
	}
	m.mu.Unlock()
	for _, id := range ids {
		if ctx.Err() != nil {
			return
		}
		if _, err := m.discoverModels(ctx, id); err != nil && ctx.Err() == nil {
			m.log.Info("accounts: models not listed yet; `kirobar accounts check` retries", "account", id, "err", err)
		}
	}
}
