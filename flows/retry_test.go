package flows

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	kdb "github.com/kirobar/kirobar/internal/db"
	"github.com/kirobar/kirobar/internal/testkit/pgtest"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestFlowsKeptThroughOutage: flows recorded while a team's shared
// database is down are written, with the instance that served them, once
// it is back; the outage is logged once and no flow is dropped.
func TestFlowsKeptThroughOutage(t *testing.T) {
	srv := pgtest.Start(t)
	gdb, err := kdb.OpenPostgres(srv.CreateDB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kdb.Close(gdb) })
	var logs syncBuffer
	r, err := newRecorder(gdb, t.TempDir(), DefaultConfig(), slog.New(slog.NewTextHandler(&logs, nil)), options{})
	if err != nil {
		t.Fatal(err)
	}
	r.SetInstance("gw1")
	stop := runRecorder(t, r)
	now := time.Now().UTC()
	r.Record(sampleFlow(0, now))
	waitRows := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for countRows(t, gdb) != n {
			if time.Now().After(deadline) {
				t.Fatalf("%d flows stored, want %d\n%s", countRows(t, gdb), n, logs.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitRows(1)

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 40; i++ {
		r.Record(sampleFlow(i, now))
		if i%10 == 0 {
			time.Sleep(300 * time.Millisecond) // several batches, several retries
		}
	}
	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	waitRows(41)
	stop()
	if _, rows := r.Dropped(); rows != 0 {
		t.Fatalf("%d flows dropped", rows)
	}
	if n := strings.Count(logs.String(), "shared database is unreachable"); n != 1 {
		t.Errorf("logged the outage %d times:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "wrote the flows kept meanwhile") {
		t.Errorf("no word of the recovery:\n%s", logs.String())
	}
	for _, row := range allRows(t, gdb) {
		if row.Instance != "gw1" {
			t.Fatalf("flow %s served by %q, want gw1", row.ID, row.Instance)
		}
	}
}
