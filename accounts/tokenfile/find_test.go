package tokenfile

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/kirobar/kirobar/kiro"
)

func writeJSON(t testing.TB, path string, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeKiroCLIStore writes a kiro-cli data.sqlite3 holding the given
// auth_kv and state rows, the two tables kiro-cli keeps its login in.
func writeKiroCLIStore(t testing.TB, path string, authKV, state map[string]string) string {
	t.Helper()
	gdb, err := gorm.Open(sqlite.Open(path), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	for table, rows := range map[string]map[string]string{"auth_kv": authKV, "state": state} {
		if err := gdb.Exec("CREATE TABLE " + table + " (key TEXT PRIMARY KEY, value TEXT)").Error; err != nil {
			t.Fatal(err)
		}
		for k, v := range rows {
			if err := gdb.Exec("INSERT INTO "+table+" (key, value) VALUES (?, ?)", k, v).Error; err != nil {
				t.Fatal(err)
			}
		}
	}
	return path
}

func modTime(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.ModTime().UnixNano()
}

// same compares what a test states about a record; a token is named only
// by its field, never printed.
func same(t *testing.T, i int, got, want Record) {
	t.Helper()
	switch {
	case got.Origin != want.Origin, got.AuthMethod != want.AuthMethod, got.Provider != want.Provider,
		got.Region != want.Region, got.StartURL != want.StartURL, got.Email != want.Email, got.ClientHash != want.ClientHash:
		t.Errorf("record %d: %s %s %s %s %s %s %s\nwant %s %s %s %s %s %s %s", i,
			got.Origin, got.AuthMethod, got.Provider, got.Region, got.StartURL, got.Email, got.ClientHash,
			want.Origin, want.AuthMethod, want.Provider, want.Region, want.StartURL, want.Email, want.ClientHash)
	case got.Tokens.AccessToken != want.Tokens.AccessToken, got.Tokens.RefreshToken != want.Tokens.RefreshToken:
		t.Errorf("record %d: the tokens are not the source's", i)
	case got.Tokens.ClientID != want.Tokens.ClientID, got.Tokens.ClientSecret != want.Tokens.ClientSecret:
		t.Errorf("record %d: client %q, want %q (or the secret differs)", i, got.Tokens.ClientID, want.Tokens.ClientID)
	case got.Tokens.ProfileARN != want.Tokens.ProfileARN, !got.Tokens.ExpiresAt.Equal(want.Tokens.ExpiresAt):
		t.Errorf("record %d: profile %q expiry %v, want %q %v", i, got.Tokens.ProfileARN, got.Tokens.ExpiresAt, want.Tokens.ProfileARN, want.Tokens.ExpiresAt)
	case got.Link != want.Link, got.ModTime != want.ModTime:
		t.Errorf("record %d: link %+v at %d, want %+v at %d", i, got.Link, got.ModTime, want.Link, want.ModTime)
	}
}

func TestFind(t *testing.T) {
	exp := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	const arn = "arn:aws:codewhisperer:us-east-1:699475941385:profile/EHGA3GRVQMUK"
	const euARN = "arn:aws:codewhisperer:eu-central-1:123456789012:profile/ABC"
	ide := func(extra map[string]any) map[string]any {
		obj := map[string]any{"accessToken": "aoa-1", "refreshToken": "aor-1", "expiresAt": "2031-01-02T03:04:05.000Z"}
		for k, v := range extra {
			obj[k] = v
		}
		return obj
	}
	for _, tc := range []struct {
		name string
		// setup writes the source into dir and returns the path to find
		// and the records it must yield (their ModTime is set to the
		// linked file's).
		setup func(t *testing.T, dir string) (string, []Record)
	}{
		{"IDE cache, social; the AWS CLI's own logins left alone", func(t *testing.T, dir string) (string, []Record) {
			path := writeJSON(t, filepath.Join(dir, IDEFile), ide(map[string]any{"authMethod": "social", "provider": "Google", "profileArn": arn}))
			writeJSON(t, filepath.Join(dir, "aws-cli.json"), map[string]any{"refreshToken": "x", "clientId": "c", "clientSecret": "s", "startUrl": "https://example.awsapps.com/start"})
			return dir, []Record{{Origin: path, AuthMethod: kiro.AuthSocial, Provider: "Google",
				Tokens: Tokens{AccessToken: "aoa-1", RefreshToken: "aor-1", ExpiresAt: exp, ProfileARN: arn}, Link: Link{Kind: KindJSON, File: path}}}
		}},
		{"IDE cache, IdC with its registration", func(t *testing.T, dir string) (string, []Record) {
			path := writeJSON(t, filepath.Join(dir, IDEFile), ide(map[string]any{"authMethod": "IdC", "provider": "BuilderId", "clientIdHash": "h1"}))
			writeJSON(t, filepath.Join(dir, "h1.json"), map[string]any{"clientId": "client-1", "clientSecret": "secret-1", "region": "eu-west-1"})
			return path, []Record{{Origin: path, AuthMethod: kiro.AuthIdC, Provider: "BuilderId", Region: "eu-west-1", ClientHash: "h1",
				Tokens: Tokens{AccessToken: "aoa-1", RefreshToken: "aor-1", ExpiresAt: exp, ClientID: "client-1", ClientSecret: "secret-1"},
				Link:   Link{Kind: KindJSON, File: path}}}
		}},
		{"the token's region wins over the registration's", func(t *testing.T, dir string) (string, []Record) {
			path := writeJSON(t, filepath.Join(dir, IDEFile), ide(map[string]any{"authMethod": "IdC", "provider": "Enterprise", "region": "ap-southeast-2",
				"startUrl": "https://acme.awsapps.com/start", "clientIdHash": "h2"}))
			writeJSON(t, filepath.Join(dir, "h2.json"), map[string]any{"client_id": "client-2", "client_secret": "secret-2", "region": "us-east-1"})
			return dir, []Record{{Origin: path, AuthMethod: kiro.AuthIdC, Provider: "Enterprise", Region: "ap-southeast-2", StartURL: "https://acme.awsapps.com/start",
				ClientHash: "h2", Tokens: Tokens{AccessToken: "aoa-1", RefreshToken: "aor-1", ExpiresAt: exp, ClientID: "client-2", ClientSecret: "secret-2"},
				Link: Link{Kind: KindJSON, File: path}}}
		}},
		{"kiro-cli store: IdC token, registration, profile", func(t *testing.T, dir string) (string, []Record) {
			path := writeKiroCLIStore(t, filepath.Join(dir, "data.sqlite3"), map[string]string{
				"kirocli:odic:token":               `{"access_token":"aoa-2","refresh_token":"aor-2","expires_at":"2031-01-02T03:04:05Z","region":"eu-central-1"}`,
				"kirocli:odic:device-registration": `{"client_id":"client-cli","client_secret":"secret-cli","region":"eu-central-1"}`,
			}, map[string]string{"api.codewhisperer.profile": `{"arn":"` + euARN + `"}`})
			return path, []Record{{Origin: path + " kirocli:odic:token", AuthMethod: kiro.AuthIdC, Region: "eu-central-1",
				Tokens: Tokens{AccessToken: "aoa-2", RefreshToken: "aor-2", ExpiresAt: exp, ProfileARN: euARN, ClientID: "client-cli", ClientSecret: "secret-cli"},
				Link:   Link{Kind: KindKiroCLI, File: path, Key: "kirocli:odic:token"}}}
		}},
		{"kiro-cli store: the social token comes first", func(t *testing.T, dir string) (string, []Record) {
			path := writeKiroCLIStore(t, filepath.Join(dir, "data.sqlite3"), map[string]string{
				"kirocli:odic:token":   `{"access_token":"aoa-2","refresh_token":"aor-2","expires_at":"2031-01-02T03:04:05Z"}`,
				"kirocli:social:token": `{"access_token":"aoa-3","refresh_token":"aor-3","expires_at":` + strconv.FormatInt(exp.Unix(), 10) + `,"profile_arn":"` + arn + `"}`,
			}, nil)
			return dir, []Record{{Origin: path + " kirocli:social:token", AuthMethod: kiro.AuthSocial,
				Tokens: Tokens{AccessToken: "aoa-3", RefreshToken: "aor-3", ExpiresAt: exp, ProfileARN: arn},
				Link:   Link{Kind: KindKiroCLI, File: path, Key: "kirocli:social:token"}}}
		}},
		{"a directory of token files; other JSON passed over", func(t *testing.T, dir string) (string, []Record) {
			one := writeJSON(t, filepath.Join(dir, "one.json"), ide(map[string]any{"email": "me@example.com"}))
			two := writeJSON(t, filepath.Join(dir, "two.json"), map[string]any{"refresh_token": "aor-4", "expires_at": float64(exp.Unix()),
				"auth_method": "builder-id", "client_id": "client-4", "client_secret": "secret-4"})
			writeJSON(t, filepath.Join(dir, "notes.json"), map[string]any{"hello": "world"})
			writeJSON(t, filepath.Join(dir, "reg.json"), map[string]any{"clientId": "c", "clientSecret": "s"})
			return dir, []Record{
				{Origin: one, AuthMethod: kiro.AuthSocial, Email: "me@example.com", Tokens: Tokens{AccessToken: "aoa-1", RefreshToken: "aor-1", ExpiresAt: exp},
					Link: Link{Kind: KindJSON, File: one}},
				{Origin: two, AuthMethod: kiro.AuthIdC, Provider: "BuilderId", Tokens: Tokens{RefreshToken: "aor-4", ExpiresAt: exp, ClientID: "client-4", ClientSecret: "secret-4"},
					Link: Link{Kind: KindJSON, File: two}},
			}
		}},
		{"a JSON array is imported unlinked", func(t *testing.T, dir string) (string, []Record) {
			path := writeJSON(t, filepath.Join(dir, "all.json"), []any{
				map[string]any{"refreshToken": "aor-5", "expiresAt": float64(exp.UnixMilli())},
				map[string]any{"refreshToken": "aor-6", "authMethod": "IdC", "clientId": "c6", "clientSecret": "s6", "expiresAt": exp.Format(time.RFC3339)},
			})
			return path, []Record{
				{Origin: path + "[0]", AuthMethod: kiro.AuthSocial, Tokens: Tokens{RefreshToken: "aor-5", ExpiresAt: exp}},
				{Origin: path + "[1]", AuthMethod: kiro.AuthIdC, Tokens: Tokens{RefreshToken: "aor-6", ExpiresAt: exp, ClientID: "c6", ClientSecret: "s6"}},
			}
		}},
		{"an empty directory holds nothing", func(t *testing.T, dir string) (string, []Record) {
			return dir, nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path, want := tc.setup(t, dir)
			got, err := Find(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("found %d records, want %d", len(got), len(want))
			}
			for i := range want {
				if want[i].Link.File != "" {
					want[i].ModTime = modTime(t, want[i].Link.File)
				}
				same(t, i, got[i], want[i])
			}
		})
	}
}

func TestFindRefusals(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string) string
		want  string
	}{
		{"a registration on its own", func(t *testing.T, dir string) string {
			return writeJSON(t, filepath.Join(dir, "h.json"), map[string]any{"clientId": "c", "clientSecret": "s"})
		}, "client registration, not a login"},
		{"an IdC login without its registration", func(t *testing.T, dir string) string {
			return writeJSON(t, filepath.Join(dir, IDEFile), map[string]any{"refreshToken": "aor-secret-token", "authMethod": "IdC", "clientIdHash": "missing"})
		}, "copy missing.json along with it"},
		{"a clientIdHash that leaves the directory", func(t *testing.T, dir string) string {
			outside := filepath.Join(dir, "outside")
			if err := os.Mkdir(outside, 0o700); err != nil {
				t.Fatal(err)
			}
			writeJSON(t, filepath.Join(outside, "reg.json"), map[string]any{"clientId": "c", "clientSecret": "s"})
			cache := filepath.Join(dir, "cache")
			if err := os.Mkdir(cache, 0o700); err != nil {
				t.Fatal(err)
			}
			return writeJSON(t, filepath.Join(cache, IDEFile), map[string]any{"refreshToken": "aor-secret-token", "authMethod": "IdC", "clientIdHash": "../outside/reg"})
		}, "clientIdHash is not a plain file name"},
		{"a registration file that is not one", func(t *testing.T, dir string) string {
			writeJSON(t, filepath.Join(dir, "h.json"), map[string]any{"refreshToken": "aor-other"})
			return writeJSON(t, filepath.Join(dir, IDEFile), map[string]any{"refreshToken": "aor-secret-token", "authMethod": "IdC", "clientIdHash": "h"})
		}, "is not a client registration"},
		{"no refresh token", func(t *testing.T, dir string) string {
			return writeJSON(t, filepath.Join(dir, "t.json"), map[string]any{"accessToken": "aoa-secret-token"})
		}, "has no refreshToken"},
		{"an external identity provider", func(t *testing.T, dir string) string {
			return writeJSON(t, filepath.Join(dir, "t.json"), map[string]any{"refreshToken": "aor-secret-token", "authMethod": "external_idp"})
		}, "not supported"},
		{"an expiry that is not a date", func(t *testing.T, dir string) string {
			return writeJSON(t, filepath.Join(dir, "t.json"), map[string]any{"refreshToken": "aor-secret-token", "expiresAt": "soon"})
		}, `expiry "soon" is not a date`},
		{"not JSON", func(t *testing.T, dir string) string {
			path := filepath.Join(dir, "t.json")
			if err := os.WriteFile(path, []byte(`{"refreshToken": "aor-secret-token"`), 0o600); err != nil {
				t.Fatal(err)
			}
			return path
		}, "decode JSON"},
		{"a kiro-cli store without a login", func(t *testing.T, dir string) string {
			return writeKiroCLIStore(t, filepath.Join(dir, "data.sqlite3"), map[string]string{"other": "{}"}, nil)
		}, "holds no kiro-cli login"},
		{"a kiro-cli token that is not an object", func(t *testing.T, dir string) string {
			return writeKiroCLIStore(t, filepath.Join(dir, "data.sqlite3"), map[string]string{"kirocli:social:token": `["aor-secret-token"]`}, nil)
		}, "not a token object"},
		{"a file that is not there", func(t *testing.T, dir string) string {
			return filepath.Join(dir, "missing")
		}, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := Find(tc.setup(t, t.TempDir()))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("records %d, error %v; want one saying %q", len(recs), err, tc.want)
			}
			if strings.Contains(err.Error(), "secret-token") {
				t.Fatal("the error quotes a token")
			}
		})
	}
}

// TestRead: a linked source is read again for the tokens it holds now.
func TestRead(t *testing.T) {
	dir := t.TempDir()
	path := writeJSON(t, filepath.Join(dir, IDEFile), map[string]any{"accessToken": "aoa-1", "refreshToken": "aor-1", "expiresAt": "2031-01-01T00:00:00Z"})
	recs, err := Find(path)
	if err != nil || len(recs) != 1 {
		t.Fatalf("find: %d %v", len(recs), err)
	}
	writeJSON(t, path, map[string]any{"accessToken": "aoa-2", "refreshToken": "aor-2", "expiresAt": "2031-01-02T00:00:00Z"})
	cur, err := Read(recs[0].Link)
	if err != nil || cur.AccessToken != "aoa-2" || cur.RefreshToken != "aor-2" || cur.ModTime != modTime(t, path) {
		t.Fatalf("read %q at %d: %v", cur.AccessToken, cur.ModTime, err)
	}

	store := writeKiroCLIStore(t, filepath.Join(dir, "data.sqlite3"), map[string]string{
		"kirocli:social:token": `{"access_token":"aoa-3","refresh_token":"aor-3"}`,
	}, nil)
	if cur, err := Read(Link{Kind: KindKiroCLI, File: store, Key: "kirocli:social:token"}); err != nil || cur.RefreshToken != "aor-3" {
		t.Fatalf("read the store: %v", err)
	}
	for _, l := range []Link{
		{Kind: KindKiroCLI, File: store, Key: "kirocli:odic:token"}, // the login moved on to another key
		{Kind: KindJSON, File: filepath.Join(dir, "gone.json")},
		{Kind: "", File: path},
		{Kind: KindJSON},
	} {
		if _, err := Read(l); err == nil {
			t.Errorf("read %+v: no error", l)
		}
	}
}

// TestModTimeSeesTheWAL: kiro-cli's store in WAL mode changes its -wal
// file first; that change counts.
func TestModTimeSeesTheWAL(t *testing.T) {
	dir := t.TempDir()
	store := writeKiroCLIStore(t, filepath.Join(dir, "data.sqlite3"), map[string]string{"kirocli:social:token": `{"refresh_token":"aor"}`}, nil)
	later := time.Now().Add(time.Hour)
	if err := os.WriteFile(store+"-wal", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(store+"-wal", later, later); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		kind string
		want int64
	}{{KindKiroCLI, later.UnixNano()}, {KindJSON, modTime(t, store)}} {
		got, err := ModTime(Link{Kind: tc.kind, File: store})
		if err != nil || got != tc.want {
			t.Errorf("%s: mod time %d, want %d (%v)", tc.kind, got, tc.want, err)
		}
	}
}

// FuzzFind: whatever a token file and the registration beside it hold,
// Find either refuses them or yields records that carry a refresh token,
// a canonical auth method and the link the file's shape calls for; it
// never panics. The first input is also read as a file on its own, which
// reaches the kiro-cli reader when it starts as SQLite does.
func FuzzFind(f *testing.F) {
	f.Add([]byte(`{"accessToken":"a","refreshToken":"r","expiresAt":"2026-01-01T10:00:00.000Z","authMethod":"social","provider":"Google"}`), []byte(`{}`))
	f.Add([]byte(`{"refreshToken":"r","authMethod":"IdC","provider":"BuilderId","clientIdHash":"reg"}`), []byte(`{"clientId":"c","clientSecret":"s","region":"eu-west-1"}`))
	f.Add([]byte(`{"refreshToken":"r","authMethod":"IdC","clientIdHash":"reg"}`), []byte(`[{"clientId":"c","clientSecret":"s"},{}]`))
	f.Add([]byte(`{"refreshToken":"r","clientIdHash":"../reg"}`), []byte(`{"clientId":"c","clientSecret":"s"}`))
	f.Add([]byte(`[{"refresh_token":"r","expires_at":1767261600},{"refreshToken":"s","authType":"sso","clientIdHash":"reg"}]`), []byte(`{"client_id":"c","client_secret":"s"}`))
	f.Add([]byte(sqliteMagic+"not really a database"), []byte(nil))
	store := writeKiroCLIStore(f, filepath.Join(f.TempDir(), "data.sqlite3"), map[string]string{
		"kirocli:odic:token":               `{"access_token":"a","refresh_token":"r","expires_at":"2031-01-02T03:04:05Z"}`,
		"kirocli:odic:device-registration": `{"client_id":"c","client_secret":"s"}`,
	}, map[string]string{"api.codewhisperer.profile": `{"arn":"arn:aws:codewhisperer:eu-central-1:123456789012:profile/ABC"}`})
	db, err := os.ReadFile(store)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(db, []byte(nil))
	f.Fuzz(func(t *testing.T, login, reg []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, IDEFile)
		if err := os.WriteFile(path, login, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "reg.json"), reg, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, at := range []string{dir, path} {
			recs, err := Find(at)
			if err != nil {
				continue
			}
			for i, r := range recs {
				if r.Tokens.RefreshToken == "" && r.Link.Kind != KindKiroCLI {
					t.Fatalf("%s: record %d has no refresh token", at, i)
				}
				if r.AuthMethod != kiro.AuthSocial && r.AuthMethod != kiro.AuthIdC {
					t.Fatalf("%s: record %d auth method %q", at, i, r.AuthMethod)
				}
				if r.AuthMethod == kiro.AuthIdC && r.ClientHash != "" && r.Tokens.ClientID == "" {
					t.Fatalf("%s: record %d is an IdC login without its registration", at, i)
				}
				switch r.Link.Kind {
				case KindJSON:
					if len(recs) != 1 || r.Link.File != path || r.ModTime == 0 {
						t.Fatalf("%s: record %d linked as %+v among %d", at, i, r.Link, len(recs))
					}
				case KindKiroCLI:
					if len(recs) != 1 || r.Link.File != path || r.Link.Key == "" {
						t.Fatalf("%s: record %d linked as %+v", at, i, r.Link)
					}
				case "":
					if len(recs) < 2 || r.ModTime != 0 {
						t.Fatalf("%s: record %d of %d is not linked", at, i, len(recs))
					}
				default:
					t.Fatalf("%s: record %d link kind %q", at, i, r.Link.Kind)
				}
			}
		}
	})
}
