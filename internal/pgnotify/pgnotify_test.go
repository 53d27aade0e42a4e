package pgnotify

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/kirobar/kirobar/internal/db"
	"github.com/kirobar/kirobar/internal/testkit/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// recorder collects a listener's events.
type recorder struct {
	mu     sync.Mutex
	events []Event
	logs   bytes.Buffer
}

func (r *recorder) handle(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.logs.Write(p)
}

func (r *recorder) snapshot() ([]Event, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...), r.logs.String()
}

func (r *recorder) count(match func(Event) bool) int {
	evs, _ := r.snapshot()
	n := 0
	for _, e := range evs {
		if match(e) {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func listen(t *testing.T, url string) *recorder {
	t.Helper()
	r := &recorder{}
	l := &Listener{URL: url, Channels: []string{"kirobar_accounts"}, Log: slog.New(slog.NewTextHandler(r, nil)), Ping: 100 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx, r.handle) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return r
}

func resync(e Event) bool { return e.Resync }

func payload(p string) func(Event) bool {
	return func(e Event) bool { return e.Channel == "kirobar_accounts" && e.Payload == p }
}

// TestDeliveredOnCommit: a notification sent in a transaction arrives
// after the commit, never for a rollback, and only on its channel.
func TestDeliveredOnCommit(t *testing.T) {
	url := pgtest.DB(t)
	r := listen(t, url)
	waitFor(t, "the first resync", func() bool { return r.count(resync) == 1 })
	gdb, err := db.OpenPostgres(url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(gdb)
	err = gdb.Transaction(func(tx *gorm.DB) error {
		if err := Notify(tx, "kirobar_accounts", "a1"); err != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond)
		if n := r.count(payload("a1")); n != 0 {
			t.Error("delivered before the commit")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a1", func() bool { return r.count(payload("a1")) == 1 })
	_ = gdb.Transaction(func(tx *gorm.DB) error {
		_ = Notify(tx, "kirobar_accounts", "rolled-back")
		return gorm.ErrInvalidTransaction
	})
	if err := Notify(gdb, "other_channel", "x"); err != nil {
		t.Fatal(err)
	}
	if err := Notify(gdb, "kirobar_accounts", "a2"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a2", func() bool { return r.count(payload("a2")) == 1 })
	if r.count(payload("rolled-back")) != 0 || r.count(func(e Event) bool { return e.Payload == "x" }) != 0 {
		t.Fatal("a rolled back or foreign notification was delivered")
	}
	if err := Notify(gdb, "kirobar_accounts", strings.Repeat("x", MaxPayload+1)); err == nil {
		t.Fatal("an oversized payload was accepted")
	}
}

// TestReconnects: when the database goes away the listener says so once,
// comes back by itself and asks for a resync, and then delivers again.
func TestReconnects(t *testing.T) {
	srv := pgtest.Start(t)
	url := srv.CreateDB(t)
	r := listen(t, url)
	waitFor(t, "the first resync", func() bool { return r.count(resync) == 1 })
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the loss to be logged", func() bool { _, logs := r.snapshot(); return strings.Contains(logs, "lost the LISTEN connection") })
	time.Sleep(500 * time.Millisecond) // several failed reconnects
	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a resync after the reconnect", func() bool { return r.count(resync) == 2 })
	gdb, err := db.OpenPostgres(url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(gdb)
	if err := Notify(gdb, "kirobar_accounts", "after"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a notification after the reconnect", func() bool { return r.count(payload("after")) == 1 })
	_, logs := r.snapshot()
	if n := strings.Count(logs, "lost the LISTEN connection"); n != 1 {
		t.Errorf("logged the loss %d times:\n%s", n, logs)
	}
	if !strings.Contains(logs, "listening again") || strings.Contains(logs, pgtest.Password) {
		t.Errorf("logs:\n%s", logs)
	}
}
