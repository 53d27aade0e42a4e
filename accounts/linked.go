package accounts

import (
	"context"
	"time"

	"github.com/kirobar/kirobar/accounts/tokenfile"
)

// linkOf is the source account a stays linked to; the zero Link when it
// is not linked (a sign-in, a pasted token).
func linkOf(a Account) tokenfile.Link {
	if a.SourceFile == "" || (a.SourceKind != SourceJSON && a.SourceKind != SourceKiroCLI) {
		return tokenfile.Link{}
	}
	return tokenfile.Link{Kind: a.SourceKind, File: a.SourceFile, Key: a.SourceKey}
}

// newerLinked returns the linked source's tokens when the source changed
// since kirobar last read or wrote it and holds a later expiry than snap:
// the IDE (or kiro-cli) refreshed first.
func (m *Manager) newerLinked(snap Account, now time.Time) (tokenfile.Current, bool) {
	link := linkOf(snap)
	if link.Kind == "" {
		return tokenfile.Current{}, false
	}
	mod, err := tokenfile.ModTime(link)
	if err != nil || mod == snap.SourceModTime {
		return tokenfile.Current{}, false
	}
	src, err := tokenfile.Read(link)
	if err != nil {
		m.log.Warn("accounts: read linked file", "account", snap.ID, "file", snap.SourceFile, "err", err)
		return tokenfile.Current{}, false
	}
	if src.RefreshToken == "" || (src.AccessToken == snap.AccessToken && src.RefreshToken == snap.RefreshToken) {
		return tokenfile.Current{}, false
	}
	if !src.ExpiresAt.After(snap.ExpiresAt) {
		return tokenfile.Current{}, false
	}
	return src, true
}

// watchLinked adopts newer tokens from linked files that changed, so an
// account the IDE keeps refreshing stays healthy without kirobar spending
// the IDE's one-time refresh token.
func (m *Manager) watchLinked(ctx context.Context) {
	now := m.now()
	m.mu.Lock()
	var snaps []Account
	for _, e := range m.accounts {
		if e.acc.SourceFile != "" && e.refresh == nil {
			snaps = append(snaps, e.acc)
		}
	}
	m.mu.Unlock()
	for _, snap := range snaps {
		src, ok := m.newerLinked(snap, now)
		if !ok {
			continue
		}
		m.log.Info("accounts: linked file has newer tokens; adopting them", "account", snap.ID, "file", snap.SourceFile)
		if err := m.adopt(ctx, snap.ID, src); err != nil {
			m.log.Warn("accounts: adopt linked tokens", "account", snap.ID, "err", err)
		}
	}
}

// writeBackLinked writes refreshed tokens back to the account's linked
// JSON file, so the IDE keeps working with the refresh token kirobar now
// holds. The file was checked before the refresh call, but the IDE may
// have refreshed during it: the write is a compare-and-swap that looks
// again just before the rename (tokenfile.WriteBack), and when the file
// moved on to newer tokens kirobar adopts those instead of overwriting
// them.
func (m *Manager) writeBackLinked(ctx context.Context, snap Account, next tokenfile.Tokens) {
	if snap.SourceKind != SourceJSON || snap.SourceFile == "" {
		return
	}
	base := tokenfile.Tokens{AccessToken: snap.AccessToken, RefreshToken: snap.RefreshToken, ExpiresAt: snap.ExpiresAt}
	res, err := tokenfile.WriteBack(snap.SourceFile, next, base)
	if err != nil {
		m.log.Warn("accounts: write refreshed tokens back to linked file", "account", snap.ID, "file", snap.SourceFile, "err", err)
		return
	}
	if res.Newer != nil {
		if !m.tokenUsableAt(res.Newer.ExpiresAt, res.Newer.AccessToken, m.now()) {
			m.log.Warn("accounts: linked file changed during a refresh; left as it is", "account", snap.ID, "file", snap.SourceFile)
			return
		}
		m.log.Info("accounts: linked file got newer tokens during a refresh; adopting them instead of overwriting them", "account", snap.ID, "file", snap.SourceFile)
		if err := m.adopt(ctx, snap.ID, *res.Newer); err != nil {
			m.log.Warn("accounts: adopt linked tokens", "account", snap.ID, "err", err)
		}
		return
	}
	if err := m.update(ctx, snap.ID, func(a *Account) map[string]any {
		a.SourceModTime = res.ModTime
		return map[string]any{"source_mod_time": res.ModTime}
	}); err != nil {
		m.log.Warn("accounts: record linked file time", "account", snap.ID, "err", err)
	}
}
