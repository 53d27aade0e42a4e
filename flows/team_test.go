package flows

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

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
	r, err := newRecorder(gdb, t.TempDir(), DefaultConfig(), slog.New(slog.NewTextHandler(&logs, nil)), options{instance: "gw1"})
	if err != nil {
		t.Fatal(err)
	}
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

// TestTeamInstancesKeepTheirOwnFiles: two instances share the index but
// not their homes, and their detail files have the same names. One
// instance's crash repair and retention touch only its own flows, and its
// Store says where the others' details are instead of reading a wrong
// line.
func TestTeamInstancesKeepTheirOwnFiles(t *testing.T) {
	url := pgtest.DB(t)
	now := time.Now().UTC()
	type member struct {
		name, home string
		db         *gorm.DB
		r          *Recorder
	}
	var ms []*member
	for _, name := range []string{"gw1", "gw2"} {
		gdb, err := kdb.OpenPostgres(url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = kdb.Close(gdb) })
		m := &member{name: name, home: t.TempDir(), db: gdb}
		m.r = newTestRecorder(t, gdb, m.home, DefaultConfig(), options{instance: name})
		ms = append(ms, m)
	}
	// gw1 writes one flow, gw2 fifteen: gw2's lines lie past the end of
	// gw1's file of the same name.
	for i, m := range ms {
		stop := runRecorder(t, m.r)
		for j := range 1 + 14*i {
			m.r.Record(sampleFlow(100*i+j, now))
		}
		stop()
	}
	gdb := ms[0].db
	if n := countRows(t, gdb); n != 16 {
		t.Fatalf("%d flows stored, want 16", n)
	}
	// gw1 starts again: its repair finds its own file and leaves gw2's
	// rows (same file name, offsets past gw1's file) alone.
	newTestRecorder(t, gdb, ms[0].home, DefaultConfig(), options{instance: "gw1"})
	for _, row := range allRows(t, gdb) {
		if row.DetailsLost != "" {
			t.Fatalf("flow %s of %s lost its details to another instance's repair", row.ID, row.Instance)
		}
	}
	s := NewStore(gdb, ms[0].home).ForInstance("gw1")
	if _, d, err := s.Get(context.Background(), "flow-0000"); err != nil || d.ID != "flow-0000" {
		t.Fatalf("own flow: %v", err)
	}
	// Another instance's flow reads from the shared database, not from a
	// line of the same name here.
	if row, d, err := s.Get(context.Background(), "flow-0110"); err != nil || row.Instance != "gw2" || d.ID != "flow-0110" {
		t.Fatalf("another instance's flow: %v (row %+v)", err, row)
	}
	if err := gdb.Where("id = ?", "flow-0110").Delete(&detailRow{}).Error; err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(context.Background(), "flow-0110"); !errors.Is(err, ErrDetailsElsewhere) {
		t.Fatalf("another instance's flow without its shared line: %v", err)
	}
	// gw1 records big flows and its size cap removes its file; gw2's
	// flows, in its own file of the same name, stay.
	cfg := DefaultConfig()
	cfg.MaxTotalMB = 1
	r := newTestRecorder(t, gdb, ms[0].home, cfg, options{instance: "gw1"})
	stop := runRecorder(t, r)
	for j := range 4 {
		f := sampleFlow(1000+j, now)
		pad := make([]byte, 300<<10)
		_, _ = rand.Read(pad)
		f.ClientRequest = []byte(`{"pad":"` + base64.StdEncoding.EncodeToString(pad) + `"}`) // incompressible
		r.Record(f)
	}
	stop()
	r = newTestRecorder(t, gdb, ms[0].home, cfg, options{instance: "gw1"})
	if err := r.retain(context.Background()); err != nil {
		t.Fatal(err)
	}
	var gw1, gw2 int64
	if err := gdb.Model(&Row{}).Where("instance = ?", "gw1").Count(&gw1).Error; err != nil {
		t.Fatal(err)
	}
	if err := gdb.Model(&Row{}).Where("instance = ?", "gw2").Count(&gw2).Error; err != nil {
		t.Fatal(err)
	}
	if gw1 != 0 || gw2 != 15 {
		t.Fatalf("after gw1's size cap: gw1 has %d flows (want 0), gw2 %d (want 15)", gw1, gw2)
	}
	var details int64
	if err := gdb.Model(&detailRow{}).Count(&details).Error; err != nil {
		t.Fatal(err)
	}
	if details != 14 { // gw2's, but for the one deleted above
		t.Fatalf("%d shared details lines left, want gw2's 14: they go with their rows", details)
	}
}

// TestTeamSharesPieces: two instances record the same agent sessions at
// once into one PostgreSQL database. The pieces every flow shares (the
// system prompt, the tools, earlier turns) are stored once however the
// writes interleave, no batch fails, every body reads back byte for byte
// from the instance that recorded it, and one instance's retention frees
// only what the other no longer needs.
func TestTeamSharesPieces(t *testing.T) {
	url := pgtest.DB(t)
	now := time.Now().UTC()
	type member struct {
		name, home string
		db         *gorm.DB
		r          *Recorder
		stop       func()
	}
	var ms []*member
	for _, name := range []string{"gw1", "gw2"} {
		gdb, err := kdb.OpenPostgres(url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = kdb.Close(gdb) })
		m := &member{name: name, home: t.TempDir(), db: gdb}
		m.r = newTestRecorder(t, gdb, m.home, DefaultConfig(), options{instance: name, linger: -1})
		m.stop = runRecorder(t, m.r)
		ms = append(ms, m)
	}
	const turns = 12
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Go(func() {
			for n := range turns {
				for _, sess := range []string{"s1", "s2"} {
					f := sessionFlow(sess, n, now)
					f.ID = fmt.Sprintf("%s-%s", m.name, f.ID)
					m.r.Record(f)
				}
				if n%3 == i {
					time.Sleep(5 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	for _, m := range ms {
		m.stop()
		if d, rows := m.r.Dropped(); d != 0 || rows != 0 {
			t.Fatalf("%s dropped %d details and %d flows", m.name, d, rows)
		}
	}
	gdb := ms[0].db
	if n := countRows(t, gdb); n != 2*2*turns {
		t.Fatalf("%d flows stored, want %d", n, 2*2*turns)
	}
	var dup int64
	if err := gdb.Raw("SELECT count(*) FROM (SELECT hash FROM flow_pieces GROUP BY hash HAVING count(*) > 1) d").Scan(&dup).Error; err != nil {
		t.Fatal(err)
	}
	if dup != 0 {
		t.Fatalf("%d pieces stored twice", dup)
	}
	check := func(m *member, sess string, n int) {
		t.Helper()
		id := fmt.Sprintf("%s-%s-%03d", m.name, sess, n)
		_, d, err := NewStore(m.db, m.home).ForInstance(m.name).Get(context.Background(), id)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		want := sessionFlow(sess, n, now).ClientRequest
		if d.ClientRequest == nil || !bytes.Equal(d.ClientRequest.JSON, want) {
			t.Fatalf("%s: the client body does not read back byte for byte", id)
		}
	}
	for _, m := range ms {
		for n := range turns {
			check(m, "s1", n)
		}
	}
	// gw1's size cap frees all of gw1's files; gw2's bodies still read.
	r := newTestRecorder(t, gdb, ms[0].home, DefaultConfig(), options{instance: "gw1", maxTotalBytes: 1})
	if err := r.retain(context.Background()); err != nil {
		t.Fatal(err)
	}
	files, err := listFiles(ms[0].home)
	if err != nil || len(files) != 0 {
		t.Fatalf("gw1 kept %d files (%v)", len(files), err)
	}
	for n := range turns {
		check(ms[1], "s2", n)
	}
	// gw1 reads gw2's flows from the shared database, bodies and all.
	for n := range turns {
		id := fmt.Sprintf("gw2-s1-%03d", n)
		_, d, err := NewStore(ms[0].db, ms[0].home).ForInstance("gw1").Get(context.Background(), id)
		if err != nil || d.ClientRequest == nil || !bytes.Equal(d.ClientRequest.JSON, sessionFlow("s1", n, now).ClientRequest) {
			t.Fatalf("%s read by gw1: %v", id, err)
		}
	}
}
