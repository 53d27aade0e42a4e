package accounts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// linkedTokens are the tokens currently in an account's source, with the
// source's modification time when they were read.
type linkedTokens struct {
	tokenSet
	modTime int64
}

// statLinked returns the source's modification time (UnixNano). For a
// SQLite store in WAL mode the -wal file changes first, so the later of
// the two counts.
func statLinked(a Account) (int64, error) {
	st, err := os.Stat(a.SourceFile)
	if err != nil {
		return 0, fmt.Errorf("stat linked file: %w", err)
	}
	mod := st.ModTime().UnixNano()
	if a.SourceKind == SourceKiroCLI {
		if wal, err := os.Stat(a.SourceFile + "-wal"); err == nil && wal.ModTime().UnixNano() > mod {
			mod = wal.ModTime().UnixNano()
		}
	}
	return mod, nil
}

// readLinked reads the tokens in the account's linked source.
func readLinked(a Account) (linkedTokens, error) {
	if a.SourceFile == "" || (a.SourceKind != SourceJSON && a.SourceKind != SourceKiroCLI) {
		return linkedTokens{}, errors.New("account has no linked token file")
	}
	mod, err := statLinked(a)
	if err != nil {
		return linkedTokens{}, err
	}
	var cands []candidate
	if a.SourceKind == SourceKiroCLI {
		cands, err = readKiroCLI(a.SourceFile)
	} else {
		cands, err = readJSONFile(a.SourceFile)
	}
	if err != nil {
		return linkedTokens{}, err
	}
	for _, c := range cands {
		if a.SourceKey == "" || c.sourceKey == a.SourceKey {
			return linkedTokens{tokenSet: c.tokens, modTime: mod}, nil
		}
	}
	return linkedTokens{}, fmt.Errorf("linked file %s no longer holds this account", a.SourceFile)
}

// newerLinked returns the linked source's tokens when the source changed
// since kirobar last read or wrote it and holds a later expiry than snap:
// the IDE (or kiro-cli) refreshed first.
func (m *Manager) newerLinked(snap Account, now time.Time) (linkedTokens, bool) {
	if snap.SourceFile == "" || (snap.SourceKind != SourceJSON && snap.SourceKind != SourceKiroCLI) {
		return linkedTokens{}, false
	}
	mod, err := statLinked(snap)
	if err != nil || mod == snap.SourceModTime {
		return linkedTokens{}, false
	}
	src, err := readLinked(snap)
	if err != nil {
		m.log.Warn("accounts: read linked file", "account", snap.ID, "file", snap.SourceFile, "err", err)
		return linkedTokens{}, false
	}
	if src.RefreshToken == "" || (src.AccessToken == snap.AccessToken && src.RefreshToken == snap.RefreshToken) {
		return linkedTokens{}, false
	}
	if !src.ExpiresAt.After(snap.ExpiresAt) {
		return linkedTokens{}, false
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
// again just before the rename, and when the file moved on to newer
// tokens kirobar adopts those instead of overwriting them.
func (m *Manager) writeBackLinked(ctx context.Context, snap Account, next tokenSet) {
	if snap.SourceKind != SourceJSON || snap.SourceFile == "" {
		return
	}
	base := tokenSet{AccessToken: snap.AccessToken, RefreshToken: snap.RefreshToken, ExpiresAt: snap.ExpiresAt}
	res, err := writeBackJSON(snap.SourceFile, next, base)
	if err != nil {
		m.log.Warn("accounts: write refreshed tokens back to linked file", "account", snap.ID, "file", snap.SourceFile, "err", err)
		return
	}
	if res.newer != nil {
		if !m.tokenUsableAt(res.newer.ExpiresAt, res.newer.AccessToken, m.now()) {
			m.log.Warn("accounts: linked file changed during a refresh; left as it is", "account", snap.ID, "file", snap.SourceFile)
			return
		}
		m.log.Info("accounts: linked file got newer tokens during a refresh; adopting them instead of overwriting them", "account", snap.ID, "file", snap.SourceFile)
		if err := m.adopt(ctx, snap.ID, *res.newer); err != nil {
			m.log.Warn("accounts: adopt linked tokens", "account", snap.ID, "err", err)
		}
		return
	}
	if err := m.update(ctx, snap.ID, func(a *Account) map[string]any {
		a.SourceModTime = res.modTime
		return map[string]any{"source_mod_time": res.modTime}
	}); err != nil {
		m.log.Warn("accounts: record linked file time", "account", snap.ID, "err", err)
	}
}

// writeBack is what writeBackJSON did: wrote the file (modTime), or left
// it holding newer tokens than kirobar's (newer).
type writeBack struct {
	modTime int64
	newer   *linkedTokens
}

// writeBackAttempts bounds how often a write-back starts over because the
// file changed between reading it and renaming over it.
const writeBackAttempts = 3

// writeBackJSON writes tokens into the linked JSON file atomically (temp
// file, fsync, rename) with mode 0600, keeping every other key as it was
// and the key style (camelCase or snake_case) the file uses. base is what
// kirobar last knew the file to hold: if the file now holds other tokens
// that expire later (the IDE refreshed meanwhile), they are returned and
// the file is left alone. The file is read again right before the rename,
// and a change since the first read starts the decision over.
func writeBackJSON(path string, t, base tokenSet) (writeBack, error) {
	for range writeBackAttempts {
		data, err := os.ReadFile(path)
		if err != nil {
			return writeBack{}, fmt.Errorf("read %s: %w", path, err)
		}
		var obj map[string]any
		if err := json.Unmarshal(data, &obj); err != nil {
			return writeBack{}, fmt.Errorf("decode %s: %w", path, err)
		}
		if cur, ok := fileTokenSet(obj); ok && movedOn(cur, base, t) {
			mod, err := statLinked(Account{SourceFile: path, SourceKind: SourceJSON})
			if err != nil {
				return writeBack{}, err
			}
			return writeBack{newer: &linkedTokens{tokenSet: cur, modTime: mod}}, nil
		}
		out, err := withTokens(obj, t)
		if err != nil {
			return writeBack{}, fmt.Errorf("encode %s: %w", path, err)
		}
		swapped, err := replaceIfUnchanged(path, data, out)
		if err != nil {
			return writeBack{}, err
		}
		if !swapped {
			continue
		}
		st, err := os.Stat(path)
		if err != nil {
			return writeBack{}, fmt.Errorf("stat %s: %w", path, err)
		}
		return writeBack{modTime: st.ModTime().UnixNano()}, nil
	}
	return writeBack{}, fmt.Errorf("write %s: the file kept changing while kirobar wrote it", path)
}

// fileTokenSet reads the tokens of a linked file's object.
func fileTokenSet(obj map[string]any) (tokenSet, bool) {
	r := rawToken(obj)
	t := tokenSet{
		AccessToken:  r.str("accessToken", "access_token"),
		RefreshToken: r.str("refreshToken", "refresh_token"),
		ProfileARN:   r.str("profileArn", "profile_arn"),
	}
	exp, err := r.time("expiresAt", "expires_at", "expiration", "expire")
	if err != nil || t.RefreshToken == "" {
		return tokenSet{}, false
	}
	t.ExpiresAt = exp
	return t, true
}

// movedOn reports whether the file's tokens cur are neither what kirobar
// last knew (base) nor what it is about to write (ours), and expire later
// than base: someone else refreshed, and their tokens must not be lost.
func movedOn(cur, base, ours tokenSet) bool {
	same := func(a, b tokenSet) bool { return a.AccessToken == b.AccessToken && a.RefreshToken == b.RefreshToken }
	return !same(cur, base) && !same(cur, ours) && cur.ExpiresAt.After(base.ExpiresAt)
}

// withTokens encodes obj with t's tokens in the key style the file uses.
func withTokens(obj map[string]any, t tokenSet) ([]byte, error) {
	snake := rawToken(obj).has("refresh_token") && !rawToken(obj).has("refreshToken")
	key := func(camel, sn string) string {
		if snake {
			return sn
		}
		return camel
	}
	obj[key("accessToken", "access_token")] = t.AccessToken
	obj[key("refreshToken", "refresh_token")] = t.RefreshToken
	obj[key("expiresAt", "expires_at")] = t.ExpiresAt.UTC().Format("2006-01-02T15:04:05.000Z")
	if t.ProfileARN != "" && rawToken(obj).has("profileArn", "profile_arn") {
		obj[key("profileArn", "profile_arn")] = t.ProfileARN
	}
	return json.MarshalIndent(obj, "", "  ")
}

// replaceIfUnchanged replaces path with data so a reader (the IDE) sees
// the old or the new file, never half of one, provided path still holds
// old when the new file is ready: it reads path again right before the
// rename and reports false, writing nothing, when it changed.
func replaceIfUnchanged(path string, old, data []byte) (bool, error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".kirobar-*")
	if err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	name := tmp.Name()
	cleanup := func(err error) (bool, error) {
		_ = tmp.Close()
		_ = os.Remove(name)
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		return cleanup(err)
	}
	if _, err := tmp.Write(data); err != nil {
		return cleanup(err)
	}
	if err := tmp.Sync(); err != nil {
		return cleanup(err)
	}
	if err := tmp.Close(); err != nil {
		return cleanup(err)
	}
	now, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(now, old) {
		_ = os.Remove(name)
		if err != nil {
			return false, fmt.Errorf("read %s: %w", path, err)
		}
		return false, nil
	}
	if err := os.Rename(name, path); err != nil {
		_ = os.Remove(name)
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	return true, nil
}
