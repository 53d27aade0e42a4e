package tokenfile

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tokensIn reads the access token a JSON token file holds, in either key
// style, straight from the JSON.
func tokensIn(t *testing.T, path string) (access string) {
	t.Helper()
	var obj struct {
		Camel string `json:"accessToken"`
		Snake string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(readFile(t, path)), &obj); err != nil {
		t.Fatal(err)
	}
	return obj.Camel + obj.Snake
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestWriteBack: the write-back's compare-and-swap decisions.
func TestWriteBack(t *testing.T) {
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	base := Tokens{AccessToken: "aoa-base", RefreshToken: "aor-base", ExpiresAt: exp}
	ours := Tokens{AccessToken: "aoa-ours", RefreshToken: "aor-ours", ExpiresAt: exp.Add(time.Hour)}
	file := func(access, refresh string, expires time.Time) string {
		return `{"accessToken":"` + access + `","refreshToken":"` + refresh + `","expiresAt":"` + expires.Format(time.RFC3339) + `","region":"us-east-1"}`
	}
	for _, tc := range []struct {
		name      string
		content   string
		wantOurs  bool   // the file ends up with kirobar's tokens
		wantNewer bool   // the file's own tokens are handed back
		wantKey   string // the key the file keeps its access token under
	}{
		{"unchanged since kirobar read it", file("aoa-base", "aor-base", exp), true, false, `"accessToken"`},
		{"already kirobar's", file("aoa-ours", "aor-ours", exp.Add(time.Hour)), true, false, `"accessToken"`},
		{"the IDE refreshed meanwhile", file("aoa-ide", "aor-ide", exp.Add(30*time.Minute)), false, true, `"accessToken"`},
		{"the IDE refreshed, same refresh token", file("aoa-ide", "aor-base", exp.Add(30*time.Minute)), false, true, `"accessToken"`},
		{"other tokens that are older", file("aoa-old", "aor-old", exp.Add(-time.Hour)), true, false, `"accessToken"`},
		{"kiro-cli's snake_case spelling", `{"access_token":"aoa-base","refresh_token":"aor-base","expires_at":"` + exp.Format(time.RFC3339) + `","region":"us-east-1"}`,
			true, false, `"access_token"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), IDEFile)
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := WriteBack(path, ours, base)
			if err != nil {
				t.Fatal(err)
			}
			access := tokensIn(t, path)
			if (access == ours.AccessToken) != tc.wantOurs || (res.Newer != nil) != tc.wantNewer {
				t.Fatalf("file has %q, newer %+v", access, res.Newer)
			}
			got := readFile(t, path)
			if !strings.Contains(got, tc.wantKey) {
				t.Fatalf("the file lost its key style: %s", got)
			}
			if !tc.wantOurs {
				return
			}
			if !strings.Contains(got, `"region": "us-east-1"`) {
				t.Fatal("the write-back dropped the file's other keys")
			}
			st, err := os.Stat(path)
			if err != nil || st.Mode().Perm() != 0o600 || res.ModTime != st.ModTime().UnixNano() {
				t.Fatalf("written file: mode %v, time %d (recorded %d), %v", st.Mode(), st.ModTime().UnixNano(), res.ModTime, err)
			}
		})
	}
}

// TestReplaceIfUnchanged: the rename happens only while the file still
// holds what the decision was based on.
func TestReplaceIfUnchanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.json")
	if err := os.WriteFile(path, []byte("v1"), 0o600); err != nil {
		t.Fatal(err)
	}
	if ok, err := replaceIfUnchanged(path, []byte("v0"), []byte("mine")); ok || err != nil {
		t.Fatalf("replaced a file that changed: %v %v", ok, err)
	}
	if got := readFile(t, path); got != "v1" {
		t.Fatalf("file %q", got)
	}
	if ok, err := replaceIfUnchanged(path, []byte("v1"), []byte("mine")); !ok || err != nil {
		t.Fatalf("did not replace an unchanged file: %v %v", ok, err)
	}
	if got := readFile(t, path); got != "mine" {
		t.Fatalf("file %q", got)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temp files left behind: %v", entries)
	}
}
