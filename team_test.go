package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kirobar/kirobar/internal/testkit/kirofake"
	"github.com/kirobar/kirobar/internal/testkit/pgtest"
)

// teamRig is a team gateway under test: real `kirobar serve` processes, each
// with its own home, sharing one PostgreSQL database and one fake Kiro.
type teamRig struct {
	t       *testing.T
	url     string // the shared database
	fake    *kirofake.Server
	key     string
	extra   string // more config.toml, appended to every member's
	members []*teamMember
}

type teamMember struct {
	name string
	home string
	addr string
	proc *served
}

const teamKey = "kb-team-client-key-0123456789abcdef"

func newTeam(t *testing.T, url string, fake *kirofake.Server, n int, extra string) *teamRig {
	t.Helper()
	tm := &teamRig{t: t, url: url, fake: fake, key: teamKey, extra: extra}
	for i := range n {
		m := &teamMember{name: fmt.Sprintf("gw%d", i+1), home: filepath.Join(t.TempDir(), "home"), addr: freePort(t)}
		tm.writeConfig(m)
		tm.members = append(tm.members, m)
	}
	return tm
}

func (tm *teamRig) writeConfig(m *teamMember) {
	tm.t.Helper()
	cfg := fmt.Sprintf(`[server]
listen = %q
api_keys = [%q]
ping_interval = "200ms"
shutdown_grace = "3s"
[kiro]
api_url = %q
ide_url = %q
auth_url = %q
oidc_url = %q
[store]
instance = %q
[tray]
enabled = false
`, m.addr, tm.key, tm.fake.URL, tm.fake.URL, tm.fake.URL, tm.fake.URL, m.name) + tm.extra
	if err := os.MkdirAll(m.home, 0o700); err != nil {
		tm.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(m.home, "config.toml"), []byte(cfg), 0o600); err != nil {
		tm.t.Fatal(err)
	}
}

// env is what every member and every CLI run of the team gets: the shared
// database from $KIROBAR_DATABASE_URL.
func (tm *teamRig) env() []string { return []string{"KIROBAR_DATABASE_URL=" + tm.url} }

// start runs every member at once (their migrations race) and waits until
// all answer /health.
func (tm *teamRig) start() {
	tm.t.Helper()
	for _, m := range tm.members {
		m.proc = startServe(tm.t, m.home, tm.env()...)
	}
	for _, m := range tm.members {
		waitHealthy(tm.t, "http://"+m.addr)
	}
}

// cli runs a kirobar command against the shared store from a home of its
// own, as an operator's laptop would.
func (tm *teamRig) cli(args ...string) string {
	tm.t.Helper()
	home := filepath.Join(tm.t.TempDir(), "operator")
	if _, err := os.Stat(home); err != nil {
		m := &teamMember{name: "operator", home: home, addr: freePort(tm.t)}
		tm.writeConfig(m)
	}
	cmd := exec.Command(kirobarBin, append([]string{"--home", home}, args...)...)
	cmd.Env = append(os.Environ(), append([]string{"KIROBAR_HOME=", "HOME=" + tm.t.TempDir()}, tm.env()...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tm.t.Fatalf("kirobar %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

type health struct {
	Status   string `json:"status"`
	Accounts struct {
		Ready int `json:"ready"`
		Total int `json:"total"`
	} `json:"accounts"`
}

func (m *teamMember) health(t *testing.T) health {
	t.Helper()
	resp, err := http.Get("http://" + m.addr + "/health")
	if err != nil {
		t.Fatalf("%s /health: %v", m.name, err)
	}
	defer resp.Body.Close()
	var h health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("%s /health: %v", m.name, err)
	}
	return h
}

// everywhere waits until cond holds on every member's /health, and
// returns how long that took.
func (tm *teamRig) everywhere(what string, within time.Duration, cond func(health) bool) time.Duration {
	tm.t.Helper()
	start := time.Now()
	for {
		ok := true
		for _, m := range tm.members {
			if m.proc == nil {
				continue
			}
			if !cond(m.health(tm.t)) {
				ok = false
				break
			}
		}
		if ok {
			return time.Since(start)
		}
		if time.Since(start) > within {
			tm.t.Fatalf("%s did not reach every instance within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// metrics reads a member's /metrics with the client key.
func (m *teamMember) metrics(t *testing.T, key string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+m.addr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s /metrics: %v", m.name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s /metrics: HTTP %d %s", m.name, resp.StatusCode, b)
	}
	return string(b)
}

// load sends requests round-robin over the live members from workers
// goroutines until stop is closed, and tallies the answers.
type load struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	failures   []string
	done       []time.Time // when each successful answer finished
	wg         sync.WaitGroup
}

func (tm *teamRig) load(workers int, pause time.Duration, stop <-chan struct{}, targets func() []*teamMember) *load {
	l := &load{}
	client := &http.Client{Timeout: 30 * time.Second}
	for w := range workers {
		l.wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ms := targets()
				m := ms[(w+i)%len(ms)]
				body := fmt.Sprintf(`{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"worker %d request %d"}]}`, w, i)
				req, _ := http.NewRequest(http.MethodPost, "http://"+m.addr+"/v1/messages", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("x-api-key", tm.key)
				resp, err := client.Do(req)
				if err != nil {
					l.fail(fmt.Sprintf("%s: %v", m.name, err))
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !strings.Contains(string(b), "Hello from kirofake.") {
					l.fail(fmt.Sprintf("%s: HTTP %d %.300s", m.name, resp.StatusCode, b))
					continue
				}
				l.ok.Add(1)
				l.mu.Lock()
				l.done = append(l.done, time.Now())
				l.mu.Unlock()
				time.Sleep(pause)
			}
		})
	}
	return l
}

func (l *load) fail(msg string) {
	l.failed.Add(1)
	l.mu.Lock()
	if len(l.failures) < 10 {
		l.failures = append(l.failures, msg)
	}
	l.mu.Unlock()
}

// TestTeamSharesAccounts: three instances started at once share one
// database; `kirobar accounts` run against it acts on the whole team
// within about a second; every instance counts the others alive in
// /metrics.
func TestTeamSharesAccounts(t *testing.T) {
	fake, err := kirofake.Start(kirofake.Options{RotateRefreshTokens: true})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	refresh := "aorAAAAA" + strings.Repeat("t", 120)
	fake.AddAccount(kirofake.Account{ID: "acct1", Email: "team@example.com", AuthMethod: kirofake.AuthSocial, RefreshToken: refresh})
	tm := newTeam(t, pgtest.DB(t), fake, 3, "")
	tm.start()
	tm.everywhere("an empty pool", 5*time.Second, func(h health) bool { return h.Accounts.Total == 0 })

	tm.cli("accounts", "add", "--refresh-token", refresh)
	took := tm.everywhere("the added account", 5*time.Second, func(h health) bool { return h.Accounts.Ready == 1 })
	t.Logf("an added account reached every instance in %s", took)
	var list []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(tm.cli("accounts", "list", "--json")), &list); err != nil || len(list) != 1 {
		t.Fatalf("accounts list: %v %+v", err, list)
	}
	id := list[0].ID

	tm.cli("accounts", "disable", id)
	took = tm.everywhere("the disabled account", 5*time.Second, func(h health) bool { return h.Accounts.Ready == 0 && h.Accounts.Total == 1 })
	if took > 1500*time.Millisecond {
		t.Errorf("disabling took %s to reach every instance, want about a second", took)
	}
	tm.cli("accounts", "enable", id)
	tm.everywhere("the enabled account", 5*time.Second, func(h health) bool { return h.Accounts.Ready == 1 })
	tm.cli("accounts", "remove", id)
	took = tm.everywhere("the removed account", 5*time.Second, func(h health) bool { return h.Accounts.Total == 0 })
	if took > 1500*time.Millisecond {
		t.Errorf("removing took %s to reach every instance, want about a second", took)
	}

	// Each instance reads the others at its heartbeat (every 2 s).
	for _, m := range tm.members {
		deadline := time.Now().Add(5 * time.Second)
		for {
			out := m.metrics(t, tm.key)
			if strings.Contains(out, "kirobar_instances_alive 3") && strings.Contains(out, `kirobar_instance_info{name="`+m.name+`"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s /metrics:\n%s", m.name, grepLines(out, "kirobar_instance"))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if fake.Stats().FailedRefreshes != 0 {
		t.Errorf("%d refreshes were refused", fake.Stats().FailedRefreshes)
	}
	for _, m := range tm.members {
		assertNoSecret(t, m.home, m.proc.stop(), pgtest.Password, refresh)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestTeamRefreshesOncePerExpiry: accounts whose refresh tokens rotate
// and whose access tokens live a few seconds, a burst of concurrent
// requests spread over three instances while the tokens expire again and
// again: every expiry costs one refresh (no instance refreshes a token
// another already replaced, so Kiro never answers invalid_grant) and no
// request fails.
func TestTeamRefreshesOncePerExpiry(t *testing.T) {
	const ttl, lead = 6 * time.Second, 2 * time.Second
	fake, err := kirofake.Start(kirofake.Options{RotateRefreshTokens: true, AccessTTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	tm := newTeam(t, pgtest.DB(t), fake, 3, fmt.Sprintf(`[accounts]
refresh_lead = %q
refresh_spacing = "10ms"
min_spacing = "0s"
max_concurrent = 32
`, lead.String()))
	var refreshTokens []string
	for i := range 2 {
		rt := "aorAAAAA" + strings.Repeat("e", 120) + string(rune('a'+i))
		refreshTokens = append(refreshTokens, rt)
		fake.AddAccount(kirofake.Account{ID: fmt.Sprintf("acct%d", i), Email: fmt.Sprintf("u%d@example.com", i), AuthMethod: kirofake.AuthSocial, RefreshToken: rt, Limit: 1e9})
		tm.cli("accounts", "add", "--refresh-token", rt)
	}
	base := fake.Stats().Refreshes
	tm.start()
	start := time.Now()
	stop := make(chan struct{})
	l := tm.load(9, 20*time.Millisecond, stop, func() []*teamMember { return tm.members })
	time.Sleep(3*ttl + time.Second)
	close(stop)
	l.wg.Wait()
	elapsed := time.Since(start)

	st := fake.Stats()
	t.Logf("%d requests served, %d failed, in %s; refreshes %v (before start %v), refused %d", l.ok.Load(), l.failed.Load(), elapsed.Round(time.Millisecond), st.Refreshes, base, st.FailedRefreshes)
	if l.failed.Load() != 0 {
		t.Errorf("%d requests failed: %v", l.failed.Load(), l.failures)
	}
	if st.FailedRefreshes != 0 {
		t.Errorf("Kiro refused %d refreshes (invalid_grant: a rotated token was used twice)", st.FailedRefreshes)
	}
	// A token is refreshed lead before it expires, so one lasts about
	// ttl-lead; the added slack covers the first refresh at start.
	maxPerAccount := int(elapsed/(ttl-lead-time.Second)) + 1
	for id, n := range st.Refreshes {
		n -= base[id]
		if n < int(elapsed/ttl) {
			t.Errorf("%s: %d refreshes in %s, fewer than its expiries", id, n, elapsed)
		}
		if n > maxPerAccount {
			t.Errorf("%s: %d refreshes in %s, more than one per expiry (at most %d)", id, n, elapsed, maxPerAccount)
		}
	}
	for _, m := range tm.members {
		assertNoSecret(t, m.home, m.proc.stop(), pgtest.Password)
	}
}
