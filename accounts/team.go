package accounts

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/kirobar/kirobar/internal/db"
	"github.com/kirobar/kirobar/internal/pglock"
	"github.com/kirobar/kirobar/internal/pgnotify"
)

// A team gateway is several kirobar instances sharing one PostgreSQL
// database. Each keeps its pool in memory as a lone kirobar does; what
// they must agree on goes through the database:
//
//   - every change to an account row notifies the others (a trigger on
//     the accounts table, so the CLI's writes count too), and they adopt
//     the row within moments; the periodic reload is the safety net for
//     notifications lost while a listener was disconnected;
//   - a token is refreshed under a per-account lock with a lease
//     (pglock), and whoever gets the lock after a refresh finds the new
//     tokens stored and adopts them instead of refreshing again — refresh
//     tokens rotate, and a second refresh with the old one would leave
//     the account needing a login;
//   - while the database cannot be reached, requests are served from the
//     last known state, account changes are kept in memory and written
//     when it is back, and the outage is logged once.

// accountsChannel is the NOTIFY channel of account row changes; the
// payload is the account id.
const accountsChannel = "kirobar_accounts"

// Refresh lock timing. The lease covers one refresh call (refreshTimeout)
// with room to store the result; a holder that dies frees the lock at
// once, one that hangs frees it when the lease ends.
const (
	refreshLockLease = refreshTimeout + 15*time.Second
	// sharedRefreshes bounds refreshes holding a lock at once: each holds
	// one database connection for the lock and needs another to store.
	sharedRefreshes = 4
)

// teamState is a Manager's part in a team gateway; nil with SQLite.
type teamState struct {
	// url is the database's URL for LISTEN; empty: no notifications,
	// the periodic reload alone carries changes.
	url  string
	wake chan struct{} // a notification asks for a resync
	sem  chan struct{} // sharedRefreshes slots

	// bindings are conversations' accounts waiting to be written behind;
	// pushed is what was last written per session key (guarded by the
	// Manager's mu).
	bindings      chan sessionBinding
	flushBindings chan struct{}
	pushed        map[string]pushedBinding

	mu   sync.Mutex
	down bool // the store failed and the failure was logged
}

func newTeamState(url string) *teamState {
	return &teamState{
		url:           url,
		wake:          make(chan struct{}, 1),
		sem:           make(chan struct{}, sharedRefreshes),
		bindings:      make(chan sessionBinding, bindingQueue),
		flushBindings: make(chan struct{}, 1),
		pushed:        map[string]pushedBinding{},
	}
}

// teamWake is the channel Run selects on for notifications; nil (never
// ready) without a team.
func (m *Manager) teamWake() <-chan struct{} {
	if m.team == nil {
		return nil
	}
	return m.team.wake
}

// runListener delivers account notifications as resync wake-ups until
// ctx ends.
func (m *Manager) runListener(ctx context.Context) {
	if m.team == nil || m.team.url == "" {
		return
	}
	l := &pgnotify.Listener{URL: m.team.url, Channels: []string{accountsChannel}, Log: m.log}
	if err := l.Run(ctx, func(pgnotify.Event) {
		select {
		case m.team.wake <- struct{}{}:
		default: // a resync is pending; it will see this change too
		}
	}); err != nil {
		m.log.Warn("accounts: notification listener stopped", "err", err)
	}
}

// storeResult reports the outcome of a periodic reload: with a team the
// first failure of an outage and the recovery are logged once each.
func (m *Manager) storeResult(err error) {
	if m.team == nil {
		if err != nil {
			m.log.Warn("accounts: reload", "err", err)
		}
		return
	}
	m.team.mu.Lock()
	was := m.team.down
	m.team.down = err != nil
	m.team.mu.Unlock()
	switch {
	case err != nil && !was:
		m.log.Error("accounts: the shared database is unreachable; serving from the last known state and keeping changes until it is back", "err", err)
	case err == nil && was:
		m.log.Info("accounts: the shared database is back; kept changes are written")
	}
}

// keepUnsaved decides what a failed write becomes. With a team the change
// stays in memory (the caller applies it) and is written by the next
// reload that reaches the database; a lone kirobar reports the error.
// The caller holds writeMu.
func (m *Manager) keepUnsaved(id string, cols map[string]any, err error) bool {
	if m.team == nil || errors.Is(err, ErrNotFound) || !db.Unreachable(err) {
		return false
	}
	if m.unsaved == nil {
		m.unsaved = map[string]map[string]any{}
	}
	kept := m.unsaved[id]
	if kept == nil {
		kept = map[string]any{}
		m.unsaved[id] = kept
	}
	for k, v := range cols {
		kept[k] = v
	}
	m.storeResult(err)
	return true
}

// flushUnsaved writes the changes kept while the database was away. The
// caller holds writeMu.
func (m *Manager) flushUnsaved(ctx context.Context) error {
	for id, cols := range m.unsaved {
		rev, err := m.write(ctx, id, cols)
		if errors.Is(err, ErrNotFound) {
			delete(m.unsaved, id) // removed meanwhile: nothing to keep
			continue
		}
		if err != nil && !db.Unreachable(err) {
			// Refused for what it holds: it would be refused forever, and
			// keeping it would keep this instance from reloading.
			m.log.Error("accounts: a change kept through an outage was refused", "account", id, "err", err)
			delete(m.unsaved, id)
			continue
		}
		if err != nil {
			return err
		}
		delete(m.unsaved, id)
		m.mu.Lock()
		if e, ok := m.accounts[id]; ok {
			m.noteRevision(e, rev)
		}
		m.mu.Unlock()
	}
	return nil
}

// doRefresh refreshes snap's tokens. In a team only one instance at a
// time refreshes an account: under the account's lock the stored row is
// read again, and when another instance (or the CLI) has replaced the
// tokens since snap was taken, they are adopted instead.
func (m *Manager) doRefresh(ctx context.Context, snap Account, force bool) error {
	if m.team == nil {
		return m.refreshNow(ctx, snap, force)
	}
	select {
	case m.team.sem <- struct{}{}:
		defer func() { <-m.team.sem }()
	case <-ctx.Done():
		return fmt.Errorf("refresh %s: %w", snap.ID, ctx.Err())
	}
	sqlDB, err := m.db.DB()
	if err != nil {
		return fmt.Errorf("refresh %s: %w", snap.ID, err)
	}
	held, err := pglock.Lock(ctx, sqlDB, "kirobar.refresh:"+snap.ID, pglock.Options{Wait: refreshTimeout, Lease: refreshLockLease})
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, pglock.ErrBusy) {
			return fmt.Errorf("refresh %s: %w", snap.ID, err)
		}
		// The database is away: refreshing alone risks a token another
		// instance rotates too, but not refreshing leaves the account
		// unusable once its token expires.
		m.storeResult(err)
		m.log.Warn("accounts: refreshing without the team's lock: the shared database is unreachable", "account", snap.ID)
		return m.refreshNow(ctx, snap, force)
	}
	defer func() {
		if err := held.Release(); err != nil {
			m.log.Warn("accounts: the refresh outlasted its lock's lease; another instance may have refreshed too", "account", snap.ID, "err", err)
		}
	}()
	var row Account
	if err := m.db.WithContext(ctx).Where("id = ?", snap.ID).Take(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("refresh %s: %w", snap.ID, ErrNotFound)
		}
		return fmt.Errorf("refresh %s: read the stored tokens: %w", snap.ID, err)
	}
	if row.RefreshToken != snap.RefreshToken || row.AccessToken != snap.AccessToken {
		m.adoptRow(row)
		m.metrics.Refreshed(RefreshAdopted)
		if m.tokenUsable(&row, m.now()) {
			m.log.Debug("accounts: adopted tokens another instance refreshed", "account", snap.ID)
			return nil
		}
		snap.AccessToken, snap.RefreshToken, snap.ExpiresAt = row.AccessToken, row.RefreshToken, row.ExpiresAt
		snap.ProfileARN, snap.ClientID, snap.ClientSecret = row.ProfileARN, row.ClientID, row.ClientSecret
	}
	return m.refreshNow(ctx, snap, force)
}

// adoptRow takes a stored row as the account's state, as a reload does.
func (m *Manager) adoptRow(row Account) {
	m.writeMu.Lock()
	m.mu.Lock()
	e, ok := m.accounts[row.ID]
	if ok && m.unsaved[row.ID] == nil {
		e.acc = row
		e.knownRev = row.Revision
		m.reschedule(e)
	}
	m.mu.Unlock()
	m.writeMu.Unlock()
	m.signalFreed()
	m.notify()
}

// accountsNotifySQL installs the trigger that announces every change to
// an account row on accountsChannel (PostgreSQL only).
const accountsNotifySQL = `
CREATE OR REPLACE FUNCTION kirobar_accounts_notify() RETURNS trigger AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		PERFORM pg_notify('` + accountsChannel + `', OLD.id);
	ELSE
		PERFORM pg_notify('` + accountsChannel + `', NEW.id);
	END IF;
	RETURN NULL;
END
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS accounts_notify ON accounts;
CREATE TRIGGER accounts_notify AFTER INSERT OR UPDATE OR DELETE ON accounts
	FOR EACH ROW EXECUTE FUNCTION kirobar_accounts_notify();`

// installNotifyTrigger is schema step 2: nothing on SQLite, where one
// kirobar polls its own file.
func installNotifyTrigger(tx *gorm.DB) error {
	if tx.Dialector.Name() != "postgres" {
		return nil
	}
	return tx.Exec(accountsNotifySQL).Error
}
