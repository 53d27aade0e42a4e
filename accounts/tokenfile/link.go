package tokenfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Current is what a linked source holds now: its tokens, and its
// modification time (UnixNano) when they were read.
type Current struct {
	Tokens
	ModTime int64
}

// ModTime returns the linked source's modification time (UnixNano). For a
// kiro-cli store in WAL mode the -wal file changes first, so the later of
// the two counts.
func ModTime(l Link) (int64, error) {
	st, err := os.Stat(l.File)
	if err != nil {
		return 0, fmt.Errorf("stat linked file: %w", err)
	}
	mod := st.ModTime().UnixNano()
	if l.Kind == KindKiroCLI {
		if wal, err := os.Stat(l.File + "-wal"); err == nil && wal.ModTime().UnixNano() > mod {
			mod = wal.ModTime().UnixNano()
		}
	}
	return mod, nil
}

// Read reads the tokens the linked source holds now: the single object
// of a JSON file (with its registration), or the row l.Key of a kiro-cli
// store.
func Read(l Link) (Current, error) {
	if l.File == "" || (l.Kind != KindJSON && l.Kind != KindKiroCLI) {
		return Current{}, errors.New("account has no linked token file")
	}
	mod, err := ModTime(l)
	if err != nil {
		return Current{}, err
	}
	var recs []Record
	if l.Kind == KindKiroCLI {
		recs, err = readKiroCLI(l.File)
	} else {
		recs, err = readJSONFile(l.File)
	}
	if err != nil {
		return Current{}, err
	}
	for _, r := range recs {
		if l.Key == "" || r.Link.Key == l.Key {
			return Current{Tokens: r.Tokens, ModTime: mod}, nil
		}
	}
	return Current{}, fmt.Errorf("linked file %s no longer holds this account", l.File)
}

// Written is what WriteBack did: wrote the file (ModTime), or left it
// holding tokens newer than kirobar's (Newer), which the caller should
// adopt instead.
type Written struct {
	ModTime int64
	Newer   *Current
}

// writeBackAttempts bounds how often a write-back starts over because the
// file changed between reading it and renaming over it.
const writeBackAttempts = 3

// WriteBack writes tokens t into the linked JSON file at path atomically
// (temp file, fsync, rename) with mode 0600, keeping every other key as it
// was and the key style (camelCase or snake_case) the file uses. base is
// what kirobar last knew the file to hold: if the file now holds other
// tokens that expire later (the IDE refreshed meanwhile), they are
// returned as Written.Newer and the file is left alone. The file is read
// again right before the rename, and a change since the first read
// starts the decision over, so the IDE's tokens are never lost to a race.
func WriteBack(path string, t, base Tokens) (Written, error) {
	for range writeBackAttempts {
		data, err := os.ReadFile(path)
		if err != nil {
			return Written{}, fmt.Errorf("read %s: %w", path, err)
		}
		var obj map[string]any
		if err := json.Unmarshal(data, &obj); err != nil {
			return Written{}, fmt.Errorf("decode %s: %w", path, err)
		}
		if cur, ok := fileTokens(obj); ok && movedOn(cur, base, t) {
			mod, err := ModTime(Link{Kind: KindJSON, File: path})
			if err != nil {
				return Written{}, err
			}
			return Written{Newer: &Current{Tokens: cur, ModTime: mod}}, nil
		}
		out, err := withTokens(obj, t)
		if err != nil {
			return Written{}, fmt.Errorf("encode %s: %w", path, err)
		}
		swapped, err := replaceIfUnchanged(path, data, out)
		if err != nil {
			return Written{}, err
		}
		if !swapped {
			continue
		}
		st, err := os.Stat(path)
		if err != nil {
			return Written{}, fmt.Errorf("stat %s: %w", path, err)
		}
		return Written{ModTime: st.ModTime().UnixNano()}, nil
	}
	return Written{}, fmt.Errorf("write %s: the file kept changing while kirobar wrote it", path)
}

// fileTokens reads the tokens of a linked file's object.
func fileTokens(obj map[string]any) (Tokens, bool) {
	r := rawToken(obj)
	t := Tokens{
		AccessToken:  r.str("accessToken", "access_token"),
		RefreshToken: r.str("refreshToken", "refresh_token"),
		ProfileARN:   r.str("profileArn", "profile_arn"),
	}
	exp, err := r.time("expiresAt", "expires_at", "expiration", "expire")
	if err != nil || t.RefreshToken == "" {
		return Tokens{}, false
	}
	t.ExpiresAt = exp
	return t, true
}

// movedOn reports whether the file's tokens cur are neither what kirobar
// last knew (base) nor what it is about to write (ours), and expire later
// than base: someone else refreshed, and their tokens must not be lost.
func movedOn(cur, base, ours Tokens) bool {
	same := func(a, b Tokens) bool { return a.AccessToken == b.AccessToken && a.RefreshToken == b.RefreshToken }
	return !same(cur, base) && !same(cur, ours) && cur.ExpiresAt.After(base.ExpiresAt)
}

// withTokens encodes obj with t's tokens in the key style the file uses.
func withTokens(obj map[string]any, t Tokens) ([]byte, error) {
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
