package accounts

import (
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

// writeBackJSON writes tokens into the linked JSON file atomically (temp
// file, fsync, rename) with mode 0600, keeping every other key as it was
// and the key style (camelCase or snake_case) the file uses. It returns
// the file's new modification time.
func writeBackJSON(path string, t tokenSet) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	var obj map[string]any
	if err := json.Unmarshal(data, &obj); err != nil {
		return 0, fmt.Errorf("decode %s: %w", path, err)
	}
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
	out, err := json.MarshalIndent(obj, "", "  ")
	if err != nil {
		return 0, fmt.Errorf("encode %s: %w", path, err)
	}
	if err := writeFileAtomic(path, out); err != nil {
		return 0, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("stat %s: %w", path, err)
	}
	return st.ModTime().UnixNano(), nil
}

// writeFileAtomic replaces path with data so a reader (the IDE) sees the
// old or the new file, never half of one.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".kirobar-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	name := tmp.Name()
	cleanup := func(err error) error {
		_ = tmp.Close()
		_ = os.Remove(name)
		return fmt.Errorf("write %s: %w", path, err)
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
	if err := os.Rename(name, path); err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
