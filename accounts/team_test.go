package accounts

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kirobar/kirobar/internal/duration"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
	"github.com/kirobar/kirobar/internal/testkit/pgtest"
	"github.com/kirobar/kirobar/kiro"
)

// teamEnv is one fake Kiro and one shared PostgreSQL database; each
// manager it makes is an instance of the team with a pool of its own.
// Token expiry runs on the real clock, as the kiro client's does.
func teamEnv(t *testing.T, fopts kirofake.Options, url string) *env {
	t.Helper()
	e := newEnv(t, fopts, true)
	e.url = url
	return e
}

// shortLived is the pool configuration for tokens that live ttl: usable
// until a second before they expire.
func shortLived() Config {
	cfg := testConfig()
	cfg.RefreshLead = duration.Duration(time.Second)
	return cfg
}

const shortTTL = 3 * time.Second

// countingMetrics counts refresh results.
type countingMetrics struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *countingMetrics) Refreshed(r string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[r]++
}

func (c *countingMetrics) QueueWait(time.Duration) {}

func (c *countingMetrics) get(r string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[r]
}

// TestTeamRefreshesOnce: three instances whose pools all need the same
// expired token at once refresh it once; the others adopt the stored
// result, so a rotating refresh token is never used twice.
func TestTeamRefreshesOnce(t *testing.T) {
	e := teamEnv(t, kirofake.Options{RotateRefreshTokens: true, AccessTTL: shortTTL}, pgtest.DB(t))
	m1 := e.manager(shortLived(), time.Hour)
	a := e.fakeAccount("acct1", shortTTL)
	v, err := m1.AddRefreshToken(context.Background(), AddRequest{RefreshToken: a.RefreshToken})
	if err != nil {
		t.Fatal(err)
	}
	ms := []*Manager{m1, e.manager(shortLived(), time.Hour), e.manager(shortLived(), time.Hour)}
	for round := range 2 {
		time.Sleep(shortTTL - time.Second + 100*time.Millisecond) // every instance's token needs a refresh
		before := e.fake.Stats()
		var wg sync.WaitGroup
		tokens := make(chan string, 60)
		for _, m := range ms {
			for range 20 {
				wg.Go(func() {
					l, err := m.Acquire(context.Background(), AcquireRequest{})
					if err != nil {
						t.Errorf("acquire: %v", err)
						return
					}
					tokens <- l.Credentials.AccessToken
					m.Release(l, Outcome{})
				})
			}
		}
		wg.Wait()
		close(tokens)
		after := e.fake.Stats()
		if n := after.Refreshes["acct1"] - before.Refreshes["acct1"]; n != 1 {
			t.Fatalf("round %d: %d refreshes for one expiry", round, n)
		}
		if after.FailedRefreshes != 0 {
			t.Fatalf("round %d: Kiro refused %d refreshes", round, after.FailedRefreshes)
		}
		seen := map[string]bool{}
		for tok := range tokens {
			seen[tok] = true
		}
		if len(seen) != 1 {
			t.Fatalf("round %d: leases carried %d different tokens", round, len(seen))
		}
		for tok := range seen {
			if err := e.send(&Lease{Credentials: kiro.Credentials{AccountID: v.ID, AuthMethod: AuthSocial, AccessToken: tok, ProfileARN: kirofake.DefaultProfileARN}}); err != nil {
				t.Fatalf("round %d: the adopted token does not work: %v", round, err)
			}
		}
	}
}

// TestTeamStateReachesOthers: a throttle, a disable and a removal on one
// instance reach another within about a second, by notification: its
// periodic reload is an hour away.
func TestTeamStateReachesOthers(t *testing.T) {
	e := teamEnv(t, kirofake.Options{}, pgtest.DB(t))
	m1 := e.manager(testConfig(), time.Hour)
	a := e.fakeAccount("acct1", time.Hour)
	v, err := m1.AddRefreshToken(context.Background(), AddRequest{RefreshToken: a.RefreshToken})
	if err != nil {
		t.Fatal(err)
	}
	m2 := e.manager(testConfig(), time.Hour)
	run(t, m2)
	within := func(what string, cond func() bool) {
		t.Helper()
		start := time.Now()
		waitFor(t, m2, what, cond)
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s took %s to reach the other instance", what, d)
		}
	}
	time.Sleep(100 * time.Millisecond) // m2's listener is up

	// Kiro's words reach the row as they can be stored: PostgreSQL's text
	// holds no NUL.
	l := acquire(t, m1, AcquireRequest{})
	m1.Release(l, Outcome{Err: &kiro.Error{Class: kiro.ClassServer, Status: 500, Op: "generate", Message: "broken\x00stream"}})
	within("Kiro's error", func() bool { return strings.Contains(viewOf(t, m2, v.ID).LastError, "broken\uFFFDstream") })

	l = acquire(t, m1, AcquireRequest{})
	m1.Release(l, Outcome{Err: &kiro.Error{Class: kiro.ClassThrottled, Status: 429, Op: "generate"}})
	within("the throttle", func() bool { return viewOf(t, m2, v.ID).Status == StatusCooling })
	if _, err := m2.Acquire(context.Background(), AcquireRequest{}); err == nil {
		t.Fatal("the other instance served a cooling account")
	}

	if err := m1.SetEnabled(v.ID, false); err != nil {
		t.Fatal(err)
	}
	within("the disable", func() bool { return viewOf(t, m2, v.ID).Status == StatusDisabled })
	if err := m1.Remove(v.ID); err != nil {
		t.Fatal(err)
	}
	within("the removal", func() bool { _, total := m2.Ready(); return total == 0 })
}

// lockedWriter collects log output written from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestTeamDegraded: while the shared database is down an instance keeps
// serving from what it knows, refreshes an expiring token alone, keeps
// its changes (the new tokens among them) in memory and logs the outage
// once; when the database is back the changes are written.
func TestTeamDegraded(t *testing.T) {
	srv := pgtest.Start(t)
	// Tokens live an hour: the test refreshes when it wants to.
	e := teamEnv(t, kirofake.Options{RotateRefreshTokens: true, AccessTTL: time.Hour}, srv.CreateDB(t))
	var logs lockedWriter
	m := e.manager(shortLived(), 50*time.Millisecond)
	m.log = slog.New(slog.NewTextHandler(&logs, nil))
	a := e.fakeAccount("acct1", time.Hour)
	v, err := m.AddRefreshToken(context.Background(), AddRequest{RefreshToken: a.RefreshToken})
	if err != nil {
		t.Fatal(err)
	}
	run(t, m)
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, m, "the outage to be noticed", func() bool { return strings.Contains(logs.String(), "unreachable") })

	l := acquire(t, m, AcquireRequest{})
	if err := e.send(l); err != nil {
		t.Fatalf("serving from the last known state: %v", err)
	}
	m.Release(l, Outcome{})
	if err := m.Refresh(context.Background(), v.ID); err != nil { // without the team's lock
		t.Fatalf("refresh during the outage: %v", err)
	}
	l = acquire(t, m, AcquireRequest{})
	if err := e.send(l); err != nil {
		t.Fatalf("the token refreshed during the outage: %v", err)
	}
	m.Release(l, Outcome{Err: &kiro.Error{Class: kiro.ClassThrottled, Status: 429, Op: "generate"}})
	if got := viewOf(t, m, v.ID).Status; got != StatusCooling {
		t.Fatalf("status during the outage = %s", got)
	}
	time.Sleep(300 * time.Millisecond) // several failed reloads
	if n := strings.Count(logs.String(), "serving from the last known state"); n != 1 {
		t.Errorf("logged the outage %d times:\n%s", n, logs.String())
	}

	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, m, "the recovery to be logged", func() bool { return strings.Contains(logs.String(), "shared database is back") })
	var row Account
	if err := m.db.Where("id = ?", v.ID).Take(&row).Error; err != nil {
		t.Fatal(err)
	}
	if row.Status != StatusCooling || row.AccessToken != l.Credentials.AccessToken {
		t.Fatalf("after the outage the row has status %s and the new token %v", row.Status, row.AccessToken == l.Credentials.AccessToken)
	}
	// The stored refresh token is the one Kiro issued during the outage:
	// refreshing with it works.
	if err := m.Refresh(context.Background(), v.ID); err != nil {
		t.Fatalf("refresh with the token kept through the outage: %v", err)
	}
	if n := e.fake.Stats().FailedRefreshes; n != 0 {
		t.Fatalf("Kiro refused %d refreshes", n)
	}
	if strings.Contains(logs.String(), pgtest.Password) {
		t.Fatal("the log holds the database password")
	}
}

// TestTeamSharesConversations: a conversation bound to an account on one
// instance stays on that account when its next request reaches another
// instance, which would otherwise have picked a different one.
func TestTeamSharesConversations(t *testing.T) {
	e := teamEnv(t, kirofake.Options{}, pgtest.DB(t))
	cfg := shortLived()
	cfg.Strategy = StrategyFillFirst // without the binding: always the oldest account
	m1 := e.manager(cfg, time.Hour)
	var ids []string
	for _, name := range []string{"acct1", "acct2", "acct3"} {
		a := e.fakeAccount(name, time.Hour)
		v, err := m1.AddRefreshToken(context.Background(), AddRequest{RefreshToken: a.RefreshToken})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
		time.Sleep(10 * time.Millisecond) // distinct creation times keep the order
	}
	run(t, m1)
	m2 := e.manager(cfg, time.Hour)
	run(t, m2)

	// The oldest account failed this conversation's first try on m1, so
	// it is bound to the second.
	l := acquire(t, m1, AcquireRequest{Session: "user_abc_session_1", Exclude: []string{ids[0]}})
	if l.AccountID != ids[1] {
		t.Fatalf("m1 bound the conversation to %s, want %s", l.AccountID, ids[1])
	}
	m1.Release(l, Outcome{})
	start := time.Now()
	for {
		var n int64
		if err := m1.db.Model(&sessionBinding{}).Where("account_id = ?", ids[1]).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("the binding was never written")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if d := time.Since(start); d > bindingFlush {
		t.Errorf("a new binding took %s to be written, longer than the periodic flush", d)
	}
	l2 := acquire(t, m2, AcquireRequest{Session: "user_abc_session_1"})
	got := l2.AccountID
	m2.Release(l2, Outcome{})
	if got != ids[1] {
		t.Fatalf("the other instance served the conversation on %s, want %s", got, ids[1])
	}
	// Another conversation is not affected.
	if l := acquire(t, m2, AcquireRequest{Session: "user_abc_session_2"}); l.AccountID != ids[0] {
		t.Fatalf("a new conversation went to %s, want the oldest account", l.AccountID)
	}
	var stored []sessionBinding
	if err := m1.db.Find(&stored).Error; err != nil {
		t.Fatal(err)
	}
	for _, b := range stored {
		if strings.Contains(b.Session, "user_abc") {
			t.Fatalf("a session key is stored as it came: %+v", b)
		}
	}
}
