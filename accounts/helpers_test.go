package accounts

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kirobar/kirobar/internal/db"
	"github.com/kirobar/kirobar/internal/duration"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
	"github.com/kirobar/kirobar/kiro"
)

// clock is an injectable clock that moves only when told to.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().UTC().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is one test's world: a fake Kiro on loopback, a kiro client pointed
// at it, a database file and a scratch directory.
type env struct {
	t      testing.TB
	fake   *kirofake.Server
	kc     *kiro.Client
	clock  *clock
	dbPath string
	dir    string
	// url, when set, is a shared PostgreSQL database every manager of
	// the env opens instead of dbPath, as a team's instances do.
	url string
}

func newEnv(t testing.TB, fopts kirofake.Options, realClock bool) *env {
	t.Helper()
	return newEnvURLs(t, fopts, realClock, false)
}

// newHostEnv is newEnv with URLs that name host and region at the fake
// (kirofake.Server.HostURLs), so it applies each host's and region's rules.
func newHostEnv(t *testing.T, fopts kirofake.Options) *env {
	t.Helper()
	return newEnvURLs(t, fopts, false, true)
}

func newEnvURLs(t testing.TB, fopts kirofake.Options, realClock, hosts bool) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir()}
	e.dbPath = filepath.Join(e.dir, "kirobar.db")
	if !realClock {
		e.clock = newClock()
		fopts.Clock = e.clock.Now
	}
	fake, err := kirofake.Start(fopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	e.fake = fake
	cfg := kiro.DefaultConfig()
	cfg.APIURL, cfg.IDEURL, cfg.AuthURL, cfg.OIDCURL = fake.URL, fake.URL, fake.URL, fake.URL
	if hosts {
		u := fake.HostURLs()
		cfg.APIURL, cfg.IDEURL, cfg.AuthURL, cfg.OIDCURL = u.API, u.IDE, u.Auth, u.OIDC
	}
	kc, err := kiro.NewClient(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.CloseIdleConnections)
	e.kc = kc
	return e
}

func (e *env) now() time.Time {
	if e.clock == nil {
		return time.Now()
	}
	return e.clock.Now()
}

// testConfig is the default pool configuration without waits.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.MinSpacing = 0
	cfg.RefreshSpacing = duration.Duration(time.Millisecond)
	return cfg
}

// manager opens its own database handle, as a separate process would.
func (e *env) manager(cfg Config, reload time.Duration) *Manager {
	e.t.Helper()
	gdb, err := db.OpenStore(db.Config{URL: e.url}, e.dbPath)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = db.Close(gdb) })
	opts := Options{ReloadInterval: reload, UserHome: e.dir, StoreURL: e.url}
	if e.clock != nil {
		opts.Now = e.clock.Now
	}
	m, err := NewManager(gdb, e.kc, cfg, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// run runs m.Run until the test ends.
func run(t *testing.T, m *Manager) {
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

// token returns a random token of realistic length.
func token(prefix string) string {
	b := make([]byte, 96)
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// fakeAccount registers a social account at the fake whose access token
// expires after ttl.
func (e *env) fakeAccount(id string, ttl time.Duration) kirofake.Account {
	a := kirofake.Account{
		ID: id, AuthMethod: kirofake.AuthSocial,
		RefreshToken: token("aorAAAAA"), AccessToken: token("aoaAAAAA"),
		AccessExpiry: e.now().Add(ttl), ProfileARN: kirofake.DefaultProfileARN,
	}
	e.fake.AddAccount(a)
	return a
}

// ideFile writes a as the Kiro IDE writes its token file and returns the
// file's path.
func (e *env) ideFile(a kirofake.Account, path string) string {
	e.t.Helper()
	obj := map[string]any{
		"accessToken": a.AccessToken, "refreshToken": a.RefreshToken,
		"expiresAt":  a.AccessExpiry.UTC().Format("2006-01-02T15:04:05.000Z"),
		"authMethod": "social", "provider": "Google", "profileArn": a.ProfileARN,
	}
	if a.AuthMethod == kirofake.AuthIdC {
		obj["authMethod"], obj["provider"], obj["region"] = "IdC", "BuilderId", "us-east-1"
		obj["clientIdHash"] = "hash-" + a.ID
		delete(obj, "profileArn")
	}
	writeJSON(e.t, path, obj)
	return path
}

func writeJSON(t testing.TB, path string, v any) {
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
}

// add registers an account at the fake and imports it into m from its own
// token file. Accounts added one after another are created in that order.
func (e *env) add(m *Manager, id string, ttl time.Duration) View {
	e.t.Helper()
	a := e.fakeAccount(id, ttl)
	views, err := m.ImportPath(context.Background(), e.ideFile(a, filepath.Join(e.dir, "tokens", id+".json")))
	if err != nil || len(views) != 1 {
		e.t.Fatalf("import %s: %v %v", id, views, err)
	}
	if e.clock != nil {
		e.clock.Advance(time.Second) // distinct creation times keep the order stable
	}
	return views[0]
}

const testState = `{"chatTriggerType":"MANUAL","conversationId":"0b4445e1-f5be-49e1-87ce-62bbc28ad705",` +
	`"currentMessage":{"userInputMessage":{"content":"hi","modelId":"claude-sonnet-4.5","origin":"AI_EDITOR"}}}`

// send makes a real generation call with the lease and returns its error.
func (e *env) send(l *Lease) error {
	resp, err := e.kc.Send(context.Background(), l.Credentials, []byte(testState))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// waitFor waits until cond holds, re-checking on every change m reports.
func waitFor(t *testing.T, m *Manager, what string, cond func() bool) {
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

// viewOf returns one account's view or fails.
func viewOf(t *testing.T, m *Manager, id string) View {
	t.Helper()
	v, err := m.View(id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// acquire acquires or fails.
func acquire(t *testing.T, m *Manager, r AcquireRequest) *Lease {
	t.Helper()
	l, err := m.Acquire(context.Background(), r)
	if err != nil {
		t.Fatalf("acquire: %v", err)
	}
	return l
}
