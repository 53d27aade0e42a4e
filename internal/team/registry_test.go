package team

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/kirobar/kirobar/internal/db"
	"github.com/kirobar/kirobar/internal/migrate"
	"github.com/kirobar/kirobar/internal/testkit/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const beat = 50 * time.Millisecond

func open(t *testing.T, url string) *gorm.DB {
	t.Helper()
	gdb, err := db.OpenPostgres(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(gdb) })
	return gdb
}

// member is one registered instance running its heartbeat.
type member struct {
	r      *Registry
	cancel context.CancelFunc
	done   chan error
}

func join(t *testing.T, gdb *gorm.DB, name string, log *slog.Logger) *member {
	t.Helper()
	r, err := New(context.Background(), gdb, Self{Name: name, Listen: "127.0.0.1:8999", Version: "test"}, Options{Heartbeat: beat, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &member{r: r, cancel: cancel, done: make(chan error, 1)}
	go func() { m.done <- r.Run(ctx) }()
	t.Cleanup(func() { m.stop(t) })
	return m
}

func (m *member) stop(t *testing.T) {
	m.cancel()
	if err := <-m.done; err != nil {
		t.Errorf("Run: %v", err)
	}
	m.done <- nil // a second stop returns at once
}

func alive(r *Registry) map[string]bool {
	out := map[string]bool{}
	for _, p := range r.Peers() {
		out[p.Name] = p.Alive
	}
	return out
}

// waitFor polls cond for up to 5 s (heartbeats are 50 ms).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestInstancesSeeEachOther: instances sharing a database list each
// other as alive; a cleanly stopped one is gone at once, a killed one
// (no more heartbeats) when its lease runs out.
func TestInstancesSeeEachOther(t *testing.T) {
	url := pgtest.DB(t)
	a := join(t, open(t, url), "a", nil)
	b := join(t, open(t, url), "b", nil)
	c := join(t, open(t, url), "c", nil)
	waitFor(t, "a to see b and c", func() bool {
		m := alive(a.r)
		return m["a"] && m["b"] && m["c"]
	})
	if n := a.r.Alive(); n != 3 {
		t.Fatalf("Alive = %d, want 3", n)
	}
	b.stop(t)
	waitFor(t, "b to be gone after a clean stop", func() bool { return !alive(a.r)["b"] })

	// A killed instance stops beating without unregistering.
	killedAt := time.Now()
	c.cancel()
	<-c.done
	c.done <- nil
	if err := a.r.db.Model(&Instance{}).Where("id = ?", c.r.Self().ID).Update("stopped_at", time.Time{}).Error; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "c to drop out after its lease", func() bool { return !alive(a.r)["c"] })
	if since := time.Since(killedAt); since > DefaultLease {
		t.Errorf("c stayed alive %s, longer than the %s lease", since, 3*beat)
	}
	self := a.r.Peers()[0]
	if !self.Self || self.Name != "a" || self.Host == "" || self.PID != os.Getpid() {
		t.Errorf("self entry = %+v", self)
	}
}

// lockedLog collects log output from the heartbeat goroutine.
type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestStoreOutage: a heartbeat that cannot reach the database switches
// to the degraded mode with one clear log line, keeps the last known list
// of instances, and the first heartbeat after the database is back ends
// it.
func TestStoreOutage(t *testing.T) {
	srv := pgtest.Start(t)
	url := srv.CreateDB(t)
	var logs lockedLog
	log := slog.New(slog.NewTextHandler(&logs, nil))
	a := join(t, open(t, url), "a", log)
	join(t, open(t, url), "b", nil)
	waitFor(t, "a to see b", func() bool { return alive(a.r)["b"] })
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the store to be reported down", func() bool { return !a.r.StoreUp() })
	if got := strings.Count(logs.String(), "store unreachable"); got != 1 {
		t.Errorf("logged the outage %d times, want once:\n%s", got, logs.String())
	}
	if len(a.r.Peers()) != 2 {
		t.Errorf("the last known instances were forgotten: %+v", a.r.Peers())
	}
	if strings.Contains(logs.String(), pgtest.Password) {
		t.Error("the log holds the database password")
	}
	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the store to be back", a.r.StoreUp)
	waitFor(t, "the log to say so", func() bool { return strings.Contains(logs.String(), "store reachable again") })
}

// TestSQLiteRegistry: with one kirobar.db the registry holds the one
// instance, and its table comes from a versioned step.
func TestSQLiteRegistry(t *testing.T) {
	gdb, err := db.Open(filepath.Join(t.TempDir(), "kirobar.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(gdb) }) // after the member's cleanup
	m := join(t, gdb, "", nil)
	peers := m.r.Peers()
	if len(peers) != 1 || !peers[0].Alive || !strings.HasSuffix(peers[0].Name, ":8999") {
		t.Fatalf("peers = %+v", peers)
	}
	missing, err := migrate.Missing(gdb, &Instance{})
	if err != nil || len(missing) > 0 {
		t.Fatalf("columns without a step: %v %v", missing, err)
	}
}
