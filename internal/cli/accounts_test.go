package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/accounts/tokenfile"
	kdb "github.com/kirobar/kirobar/internal/db"
	"github.com/kirobar/kirobar/internal/duration"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
	"github.com/kirobar/kirobar/kiro"
)

// world is one accounts test: the fake Kiro on loopback, a kiro client
// pointed at it, a database file and a scratch directory standing in for
// the user's home.
type world struct {
	t      *testing.T
	fake   *kirofake.Server
	kc     *kiro.Client
	dir    string
	dbPath string
	mu     sync.Mutex
	opened []string
}

func newWorld(t *testing.T, fopts kirofake.Options) *world {
	t.Helper()
	w := &world{t: t, dir: t.TempDir()}
	w.dbPath = filepath.Join(w.dir, "kirobar.db")
	fake, err := kirofake.Start(fopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	w.fake = fake
	cfg := kiro.DefaultConfig()
	cfg.APIURL, cfg.IDEURL, cfg.AuthURL, cfg.OIDCURL = fake.URL, fake.URL, fake.URL, fake.URL
	if w.kc, err = kiro.NewClient(cfg, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.kc.CloseIdleConnections)
	return w
}

// db opens the database as a separate process would.
func (w *world) db() *gorm.DB {
	w.t.Helper()
	gdb, err := kdb.Open(w.dbPath)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { _ = kdb.Close(gdb) })
	return gdb
}

// manager is a Manager on its own database handle whose device-login
// waits return at once and whose browser only records the pages.
func (w *world) manager(reload time.Duration) *accounts.Manager {
	w.t.Helper()
	return w.managerWithLog(reload, nil)
}

// managerWithLog is manager with its operational log going to log.
func (w *world) managerWithLog(reload time.Duration, log *slog.Logger) *accounts.Manager {
	w.t.Helper()
	cfg := accounts.DefaultConfig()
	cfg.MinSpacing = 0
	cfg.RefreshSpacing = duration.Duration(time.Millisecond)
	m, err := accounts.NewManager(w.db(), w.kc, cfg, accounts.Options{
		ReloadInterval: reload, UserHome: w.dir, OpenURL: w.open, Log: log,
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return m
}

func (w *world) open(u string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.opened = append(w.opened, u)
	return nil
}

// env is the command environment of a test: buffers and the recording
// browser.
func (w *world) env(out, errw *bytes.Buffer) Env {
	return Env{Stdout: out, Stderr: errw, OpenURL: w.open}
}

// accounts runs `kirobar accounts ARGS` and returns the exit code and
// what it printed.
func (w *world) accounts(m *accounts.Manager, args ...string) (code int, stdout, stderr string) {
	var out, errw bytes.Buffer
	code = Accounts(context.Background(), m, args, w.env(&out, &errw))
	return code, out.String(), errw.String()
}

// token returns a random token of realistic length.
func token(prefix string) string {
	b := make([]byte, 96)
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// fakeAccount registers a social account at the fake whose access token
// expires after ttl.
func (w *world) fakeAccount(id string, ttl time.Duration) kirofake.Account {
	a := kirofake.Account{
		ID: id, AuthMethod: kirofake.AuthSocial,
		RefreshToken: token("aorAAAAA"), AccessToken: token("aoaAAAAA"),
		AccessExpiry: time.Now().Add(ttl), ProfileARN: kirofake.DefaultProfileARN,
	}
	w.fake.AddAccount(a)
	return a
}

// ideFile writes a as the Kiro IDE writes its token file.
func (w *world) ideFile(a kirofake.Account, path string) string {
	w.t.Helper()
	b, err := json.Marshal(map[string]any{
		"accessToken": a.AccessToken, "refreshToken": a.RefreshToken,
		"expiresAt":  a.AccessExpiry.UTC().Format("2006-01-02T15:04:05.000Z"),
		"authMethod": "social", "provider": "Google", "profileArn": a.ProfileARN,
	})
	if err != nil {
		w.t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		w.t.Fatal(err)
	}
	return path
}

// add registers an account at the fake and imports it into m.
func (w *world) add(m *accounts.Manager, id string, ttl time.Duration) accounts.View {
	w.t.Helper()
	a := w.fakeAccount(id, ttl)
	views, err := m.ImportPath(context.Background(), w.ideFile(a, filepath.Join(w.dir, "tokens", id+".json")))
	if err != nil || len(views) != 1 {
		w.t.Fatalf("import %s: %v %v", id, views, err)
	}
	return views[0]
}

// stored reads an account's row, tokens included, from the database.
func (w *world) stored(id string) accounts.Account {
	w.t.Helper()
	var a accounts.Account
	if err := w.db().Where("id = ?", id).Take(&a).Error; err != nil {
		w.t.Fatal(err)
	}
	return a
}

// runManager runs m's scheduler until the test ends.
func runManager(t *testing.T, m *accounts.Manager) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// waitUntil waits until cond holds, re-checking on every change m reports.
func waitUntil(t *testing.T, m *accounts.Manager, what string, cond func() bool) {
	t.Helper()
	ch, unsub := m.Subscribe()
	defer unsub()
	deadline := time.After(15 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ch:
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func viewOf(t *testing.T, m *accounts.Manager, id string) accounts.View {
	t.Helper()
	v, err := m.View(id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAccountsCheckTable(t *testing.T) {
	w := newWorld(t, kirofake.Options{})
	m := w.manager(0)
	w.add(m, "fine", time.Hour)
	w.add(m, "susp", time.Hour)
	full := w.fakeAccount("full", time.Hour)
	full.Used, full.Limit = 50, 50
	w.fake.AddAccount(full)
	if _, err := m.ImportPath(context.Background(), w.ideFile(full, filepath.Join(w.dir, "full.json"))); err != nil {
		t.Fatal(err)
	}
	w.fake.SetSuspended("susp", true)

	code, out, errw := w.accounts(m, "check")
	if code != ExitFailure { // the suspended account fails its check
		t.Fatalf("check exit code %d: %s", code, errw)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "USED/LIMIT") {
		t.Fatalf("check table:\n%s", out)
	}
	for _, want := range []string{"fine@example.com", "KIRO FREE", "0.0/50", "50.0/50", "suspended", "exhausted"} {
		if !strings.Contains(out, want) {
			t.Fatalf("check table lacks %q:\n%s", want, out)
		}
	}
}

func TestAccountsListMasksTokens(t *testing.T) {
	w := newWorld(t, kirofake.Options{})
	m := w.manager(0)
	w.add(m, "a", time.Hour)
	w.add(m, "b", time.Hour)
	secrets := []string{w.fake.Account("a").AccessToken, w.fake.Account("a").RefreshToken, w.fake.Account("b").RefreshToken}

	code, out, errw := w.accounts(m, "list", "--json")
	if code != ExitOK {
		t.Fatalf("list --json: %d %s", code, errw)
	}
	var views []accounts.View
	if err := json.Unmarshal([]byte(out), &views); err != nil {
		t.Fatalf("list --json is not JSON: %v", err)
	}
	if len(views) != 2 || views[0].RefreshToken != accounts.Mask(secrets[1]) || !strings.HasPrefix(views[0].AccessToken, secrets[0][:4]) {
		t.Fatalf("list --json: %+v", views)
	}
	code, table, errw2 := w.accounts(m, "list")
	if code != ExitOK {
		t.Fatalf("list: %d", code)
	}
	if !strings.Contains(table, "STATUS") || !strings.Contains(table, views[1].ID) {
		t.Fatalf("list table:\n%s", table)
	}
	// Where each account is served, and with which profile.
	for _, want := range []string{"KIND", "SERVED", "PROFILE", "social", "runtime us-east-1", "EHGA3GRVQMUK"} {
		if !strings.Contains(table, want) {
			t.Fatalf("list table lacks %q:\n%s", want, table)
		}
	}
	for _, s := range secrets {
		if strings.Contains(out+table, s) || strings.Contains(errw+errw2, s) {
			t.Fatal("a token reached the CLI output")
		}
	}
}

func TestAccountsUsageErrors(t *testing.T) {
	w := newWorld(t, kirofake.Options{})
	m := w.manager(0)
	for _, tc := range []struct {
		args []string
		code int
	}{
		{nil, ExitUsage},
		{[]string{"help"}, ExitOK},
		{[]string{"frobnicate"}, ExitUsage},
		{[]string{"remove"}, ExitUsage},
		{[]string{"remove", "nope"}, ExitFailure},
		{[]string{"add"}, ExitUsage},
		{[]string{"add", "--refresh-token", "short...token"}, ExitFailure},
		{[]string{"set-proxy", "x"}, ExitUsage},
		{[]string{"refresh", "--expiring", "x"}, ExitUsage},
		{[]string{"import", w.dir + "/missing"}, ExitFailure},
		{[]string{"list", "--bogus"}, ExitUsage},
	} {
		if code, _, errw := w.accounts(m, tc.args...); code != tc.code {
			t.Errorf("accounts %v: exit %d, want %d (%s)", tc.args, code, tc.code, errw)
		}
	}
}

func TestAccountsLoginCommand(t *testing.T) {
	w := newWorld(t, kirofake.Options{})
	m := w.manager(0)
	cases := []struct {
		args     []string
		code     int
		contains []string
	}{
		{[]string{"login"}, ExitUsage, []string{"exactly one of"}},
		{[]string{"login", "--google", "--github"}, ExitUsage, []string{"exactly one of"}},
		{[]string{"login", "--idc"}, ExitFailure, []string{"start URL"}},
		{[]string{"login", "--builder-id"}, ExitOK, []string{"enter the code", "waiting for approval", "added "}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errw := w.accounts(m, tc.args...)
			all := out + errw
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, all)
			}
			for _, s := range tc.contains {
				if !strings.Contains(all, s) {
					t.Errorf("output lacks %q:\n%s", s, all)
				}
			}
			for _, a := range m.List() {
				acc := w.stored(a.ID)
				for _, secret := range []string{acc.RefreshToken, acc.AccessToken, acc.ClientSecret} {
					if secret != "" && strings.Contains(all, secret) {
						t.Errorf("output contains a secret")
					}
				}
			}
		})
	}
	// --relogin resolves a prefix and renews in place.
	id := m.List()[0].ID
	code, out, errw := w.accounts(m, "login", "--builder-id", "--relogin", id[:4])
	if code != ExitOK {
		t.Fatalf("exit %d: %s%s", code, out, errw)
	}
	if !strings.Contains(out, "renewed "+id) || len(m.List()) != 1 {
		t.Errorf("output %s; %d accounts", out, len(m.List()))
	}
}

func TestAccountsChangesReachRunningManager(t *testing.T) {
	w := newWorld(t, kirofake.Options{})
	server := w.manager(10 * time.Millisecond)
	runManager(t, server)
	cli := w.manager(0) // a second process on the same database

	a := w.fakeAccount("a", time.Hour)
	views, err := cli.ImportPath(context.Background(), w.ideFile(a, filepath.Join(w.dir, "a.json")))
	if err != nil {
		t.Fatal(err)
	}
	id := views[0].ID
	waitUntil(t, server, "the imported account", func() bool { _, err := server.View(id); return err == nil })

	l, err := server.Acquire(context.Background(), accounts.AcquireRequest{})
	if err != nil {
		t.Fatal(err)
	}
	server.Release(l, accounts.Outcome{Credits: 0.5, InputTokens: 10, OutputTokens: 3})
	waitUntil(t, server, "usage flushed to the database", func() bool { return w.stored(id).Requests == 1 })

	run := func(args ...string) {
		t.Helper()
		if code, _, errw := w.accounts(cli, args...); code != ExitOK {
			t.Fatalf("%v: %d %s", args, code, errw)
		}
	}
	run("disable", id)
	waitUntil(t, server, "the account disabled", func() bool { return viewOf(t, server, id).Status == accounts.StatusDisabled })
	run("enable", id[:4])
	waitUntil(t, server, "the account enabled", func() bool { return viewOf(t, server, id).Status == accounts.StatusReady })

	run("refresh", id)
	fresh := w.fake.Account("a").AccessToken
	waitUntil(t, server, "the CLI's refreshed token", func() bool {
		l, err := server.Acquire(context.Background(), accounts.AcquireRequest{})
		if err != nil {
			return false
		}
		defer server.Release(l, accounts.Outcome{})
		return l.Credentials.AccessToken == fresh
	})
	if v := viewOf(t, server, id); v.Requests < 1 || v.Credits != 0.5 {
		t.Fatalf("counters lost on reload: %+v", v)
	}

	run("set-proxy", id, "socks5://127.0.0.1:1080")
	waitUntil(t, server, "the proxy", func() bool { return viewOf(t, server, id).Proxy == "socks5://127.0.0.1:1080" })
	l, err = server.Acquire(context.Background(), accounts.AcquireRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Credentials.Proxy != "socks5://127.0.0.1:1080" {
		t.Fatal("the lease does not carry the account's proxy")
	}
	server.Release(l, accounts.Outcome{})

	run("remove", id)
	waitUntil(t, server, "the account removed", func() bool { return len(server.List()) == 0 })
}

// TestAccountsAddSaysWhatHappened: only a token Kiro took is "added", on
// the terminal and in the log; a refused one is reported as refused and
// one whose first refresh failed as saved to retry.
func TestAccountsAddSaysWhatHappened(t *testing.T) {
	w := newWorld(t, kirofake.Options{})
	var logs bytes.Buffer
	m := w.managerWithLog(0, slog.New(slog.NewTextHandler(&logs, nil)))
	good := w.fakeAccount("good", time.Hour)
	flaky := w.fakeAccount("flaky", time.Hour)
	w.fake.FailRefreshes("flaky", 1)
	for _, tc := range []struct {
		name, token string
		code        int
		out, err    string
		log         string
	}{
		{"refused", token("aorAAAAA"), ExitFailure, "", "kiro rejected the refresh token; nothing was added", "kiro rejected a pasted refresh token"},
		{"first refresh failed", flaky.RefreshToken, ExitFailure, "", "saved, but its first refresh failed", "its first refresh failed"},
		{"taken", good.RefreshToken, ExitOK, "added ", "", "accounts: added"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs.Reset()
			code, out, errw := w.accounts(m, "add", "--refresh-token", tc.token)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errw, tc.err) {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errw)
			}
			if tc.code != ExitOK && strings.Contains(out+errw, "added ") {
				t.Errorf("a token that was not taken is reported as added:\n%s%s", out, errw)
			}
			if !strings.Contains(logs.String(), tc.log) || (tc.code != ExitOK && strings.Contains(logs.String(), "accounts: added")) {
				t.Errorf("log:\n%s", logs.String())
			}
			if strings.Contains(out+errw+logs.String(), tc.token) {
				t.Error("the refresh token was printed")
			}
		})
	}
	if n := len(m.List()); n != 2 { // good, and flaky kept to retry
		t.Fatalf("%d accounts, want 2", n)
	}
}

// TestAccountsLoginAsks: without a flag, a person at the terminal is
// asked which kind of sign-in, re-asked after a wrong answer, and asked
// for the start URL of IAM Identity Center; without a terminal the flags
// are named instead.
func TestAccountsLoginAsks(t *testing.T) {
	w := newWorld(t, kirofake.Options{})
	m := w.manager(0)
	ide := w.fakeAccount("ide", time.Hour)
	w.ideFile(ide, filepath.Join(w.dir, ".aws", "sso", "cache", tokenfile.IDEFile))
	for _, tc := range []struct {
		name, input string
		code        int
		want        []string
	}{
		{"builder id after a wrong answer", "9\nx\n1\n", ExitOK, []string{"How do you sign in to Kiro?", "Type a number from 1 to 5.", "enter the code", "added "}},
		{"identity center", "2\n\nhttps://example.awsapps.com/start\nus-east-1\n", ExitOK, []string{"Start URL", "added ", "(idc, ready)"}},
		{"import from the IDE", "5\n", ExitOK, []string{"imported ", "(social, ready)"}},
		{"input ended", "", ExitFailure, []string{"no choice made"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errw bytes.Buffer
			env := w.env(&out, &errw)
			env.Stdin, env.Interactive = strings.NewReader(tc.input), true
			code := Accounts(context.Background(), m, []string{"login"}, env)
			all := out.String() + errw.String()
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, all)
			}
			for _, s := range tc.want {
				if !strings.Contains(all, s) {
					t.Errorf("output lacks %q:\n%s", s, all)
				}
			}
		})
	}
	if n := len(m.List()); n != 3 {
		t.Fatalf("%d accounts after three sign-ins, want 3", n)
	}
}

// TestAccountsListEscapes: a label with terminal escapes is shown, not
// obeyed.
func TestAccountsListEscapes(t *testing.T) {
	w := newWorld(t, kirofake.Options{})
	m := w.manager(0)
	a := w.fakeAccount("evil", time.Hour)
	code, out, errw := w.accounts(m, "add", "--refresh-token", a.RefreshToken, "--label", "evil\x1b[2J\x1b]52;c;aGk=\x07\tcell")
	if code != ExitOK {
		t.Fatalf("add: %d %s", code, errw)
	}
	code, list, _ := w.accounts(m, "list")
	if code != ExitOK {
		t.Fatal("list failed")
	}
	for _, s := range []string{out, list} {
		if strings.ContainsAny(s, "\x1b\x07") || !strings.Contains(s, `evil\x1b[2J\x1b]52;c;aGk=\x07\tcell`) {
			t.Fatalf("output:\n%q", s)
		}
	}
	if code, _, errw := w.accounts(m, "remove", "nope\x1b[2J"); code != ExitFailure || strings.Contains(errw, "\x1b") || !strings.Contains(errw, `nope\x1b[2J`) {
		t.Fatalf("error message: %d %q", code, errw)
	}
}
