package accounts

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/kirobar/kirobar/accounts/tokenfile"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
	"github.com/kirobar/kirobar/kiro"
)

// storedRow reads an account straight from the database.
func storedRow(t *testing.T, m *Manager, id string) Account {
	t.Helper()
	var a Account
	if err := m.db.Where("id = ?", id).Take(&a).Error; err != nil {
		t.Fatal(err)
	}
	return a
}

// kiroCLIStore writes a kiro-cli data.sqlite3 with the given auth_kv and
// state rows.
func kiroCLIStore(t testing.TB, path string, authKV, state map[string]string) {
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
	for _, stmt := range []string{
		"CREATE TABLE auth_kv (key TEXT PRIMARY KEY, value TEXT)",
		"CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT)",
	} {
		if err := gdb.Exec(stmt).Error; err != nil {
			t.Fatal(err)
		}
	}
	for table, rows := range map[string]map[string]string{"auth_kv": authKV, "state": state} {
		for k, v := range rows {
			if err := gdb.Exec("INSERT INTO "+table+" (key, value) VALUES (?, ?)", k, v).Error; err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestImportFormats(t *testing.T) {
	exp := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	social := kirofake.Account{ID: "s", RefreshToken: token("aor"), AccessToken: token("aoa"), AccessExpiry: exp, ProfileARN: kirofake.DefaultProfileARN}
	idc := kirofake.Account{ID: "i", AuthMethod: kirofake.AuthIdC, RefreshToken: token("aor"), AccessToken: token("aoa"), AccessExpiry: exp}
	secret := token("secret")

	for _, tc := range []struct {
		name  string
		setup func(e *env) string // returns the path to import
		want  []Account           // fields checked: AuthMethod, RefreshToken, ClientID, ClientSecret, Region, ProfileARN, SourceKind, ExpiresAt
	}{
		{
			name: "IDE cache, social",
			setup: func(e *env) string {
				dir := filepath.Join(e.dir, ".aws", "sso", "cache")
				e.ideFile(social, filepath.Join(dir, tokenfile.IDEFile))
				// the AWS CLI's own SSO logins live here too and must be left alone
				writeJSON(e.t, filepath.Join(dir, "aws-cli.json"), map[string]any{"refreshToken": token("x"), "clientId": "c", "clientSecret": "s", "startUrl": "https://example.awsapps.com/start"})
				return dir
			},
			want: []Account{{AuthMethod: AuthSocial, RefreshToken: social.RefreshToken, ProfileARN: kirofake.DefaultProfileARN, SourceKind: SourceJSON, ExpiresAt: exp}},
		},
		{
			name: "IDE cache, IdC with registration",
			setup: func(e *env) string {
				dir := filepath.Join(e.dir, "cache")
				e.ideFile(idc, filepath.Join(dir, tokenfile.IDEFile))
				writeJSON(e.t, filepath.Join(dir, "hash-i.json"), map[string]any{"clientId": "client-i", "clientSecret": secret, "expiresAt": "2031-01-01T00:00:00Z"})
				return dir
			},
			// A Builder ID (the IDE's provider) has no profile: it gets the
			// placeholder the runtime host takes (kiro-protocol.md §11.1).
			want: []Account{{AuthMethod: AuthIdC, RefreshToken: idc.RefreshToken, ClientID: "client-i", ClientSecret: secret, Region: "us-east-1",
				ProfileARN: kiro.BuilderIDProfileARN, SourceKind: SourceJSON, ExpiresAt: exp}},
		},
		{
			name: "kiro-cli SQLite store",
			setup: func(e *env) string {
				path := filepath.Join(e.dir, "data.sqlite3")
				kiroCLIStore(e.t, path, map[string]string{
					"kirocli:odic:token":               `{"access_token":"` + idc.AccessToken + `","refresh_token":"` + idc.RefreshToken + `","expires_at":"2031-01-02T03:04:05Z","region":"eu-central-1"}`,
					"kirocli:odic:device-registration": `{"client_id":"client-cli","client_secret":"` + secret + `","region":"eu-central-1"}`,
				}, map[string]string{
					"api.codewhisperer.profile": `{"arn":"arn:aws:codewhisperer:eu-central-1:123456789012:profile/ABC"}`,
				})
				return path
			},
			want: []Account{{AuthMethod: AuthIdC, RefreshToken: idc.RefreshToken, ClientID: "client-cli", ClientSecret: secret, Region: "eu-central-1",
				ProfileARN: "arn:aws:codewhisperer:eu-central-1:123456789012:profile/ABC", SourceKind: SourceKiroCLI, ExpiresAt: exp}},
		},
		{
			name: "directory of token files",
			setup: func(e *env) string {
				dir := filepath.Join(e.dir, "tokens")
				e.ideFile(social, filepath.Join(dir, "one.json"))
				writeJSON(e.t, filepath.Join(dir, "two.json"), map[string]any{
					"refresh_token": idc.RefreshToken, "access_token": idc.AccessToken, "expires_at": float64(exp.Unix()),
					"auth_method": "builder-id", "client_id": "client-2", "client_secret": secret,
				})
				writeJSON(e.t, filepath.Join(dir, "notes.json"), map[string]any{"hello": "world"})
				return dir
			},
			want: []Account{
				{AuthMethod: AuthSocial, RefreshToken: social.RefreshToken, ProfileARN: kirofake.DefaultProfileARN, SourceKind: SourceJSON, ExpiresAt: exp},
				{AuthMethod: AuthIdC, RefreshToken: idc.RefreshToken, ClientID: "client-2", ClientSecret: secret, ProfileARN: kiro.BuilderIDProfileARN, SourceKind: SourceJSON, ExpiresAt: exp},
			},
		},
		{
			name: "JSON array",
			setup: func(e *env) string {
				path := filepath.Join(e.dir, "all.json")
				writeJSON(e.t, path, []any{
					map[string]any{"refreshToken": social.RefreshToken, "accessToken": social.AccessToken, "expiresAt": float64(exp.UnixMilli())},
					map[string]any{"refreshToken": idc.RefreshToken, "authMethod": "IdC", "clientId": "c3", "clientSecret": secret, "expiresAt": exp.Format(time.RFC3339)},
				})
				return path
			},
			want: []Account{
				{AuthMethod: AuthSocial, RefreshToken: social.RefreshToken, SourceKind: SourceManual, ExpiresAt: exp},
				{AuthMethod: AuthIdC, RefreshToken: idc.RefreshToken, ClientID: "c3", ClientSecret: secret, SourceKind: SourceManual, ExpiresAt: exp},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, kirofake.Options{}, false)
			m := e.manager(testConfig(), 0)
			views, err := m.ImportPath(context.Background(), tc.setup(e))
			if err != nil {
				t.Fatal(err)
			}
			if len(views) != len(tc.want) {
				t.Fatalf("imported %d accounts, want %d", len(views), len(tc.want))
			}
			for i, want := range tc.want {
				got := storedRow(t, m, views[i].ID)
				if got.AuthMethod != want.AuthMethod || got.RefreshToken != want.RefreshToken || got.ClientID != want.ClientID ||
					got.ClientSecret != want.ClientSecret || got.Region != want.Region || got.ProfileARN != want.ProfileARN ||
					got.SourceKind != want.SourceKind || !got.ExpiresAt.Equal(want.ExpiresAt) {
					t.Fatalf("account %d stored as %+v\nwant %+v", i, redacted(got), redacted(want))
				}
				if len(got.MachineID) != 64 || !got.Enabled || !selectable(views[i].Status) {
					t.Fatalf("account %d: machine id %q enabled %v status %s", i, got.MachineID, got.Enabled, views[i].Status)
				}
			}
		})
	}
}

// redacted hides tokens in failure messages.
func redacted(a Account) Account {
	a.AccessToken, a.RefreshToken, a.ClientSecret = Mask(a.AccessToken), Mask(a.RefreshToken), Mask(a.ClientSecret)
	return a
}

func TestImportTwiceUpdatesInsteadOfDuplicating(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, false)
	m := e.manager(testConfig(), 0)
	a := e.fakeAccount("a", time.Hour)
	path := e.ideFile(a, filepath.Join(e.dir, "cache", tokenfile.IDEFile))
	first, err := m.ImportPath(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	machine := storedRow(t, m, first[0].ID).MachineID

	// The IDE refreshed: same file, newer tokens.
	a.RefreshToken, a.AccessToken, a.AccessExpiry = token("aor"), token("aoa"), a.AccessExpiry.Add(time.Hour)
	e.ideFile(a, path)
	// The same login copied elsewhere is the same account too.
	copyPath := e.ideFile(a, filepath.Join(e.dir, "copy.json"))
	for _, p := range []string{path, copyPath, filepath.Dir(path)} {
		views, err := m.ImportPath(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		if len(views) != 1 || views[0].ID != first[0].ID {
			t.Fatalf("re-import of %s gave %v, want account %s", p, views, first[0].ID)
		}
	}
	if n := len(m.List()); n != 1 {
		t.Fatalf("%d accounts after re-imports, want 1", n)
	}
	got := storedRow(t, m, first[0].ID)
	if got.RefreshToken != a.RefreshToken || got.MachineID != machine {
		t.Fatal("re-import did not take the newer token or changed the machine id")
	}

	// An older copy does not replace newer tokens.
	old := a
	old.RefreshToken, old.AccessExpiry = token("aor"), a.AccessExpiry.Add(-2*time.Hour)
	if _, err := m.ImportPath(context.Background(), e.ideFile(old, path)); err != nil {
		t.Fatal(err)
	}
	if storedRow(t, m, first[0].ID).RefreshToken != a.RefreshToken {
		t.Fatal("an older token file replaced a newer token")
	}
}

func TestImportRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		obj  map[string]any
		want string
	}{
		{"truncated with dots", map[string]any{"refreshToken": "aorAAAAAbcdefgh...xyz", "accessToken": "a"}, "truncated"},
		{"too short", map[string]any{"refreshToken": "aorAAAAAshort"}, "truncated"},
		{"IdC without registration", map[string]any{"refreshToken": token("aor"), "authMethod": "IdC", "clientIdHash": "missing"}, "registration"},
		{"registration only", map[string]any{"clientId": "c", "clientSecret": "s"}, "client registration"},
		{"external IdP", map[string]any{"refreshToken": token("aor"), "authMethod": "external_idp"}, "not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, kirofake.Options{}, false)
			m := e.manager(testConfig(), 0)
			path := filepath.Join(e.dir, "tok.json")
			writeJSON(t, path, tc.obj)
			_, err := m.ImportPath(context.Background(), path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
			if rt, ok := tc.obj["refreshToken"].(string); ok && len(rt) > 12 && strings.Contains(err.Error(), rt) {
				t.Fatal("the error repeats the token")
			}
			if n := len(m.List()); n != 0 {
				t.Fatalf("%d accounts stored", n)
			}
		})
	}
}

func TestAddRefreshToken(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, false)
	m := e.manager(testConfig(), 0)
	a := kirofake.Account{ID: "a", RefreshToken: token("aor")}
	e.fake.AddAccount(a)

	v, err := m.AddRefreshToken(context.Background(), AddRequest{RefreshToken: a.RefreshToken, Label: "work"})
	if err != nil {
		t.Fatal(err)
	}
	if v.Label != "work" || v.Status != StatusReady || e.fake.Stats().Refreshes["a"] != 1 {
		t.Fatalf("added %+v; refreshes %d", v, e.fake.Stats().Refreshes["a"])
	}
	row := storedRow(t, m, v.ID)
	if row.AccessToken != e.fake.Account("a").AccessToken || row.ProfileARN != kirofake.DefaultProfileARN {
		t.Fatal("the first refresh's tokens were not stored")
	}

	_, err = m.AddRefreshToken(context.Background(), AddRequest{RefreshToken: token("aor")})
	if err == nil || !strings.Contains(err.Error(), "nothing was added") {
		t.Fatalf("unknown token: %v", err)
	}
	if _, err := m.AddRefreshToken(context.Background(), AddRequest{RefreshToken: token("aor"), AuthMethod: "idc"}); err == nil {
		t.Fatal("IdC without client accepted")
	}
	if n := len(m.List()); n != 1 {
		t.Fatalf("%d accounts, want 1", n)
	}
}

func TestDefaultImportPathIsIDECache(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, false)
	m := e.manager(testConfig(), 0)
	if got, want := m.DefaultImportPath(), filepath.Join(e.dir, ".aws", "sso", "cache"); got != want {
		t.Fatalf("default import path %s, want %s", got, want)
	}
	if _, err := os.Stat(m.DefaultImportPath()); !os.IsNotExist(err) {
		t.Fatalf("unexpected cache: %v", err)
	}
}
