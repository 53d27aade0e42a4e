package accounts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kirobar/kirobar/accounts/tokenfile"
	"github.com/kirobar/kirobar/kiro"
)

// refreshTimeout bounds one refresh call; it runs detached from the
// request that triggered it so one impatient client cannot abort a refresh
// other requests are waiting for.
const refreshTimeout = 45 * time.Second

// forceDedupe: a forced refresh right after a successful one is skipped,
// so a burst of 403s on one account costs one refresh, not many.
const forceDedupe = 10 * time.Second

// flight is one refresh in progress; waiters block on done.
type flight struct {
	done chan struct{}
	err  error
	at   time.Time // when it finished successfully
}

// usableMargin is how much validity an access token must have left to be
// handed out without refreshing first.
func (m *Manager) usableMargin() time.Duration {
	return min(time.Minute, m.lead())
}

func (m *Manager) tokenUsable(a *Account, now time.Time) bool {
	return a.AccessToken != "" && a.ExpiresAt.After(now.Add(m.usableMargin()))
}

// ensureFresh makes sure the account's access token is usable, refreshing
// it at most once at a time (single-flight): concurrent callers wait for
// the refresh in progress instead of starting another. force refreshes a
// usable token too; rejected, when given, is an access token Kiro refused,
// and the refresh is then skipped only if the token has already changed.
func (m *Manager) ensureFresh(ctx context.Context, id string, force bool, rejected ...string) error {
	m.mu.Lock()
	e, ok := m.accounts[id]
	if !ok {
		m.mu.Unlock()
		return fmt.Errorf("account %s: %w", id, ErrNotFound)
	}
	now := m.now()
	if !force && m.tokenUsable(&e.acc, now) {
		m.mu.Unlock()
		return nil
	}
	if f := e.refresh; f != nil {
		m.mu.Unlock()
		select {
		case <-f.done:
			return f.err
		case <-ctx.Done():
			return fmt.Errorf("wait for refresh of %s: %w", id, ctx.Err())
		}
	}
	if len(rejected) > 0 && e.acc.AccessToken != rejected[0] {
		m.mu.Unlock()
		return nil
	}
	if force && len(rejected) == 0 && e.lastRefresh.Add(forceDedupe).After(now) && m.tokenUsable(&e.acc, now) {
		m.mu.Unlock()
		return nil
	}
	f := &flight{done: make(chan struct{})}
	e.refresh = f
	snap := e.acc
	m.mu.Unlock()
	m.notify()

	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
	err := m.doRefresh(rctx, snap, force)
	cancel()

	m.mu.Lock()
	e.refresh = nil
	f.err = err
	if err == nil {
		e.refreshFails = 0
		e.refreshRetryAt = time.Time{}
		e.lastRefresh = m.now()
		e.authFails = 0
		e.refreshedToken = e.acc.AccessToken
	}
	m.reschedule(e)
	m.mu.Unlock()
	close(f.done)
	m.signalFreed()
	m.notify()
	return err
}

// refreshNow obtains new tokens for snap: from its linked source when that
// holds newer ones, else from Kiro. In a team it runs under the account's
// refresh lock (see doRefresh).
func (m *Manager) refreshNow(ctx context.Context, snap Account, force bool) error {
	now := m.now()
	if src, ok := m.newerLinked(snap, now); ok && (!force || src.AccessToken != snap.AccessToken) {
		if m.tokenUsableAt(src.ExpiresAt, src.AccessToken, now) {
			m.log.Info("accounts: adopted newer tokens from linked file", "account", snap.ID, "file", snap.SourceFile)
			m.metrics.Refreshed(RefreshAdopted)
			return m.adopt(ctx, snap.ID, src)
		}
	}
	toks, err := m.callRefresh(ctx, snap)
	if err == nil {
		m.metrics.Refreshed(RefreshOK)
		return m.storeRefreshed(ctx, snap, toks)
	}
	ke, isKiro := kiro.AsError(err)
	if isKiro && ke.Class == kiro.ClassInvalidGrant {
		m.metrics.Refreshed(RefreshInvalidGrant)
		return m.recoverInvalidGrant(ctx, snap, err)
	}
	m.metrics.Refreshed(RefreshFailed)
	if isKiro && ke.Class == kiro.ClassSuspended {
		m.markSuspended(ctx, snap.ID, err)
		return fmt.Errorf("refresh %s: %w", snap.ID, err)
	}
	m.refreshFailed(ctx, snap.ID, err)
	return fmt.Errorf("refresh %s: %w", snap.ID, err)
}

func (m *Manager) tokenUsableAt(exp time.Time, access string, now time.Time) bool {
	return access != "" && exp.After(now.Add(m.usableMargin()))
}

func (m *Manager) callRefresh(ctx context.Context, a Account) (kiro.Tokens, error) {
	return m.kc.Refresh(ctx, kiro.RefreshRequest{
		AccountID:    a.ID,
		AuthMethod:   a.AuthMethod,
		RefreshToken: a.RefreshToken,
		ClientID:     a.ClientID,
		ClientSecret: a.ClientSecret,
		Region:       a.Region,
		MachineID:    a.MachineID,
		Proxy:        a.Proxy,
	})
}

// storeRefreshed persists new tokens, then writes them back to a linked
// file, then makes them visible: a crash at any point leaves a refresh
// token that works somewhere.
func (m *Manager) storeRefreshed(ctx context.Context, snap Account, t kiro.Tokens) error {
	next := tokenfile.Tokens{
		AccessToken:  t.AccessToken,
		RefreshToken: t.RefreshToken,
		ExpiresAt:    t.ExpiresAt,
		ProfileARN:   t.ProfileARN,
	}
	if next.RefreshToken == "" {
		next.RefreshToken = snap.RefreshToken
	}
	if next.ProfileARN == "" {
		next.ProfileARN = snap.ProfileARN
	}
	if err := m.commitTokens(ctx, snap.ID, next, 0); err != nil {
		return err
	}
	if next.ProfileARN != snap.ProfileARN {
		// A social refresh names the account's current profile, and with
		// it the API region.
		f := factsOf(&snap)
		f.arn, f.apiRegion = next.ProfileARN, kiro.RegionFromARN(next.ProfileARN)
		if err := m.storeFacts(ctx, snap.ID, f); err != nil {
			m.log.Warn("accounts: store the profile a refresh brought", "account", snap.ID, "err", err)
		}
	}
	m.writeBackLinked(ctx, snap, next)
	return nil
}

// commitTokens writes tokens to the database first and to memory after,
// so no token is used before it is stored. A nonzero mod records the
// linked file's time the tokens came from.
func (m *Manager) commitTokens(ctx context.Context, id string, t tokenfile.Tokens, mod int64) error {
	cols := map[string]any{
		"access_token":  t.AccessToken,
		"refresh_token": t.RefreshToken,
		"expires_at":    t.ExpiresAt.UTC(),
		"profile_arn":   t.ProfileARN,
	}
	if t.ClientID != "" {
		cols["client_id"], cols["client_secret"] = t.ClientID, t.ClientSecret
	}
	if mod != 0 {
		cols["source_mod_time"] = mod
	}
	m.mu.Lock()
	e, ok := m.accounts[id]
	clear := ok && (e.acc.Status == StatusNeedsLogin || e.acc.Status == StatusError)
	m.mu.Unlock()
	if clear {
		cols["status"], cols["cooldown_until"], cols["last_error"] = StatusReady, time.Time{}, ""
	}
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	rev, err := m.write(ctx, id, cols)
	if err != nil {
		// A team instance keeps tokens Kiro already issued even when the
		// database is away: a rotated refresh token exists nowhere else.
		if !m.keepUnsaved(id, cols, err) {
			return err
		}
		rev = -1
	}
	m.mu.Lock()
	if e, ok := m.accounts[id]; ok {
		a := &e.acc
		a.AccessToken, a.RefreshToken, a.ExpiresAt, a.ProfileARN = t.AccessToken, t.RefreshToken, t.ExpiresAt, t.ProfileARN
		if t.ClientID != "" {
			a.ClientID, a.ClientSecret = t.ClientID, t.ClientSecret
		}
		if mod != 0 {
			a.SourceModTime = mod
		}
		if clear {
			a.Status, a.CooldownUntil, a.LastError = StatusReady, time.Time{}, ""
		}
		m.noteRevision(e, rev)
		m.reschedule(e)
	}
	m.mu.Unlock()
	m.notify()
	return nil
}

// adopt takes tokens found in the linked source.
func (m *Manager) adopt(ctx context.Context, id string, src tokenfile.Current) error {
	return m.commitTokens(ctx, id, src.Tokens, src.ModTime)
}

// recoverInvalidGrant handles a rejected refresh token. Before declaring
// the account logged out it looks for a newer token: another kirobar
// process (the CLI) may have refreshed and stored one, or the IDE may have
// rotated the token in the linked file.
func (m *Manager) recoverInvalidGrant(ctx context.Context, snap Account, cause error) error {
	var row Account
	if err := m.db.WithContext(ctx).Where("id = ?", snap.ID).Take(&row).Error; err == nil && row.RefreshToken != snap.RefreshToken {
		return m.commitTokens(ctx, snap.ID, tokenfile.Tokens{
			AccessToken: row.AccessToken, RefreshToken: row.RefreshToken, ExpiresAt: row.ExpiresAt, ProfileARN: row.ProfileARN,
		}, 0)
	}
	if src, err := tokenfile.Read(linkOf(snap)); err == nil && src.RefreshToken != "" && src.RefreshToken != snap.RefreshToken {
		m.log.Info("accounts: refresh token was rotated in the linked file; adopting it", "account", snap.ID, "file", snap.SourceFile)
		if err := m.adopt(ctx, snap.ID, src); err != nil {
			return err
		}
		if m.tokenUsableAt(src.ExpiresAt, src.AccessToken, m.now()) {
			return nil
		}
		next := snap
		next.AccessToken, next.RefreshToken, next.ExpiresAt = src.AccessToken, src.RefreshToken, src.ExpiresAt
		if src.ProfileARN != "" {
			next.ProfileARN = src.ProfileARN
		}
		toks, err := m.callRefresh(ctx, next)
		if err == nil {
			return m.storeRefreshed(ctx, next, toks)
		}
		cause = err
	}
	msg := "Kiro rejected the refresh token (invalid_grant): " + reloginHint(&snap)
	if err := m.update(ctx, snap.ID, func(a *Account) map[string]any {
		a.Status, a.LastError = StatusNeedsLogin, msg
		return map[string]any{"status": a.Status, "last_error": msg}
	}); err != nil {
		m.log.Warn("accounts: mark needs_login", "account", snap.ID, "err", err)
	}
	return fmt.Errorf("refresh %s: %s: %w", snap.ID, msg, cause)
}

// refreshFailed records a transient refresh failure and backs off.
func (m *Manager) refreshFailed(ctx context.Context, id string, cause error) {
	now := m.now()
	m.mu.Lock()
	e, ok := m.accounts[id]
	if !ok {
		m.mu.Unlock()
		return
	}
	e.refreshFails++
	backoff := min(30*time.Second<<min(e.refreshFails-1, 5), 10*time.Minute)
	e.refreshRetryAt = now.Add(backoff)
	expired := !m.tokenUsable(&e.acc, now)
	retryAt := e.refreshRetryAt
	m.mu.Unlock()
	msg := "refresh failed: " + cause.Error()
	if err := m.update(ctx, id, func(a *Account) map[string]any {
		a.LastError = msg
		cols := map[string]any{"last_error": msg}
		if expired {
			a.Status, a.CooldownUntil = StatusError, retryAt
			cols["status"], cols["cooldown_until"] = a.Status, retryAt.UTC()
		}
		return cols
	}); err != nil {
		m.log.Warn("accounts: record refresh failure", "account", id, "err", err)
	}
	m.log.Warn("accounts: refresh failed", "account", id, "retry_in", backoff, "err", cause)
}

// RefreshRejected refreshes the token of a lease that Kiro answered with
// "bearer token is invalid". Concurrent requests rejected with the same
// token cause one refresh: when the account's token already differs from
// the rejected one, a refresh has happened and the caller just retries.
//
// An IdC or Builder ID token refused although it is fresh from a refresh
// is one the runtime host does not take (kiro-protocol.md §11.4: refresh,
// then the q host, then disable): the account moves to the q host; refused
// there too, it needs a new sign-in.
func (m *Manager) RefreshRejected(ctx context.Context, l *Lease) error {
	m.mu.Lock()
	e, ok := m.accounts[l.AccountID]
	if !ok {
		m.mu.Unlock()
		return fmt.Errorf("account %s: %w", l.AccountID, ErrNotFound)
	}
	changed := e.acc.AccessToken != l.Credentials.AccessToken && e.refresh == nil
	fresh := e.refreshedToken != "" && e.refreshedToken == l.Credentials.AccessToken
	a := e.acc
	m.mu.Unlock()
	if changed {
		return nil
	}
	if !fresh || a.kind() == kindSocial {
		return m.ensureFresh(ctx, l.AccountID, true, l.Credentials.AccessToken)
	}
	if m.style(&a) == kiro.StyleRuntime {
		f := factsOf(&a)
		f.style = kiro.StyleIDE
		if f.apiRegion == "" {
			f.apiRegion = kiro.APIRegionsFor(a.Region)[0]
		}
		m.log.Info("accounts: the runtime host refuses this account's fresh token; moving it to the q host", "account", l.AccountID)
		return m.storeFacts(ctx, l.AccountID, f)
	}
	msg := "Kiro refuses this account's token on the runtime and the q host even right after a refresh; " + reloginHint(&a)
	if err := m.update(ctx, l.AccountID, setStatus(StatusNeedsLogin, time.Time{}, msg)); err != nil {
		return err
	}
	return fmt.Errorf("account %s: %s", l.AccountID, msg)
}

// Refresh refreshes the named accounts now (all enabled ones when none are
// named), one after another so refreshes never go out in a burst.
func (m *Manager) Refresh(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		for _, v := range m.List() {
			if v.Enabled {
				ids = append(ids, v.ID)
			}
		}
	}
	var errs []error
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := m.ensureFresh(ctx, id, true); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// RefreshExpiring refreshes every account whose token expires within the
// refresh lead and returns how many were refreshed.
func (m *Manager) RefreshExpiring(ctx context.Context) (int, error) {
	var ids []string
	for _, v := range m.List() {
		if v.Status == StatusExpiring {
			ids = append(ids, v.ID)
		}
	}
	n := 0
	var errs []error
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		if err := m.ensureFresh(ctx, id, true); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
