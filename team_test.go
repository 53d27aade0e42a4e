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
	"syscall"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/kirobar/kirobar/flows"
	"github.com/kirobar/kirobar/internal/db"
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
	writeConfig(tm.t, m.home, m.addr, tm.key, tm.fake.URL)
	f, err := os.OpenFile(filepath.Join(m.home, "config.toml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		tm.t.Fatal(err)
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "[store]\ninstance = %q\n%s", m.name, tm.extra); err != nil {
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
	answers    []answer
	failedBy   map[string]int // failed requests per member
	wg         sync.WaitGroup
}

// answer is one successful request: which member served it, the message
// id (the flow's id) and when its answer had been read.
type answer struct {
	member string
	id     string
	done   time.Time
}

func (tm *teamRig) load(workers int, pause time.Duration, stop <-chan struct{}, targets func() []*teamMember) *load {
	l := &load{failedBy: map[string]int{}}
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
					l.fail(m.name, fmt.Sprintf("%s: %v", m.name, err))
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var msg struct {
					ID string `json:"id"`
				}
				if resp.StatusCode != 200 || !strings.Contains(string(b), "Hello from kirofake.") || json.Unmarshal(b, &msg) != nil {
					l.fail(m.name, fmt.Sprintf("%s: HTTP %d %.300s", m.name, resp.StatusCode, b))
					continue
				}
				l.ok.Add(1)
				l.mu.Lock()
				l.answers = append(l.answers, answer{member: m.name, id: msg.ID, done: time.Now()})
				l.mu.Unlock()
				time.Sleep(pause)
			}
		})
	}
	return l
}

func (l *load) fail(member, msg string) {
	l.failed.Add(1)
	l.mu.Lock()
	l.failedBy[member]++
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

// live is the members a load sends to, changed while it runs.
type live struct {
	mu sync.Mutex
	ms []*teamMember
}

func (l *live) get() []*teamMember {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*teamMember(nil), l.ms...)
}

func (l *live) set(ms ...*teamMember) {
	l.mu.Lock()
	l.ms = ms
	l.mu.Unlock()
}

// kill9 kills a member outright, as a crash or an OOM kill would.
func (m *teamMember) kill9(t *testing.T) {
	t.Helper()
	m.proc.signal(syscall.SIGKILL)
	<-m.proc.exited
	m.proc.waited = true
}

// openShared opens the team's database for the test's own checks.
func openShared(t *testing.T, url string) *gorm.DB {
	t.Helper()
	gdb, err := db.OpenPostgres(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(gdb) })
	return gdb
}

// TestTeamSurvivesAKill: kill -9 of one instance under load, while
// tokens keep expiring: the others keep serving without a failure, every
// flow the killed instance answered more than a second before it died is
// in the shared index, no lock outlives it, Kiro never sees a rotated
// refresh token twice, and the instance rejoins when restarted.
func TestTeamSurvivesAKill(t *testing.T) {
	const ttl, lead = 6 * time.Second, 2 * time.Second
	fake, err := kirofake.Start(kirofake.Options{RotateRefreshTokens: true, AccessTTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	url := pgtest.DB(t)
	tm := newTeam(t, url, fake, 3, fmt.Sprintf(`[accounts]
refresh_lead = %q
refresh_spacing = "10ms"
min_spacing = "0s"
max_concurrent = 32
`, lead.String()))
	for i := range 2 {
		rt := "aorAAAAA" + strings.Repeat("k", 120) + string(rune('a'+i))
		fake.AddAccount(kirofake.Account{ID: fmt.Sprintf("acct%d", i), AuthMethod: kirofake.AuthSocial, RefreshToken: rt, Limit: 1e9})
		tm.cli("accounts", "add", "--refresh-token", rt)
	}
	tm.start()
	gw1, gw2, gw3 := tm.members[0], tm.members[1], tm.members[2]
	targets := &live{}
	targets.set(gw1, gw2, gw3)
	stop := make(chan struct{})
	l := tm.load(9, 20*time.Millisecond, stop, targets.get)

	time.Sleep(ttl) // at least one round of refreshes under load
	targets.set(gw1, gw3)
	killedAt := time.Now()
	gw2.kill9(t)
	gw2.proc = nil
	gdb := openShared(t, url)

	// No advisory lock outlives the killed instance: PostgreSQL frees a
	// dead session's locks at once (the live instances hold theirs only
	// for the milliseconds of a refresh).
	deadline := time.Now().Add(5 * time.Second)
	for {
		var n int64
		if err := gdb.Raw("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d advisory locks still held %s after the kill", n, time.Since(killedAt))
		}
		time.Sleep(20 * time.Millisecond)
	}

	time.Sleep(ttl) // the survivors refresh and serve on their own
	gw2.proc = startServe(t, gw2.home, tm.env()...)
	waitHealthy(t, "http://"+gw2.addr)
	targets.set(gw1, gw2, gw3)
	rejoined := time.Now()
	for {
		if strings.Contains(gw1.metrics(t, tm.key), "kirobar_instances_alive 3") {
			break
		}
		if time.Since(rejoined) > 10*time.Second {
			t.Fatal("the restarted instance did not rejoin the team")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	close(stop)
	l.wg.Wait()

	st := fake.Stats()
	t.Logf("%d requests served, %d failed (%v); refreshes %v, refused %d", l.ok.Load(), l.failed.Load(), l.failedBy, st.Refreshes, st.FailedRefreshes)
	for _, m := range []*teamMember{gw1, gw3} {
		if n := l.failedBy[m.name]; n != 0 {
			t.Errorf("%s, which stayed up, failed %d requests: %v", m.name, n, l.failures)
		}
	}
	if l.failedBy[gw2.name] > 9 {
		t.Errorf("%d requests failed on the killed instance; only those in flight at the kill may", l.failedBy[gw2.name])
	}
	if st.FailedRefreshes != 0 {
		t.Errorf("Kiro refused %d refreshes", st.FailedRefreshes)
	}

	// Every answer gw2 finished more than a second before it died is a
	// flow in the shared index, recorded as gw2's.
	var want []string
	for _, a := range l.answers {
		if a.member == gw2.name && a.done.Before(killedAt.Add(-time.Second)) {
			want = append(want, a.id)
		}
	}
	if len(want) == 0 {
		t.Fatal("the killed instance had answered nothing")
	}
	var got []string
	if err := gdb.Model(&flows.Row{}).Where("instance = ? AND id IN ?", gw2.name, want).Pluck("id", &got).Error; err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("%d of the %d flows gw2 answered before it was killed are lost", len(want)-len(got), len(want))
	}
	// Their details outlive gw2's home: the CLI, elsewhere, shows one
	// with its request body.
	if out := tm.cli("flows", "show", want[0]); !strings.Contains(out, "worker") || !strings.Contains(out, gw2.name) {
		t.Errorf("flows show of a flow the killed instance served:\n%s", out)
	}
	for _, m := range tm.members {
		m.proc.stop()
	}
}

// TestTeamDatabaseOutage: with the shared database gone the instances
// keep serving from what they know, say so once in their logs, and write
// the flows of the outage when it is back; nothing crashes.
func TestTeamDatabaseOutage(t *testing.T) {
	fake, err := kirofake.Start(kirofake.Options{RotateRefreshTokens: true})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	srv := pgtest.Start(t)
	url := srv.CreateDB(t)
	tm := newTeam(t, url, fake, 2, `[accounts]
min_spacing = "0s"
max_concurrent = 32
`)
	rt := "aorAAAAA" + strings.Repeat("o", 120)
	fake.AddAccount(kirofake.Account{ID: "acct0", AuthMethod: kirofake.AuthSocial, RefreshToken: rt, Limit: 1e9})
	tm.cli("accounts", "add", "--refresh-token", rt)
	tm.start()
	stop := make(chan struct{})
	l := tm.load(4, 20*time.Millisecond, stop, func() []*teamMember { return tm.members })
	time.Sleep(time.Second)
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	downAt := time.Now()
	time.Sleep(4 * time.Second)
	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	upAt := time.Now()
	time.Sleep(3 * time.Second)
	close(stop)
	l.wg.Wait()
	if l.failed.Load() != 0 {
		t.Fatalf("%d requests failed during the outage: %v", l.failed.Load(), l.failures)
	}
	var during []string
	for _, a := range l.answers {
		if a.done.After(downAt) && a.done.Before(upAt) {
			during = append(during, a.id)
		}
	}
	if len(during) == 0 {
		t.Fatal("nothing was served during the outage")
	}
	gdb := openShared(t, url)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int64
		if err := gdb.Model(&flows.Row{}).Where("id IN ?", during).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n == int64(len(during)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of the %d flows served during the outage were never written", int64(len(during))-n, len(during))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%d requests served, %d during the %s outage", l.ok.Load(), len(during), upAt.Sub(downAt).Round(time.Millisecond))
	for _, m := range tm.members {
		out := m.proc.stop()
		if n := strings.Count(out, "flush usage"); n > 0 {
			t.Errorf("%s logged %d usage flushes the outage delayed; the outage is logged once", m.name, n)
		}
		for _, line := range []string{"store unreachable", "the shared database is unreachable"} {
			if n := strings.Count(out, line); n < 1 || n > 2 {
				t.Errorf("%s logged %q %d times", m.name, line, n)
			}
		}
		assertNoSecret(t, m.home, out, pgtest.Password, rt)
	}
}
