package accounts

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/kirobar/kirobar/internal/db"
)

// The database is the source of truth: every change is written there
// first, with a revision that grows on each write, so a running kirobar
// and a CLI process sharing the file each notice what the other changed
// (reload). Request accounting is kept in memory and written in batches
// (flushUsage), so the request path never waits for the database. A team
// sharing one PostgreSQL database works the same way, with notifications
// to hurry the reloads and a lock around refreshes (team.go).

// update applies change to the account in memory and writes cols to the
// database, bumping the revision. change runs under the pool lock and
// returns the columns it set.
func (m *Manager) update(ctx context.Context, id string, change func(a *Account) map[string]any) error {
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	m.mu.Lock()
	e, ok := m.accounts[id]
	if !ok {
		m.mu.Unlock()
		return fmt.Errorf("account %s: %w", id, ErrNotFound)
	}
	cols := change(&e.acc)
	m.mu.Unlock()
	rev, err := m.write(ctx, id, cols)
	if err != nil && !m.keepUnsaved(id, cols, err) {
		return err
	}
	m.mu.Lock()
	m.noteRevision(e, rev)
	m.reschedule(e)
	m.changes++
	m.mu.Unlock()
	m.notify()
	return nil
}

// write stores cols for id and returns the new revision.
func (m *Manager) write(ctx context.Context, id string, cols map[string]any) (int64, error) {
	vals := make(map[string]any, len(cols)+2)
	pg := m.team != nil
	for k, v := range cols {
		if s, ok := v.(string); ok && pg {
			v = db.PGText(s) // an error message from Kiro may hold a NUL
		}
		vals[k] = v
	}
	vals["revision"] = gorm.Expr("revision + 1")
	vals["updated_at"] = m.now().UTC()
	var rev int64
	err := m.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&Account{}).Where("id = ?", id).Updates(vals)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return tx.Model(&Account{}).Where("id = ?", id).Select("revision").Scan(&rev).Error
	})
	if err != nil {
		return 0, fmt.Errorf("save account %s: %w", id, err)
	}
	return rev, nil
}

// noteRevision records our own write. When another process wrote in
// between, the revision jumped by more than one: leave knownRev behind so
// the next reload adopts the row, which then holds both changes.
func (m *Manager) noteRevision(e *entry, rev int64) {
	if rev == e.knownRev+1 {
		e.knownRev = rev
	}
}

// reload adopts rows that changed in the database since this Manager last
// saw them, adds new ones and forgets deleted ones. It reports whether
// anything changed.
func (m *Manager) reload(ctx context.Context) (bool, error) {
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	if err := m.flushUnsaved(ctx); err != nil {
		return false, err
	}
	if err := m.flushUsage(ctx); err != nil {
		if m.team != nil {
			return false, err // the outage is reported once by storeResult
		}
		m.log.Warn("accounts: flush usage", "err", err)
	}
	return m.resyncLocked(ctx)
}

// resync adopts what other processes changed, without writing anything:
// what a notification from another instance asks for.
func (m *Manager) resync(ctx context.Context) (bool, error) {
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	return m.resyncLocked(ctx)
}

// resyncLocked is reload's reading half. The caller holds writeMu.
func (m *Manager) resyncLocked(ctx context.Context) (bool, error) {
	type rowRev struct {
		ID       string
		Revision int64
	}
	var revs []rowRev
	if err := m.db.WithContext(ctx).Model(&Account{}).Select("id", "revision").Scan(&revs).Error; err != nil {
		return false, fmt.Errorf("reload accounts: %w", err)
	}
	present := make(map[string]bool, len(revs))
	var stale []string
	m.mu.Lock()
	for _, r := range revs {
		present[r.ID] = true
		if e, ok := m.accounts[r.ID]; (!ok || e.knownRev != r.Revision) && m.unsaved[r.ID] == nil {
			stale = append(stale, r.ID)
		}
	}
	changed := false
	for id := range m.accounts {
		if !present[id] {
			delete(m.accounts, id)
			changed = true
		}
	}
	m.mu.Unlock()
	if len(stale) > 0 {
		var rows []Account
		if err := m.db.WithContext(ctx).Where("id IN ?", stale).Find(&rows).Error; err != nil {
			return false, fmt.Errorf("reload accounts: %w", err)
		}
		m.mu.Lock()
		for _, row := range rows {
			e, ok := m.accounts[row.ID]
			if !ok {
				e = &entry{}
				m.accounts[row.ID] = e
			}
			e.acc = row
			e.knownRev = row.Revision
			m.reschedule(e)
		}
		m.mu.Unlock()
		changed = true
	}
	if changed {
		m.mu.Lock()
		m.changes++
		m.mu.Unlock()
		m.kick()
		m.signalFreed()
		m.notify()
	}
	return changed, nil
}

// flushUsage writes pending request accounting. The caller holds writeMu.
func (m *Manager) flushUsage(ctx context.Context) error {
	type job struct {
		e *entry
		u usage
	}
	var jobs []job
	m.mu.Lock()
	for _, e := range m.accounts {
		if e.pending.empty() && e.pending.lastUsed.IsZero() {
			continue
		}
		jobs = append(jobs, job{e, e.pending})
		e.pending = usage{}
		applyUsage(&e.acc, jobs[len(jobs)-1].u)
	}
	m.mu.Unlock()
	var errs []error
	for _, j := range jobs {
		cols := map[string]any{
			"requests":      gorm.Expr("requests + ?", j.u.requests),
			"errors":        gorm.Expr("errors + ?", j.u.errors),
			"credits":       gorm.Expr("credits + ?", j.u.credits),
			"input_tokens":  gorm.Expr("input_tokens + ?", j.u.inTokens),
			"output_tokens": gorm.Expr("output_tokens + ?", j.u.outTokens),
		}
		if !j.u.lastUsed.IsZero() {
			cols["last_used"] = j.u.lastUsed.UTC()
		}
		rev, err := m.write(ctx, j.e.acc.ID, cols)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			m.mu.Lock()
			unapplyUsage(&j.e.acc, j.u)
			j.e.pending = addUsage(j.e.pending, j.u)
			m.mu.Unlock()
			continue
		}
		m.mu.Lock()
		m.noteRevision(j.e, rev)
		m.mu.Unlock()
	}
	return errors.Join(errs...)
}

func applyUsage(a *Account, u usage) {
	a.Requests += u.requests
	a.Errors += u.errors
	a.Credits += u.credits
	a.InputTokens += u.inTokens
	a.OutputTokens += u.outTokens
	if u.lastUsed.After(a.LastUsed) {
		a.LastUsed = u.lastUsed
	}
}

func unapplyUsage(a *Account, u usage) {
	a.Requests -= u.requests
	a.Errors -= u.errors
	a.Credits -= u.credits
	a.InputTokens -= u.inTokens
	a.OutputTokens -= u.outTokens
}

func addUsage(a, b usage) usage {
	a.requests += b.requests
	a.errors += b.errors
	a.credits += b.credits
	a.inTokens += b.inTokens
	a.outTokens += b.outTokens
	if b.lastUsed.After(a.lastUsed) {
		a.lastUsed = b.lastUsed
	}
	return a
}
