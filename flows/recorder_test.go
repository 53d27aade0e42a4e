package flows

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRotationKeepsOffsetsRight(t *testing.T) {
	gdb, home := openDB(t)
	clock := &testClock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.Local)}
	r := newTestRecorder(t, gdb, home, DefaultConfig(), options{now: clock.now, fileMaxBytes: 4096})
	for i := range 60 {
		f := sampleFlow(i, clock.now())
		f.Response = bytes.Repeat([]byte("x"), 100+i*20)
		r.Record(f)
		if i == 40 {
			// A new day starts a new directory and numbering.
			r.drain()
			clock.set(clock.now().Add(24 * time.Hour))
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	files, err := listFiles(home)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("only %d files after rotation at 4 KiB", len(files))
	}
	days := map[string]bool{}
	for _, f := range files {
		days[filepath.Base(filepath.Dir(f.abs))] = true
		if f.size > 4096 && f.seq > 0 {
			// A single line may exceed the limit, but then it is alone.
			b, err := os.ReadFile(f.abs)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Count(b, []byte("\n")) != 1 {
				t.Fatalf("%s is %d bytes with several lines", f.rel, f.size)
			}
		}
	}
	if !days["2026-03-01"] || !days["2026-03-02"] {
		t.Fatalf("day directories = %v", days)
	}
	rows := allRows(t, gdb)
	if len(rows) != 60 || checkLines(t, home, rows) != 60 {
		t.Fatalf("%d rows", len(rows))
	}
	store := NewStore(gdb, home)
	for _, i := range []int{0, 33, 59} {
		_, d, err := store.Get(context.Background(), fmt.Sprintf("flow-%04d", i))
		if err != nil {
			t.Fatal(err)
		}
		if d.Response == nil || d.Response.Size != 100+i*20 {
			t.Fatalf("flow %d response = %+v", i, d.Response)
		}
	}
}

func TestRetentionDeletesFilesAndRowsTogether(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 3, d, 12, 0, 0, 0, time.Local) }
	for _, tc := range []struct {
		name     string
		cfg      func(*Config)
		bodySize int
		wantIDs  []string
	}{
		{
			name:     "by age",
			cfg:      func(c *Config) { c.RetentionDays = 14; c.MaxTotalMB = 0 },
			bodySize: 100,
			wantIDs:  []string{"flow-0002", "flow-0003", "flow-0004"},
		},
		{
			name:     "by total size",
			cfg:      func(c *Config) { c.RetentionDays = 0; c.MaxTotalMB = 1 },
			bodySize: 400 << 10,
			wantIDs:  []string{"flow-0003", "flow-0004"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gdb, home := openDB(t)
			clock := &testClock{t: day(1)}
			cfg := DefaultConfig()
			tc.cfg(&cfg)
			r := newTestRecorder(t, gdb, home, cfg, options{now: clock.now, fileMaxBytes: 1})
			// Flows 0 and 1 on March 1st, 2 on the 10th, 3 and 4 on the 20th:
			// written by the writer as the clock moves.
			for i, d := range []int{1, 1, 10, 20, 20} {
				clock.set(day(d))
				f := sampleFlow(i, day(d))
				f.Response = bytes.Repeat([]byte("r"), tc.bodySize)
				r.Record(f)
				r.drain()
			}
			// A flow without details, older than the retention window.
			clock.set(day(1))
			old := sampleFlow(9, day(1))
			stripDetails(old)
			r.Record(old)
			r.drain()

			clock.set(day(20))
			r.sweep(context.Background())
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}

			rows := allRows(t, gdb)
			var ids []string
			for _, row := range rows {
				ids = append(ids, row.ID)
			}
			want := tc.wantIDs
			if tc.name == "by total size" {
				want = append(append([]string{}, want...), "flow-0009")
			}
			if strings.Join(ids, ",") != strings.Join(want, ",") {
				t.Fatalf("rows = %v, want %v", ids, want)
			}
			checkLines(t, home, rows)
			files, err := listFiles(home)
			if err != nil {
				t.Fatal(err)
			}
			referenced := map[string]bool{}
			for _, row := range rows {
				referenced[row.FilePath] = true
			}
			for _, f := range files {
				if !referenced[f.rel] {
					t.Errorf("file %s kept without rows", f.rel)
				}
			}
			if len(files) != len(tc.wantIDs) {
				t.Errorf("%d files left, want %d", len(files), len(tc.wantIDs))
			}
			if _, err := os.Stat(filepath.Join(home, flowsDir, "2026-03-01")); !os.IsNotExist(err) {
				t.Errorf("empty day directory kept: %v", err)
			}
			// Usage totals outlive retention.
			totals, err := NewStore(gdb, home).Usage(context.Background(), day(1))
			if err != nil {
				t.Fatal(err)
			}
			if len(totals) != 1 || totals[0].Requests != 6 {
				t.Fatalf("usage = %+v", totals)
			}
		})
	}
}

func TestQueueFullDropsDetailsBeforeRows(t *testing.T) {
	gdb, home := openDB(t)
	cfg := DefaultConfig()
	cfg.QueueSize = 4
	r := newTestRecorder(t, gdb, home, cfg, options{})
	// Run is not started, so nothing drains the queues: 4 flows fit with
	// details, 16 more as rows only, the last 10 are dropped.
	for i := range 30 {
		r.Record(sampleFlow(i, time.Now()))
	}
	details, rows := r.Dropped()
	if details != 26 || rows != 10 {
		t.Fatalf("dropped = %d details, %d rows; want 26, 10", details, rows)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r.Record(sampleFlow(99, time.Now()))
	if details, rows := r.Dropped(); details != 27 || rows != 11 {
		t.Fatalf("after close dropped = %d, %d", details, rows)
	}
	stored := allRows(t, gdb)
	if len(stored) != 20 {
		t.Fatalf("%d rows stored, want 20", len(stored))
	}
	withDetails := 0
	for _, row := range stored {
		switch {
		case row.FilePath != "":
			withDetails++
		case row.DetailsLost != "queue full":
			t.Fatalf("row %s: details_lost = %q", row.ID, row.DetailsLost)
		}
		if row.Status != StatusCompleted || row.InputTokens != 100 {
			t.Fatalf("row %s lost index fields: %+v", row.ID, row)
		}
	}
	if withDetails != 4 || checkLines(t, home, stored) != 4 {
		t.Fatalf("%d rows with details, want 4", withDetails)
	}
}

func TestRecordNeverWaitsForTheWriter(t *testing.T) {
	gdb, home := openDB(t)
	cfg := DefaultConfig()
	cfg.QueueSize = 8
	r := newTestRecorder(t, gdb, home, cfg, options{})
	stop := runRecorder(t, r)
	// Hold the writer inside a batch: it cannot write anything.
	r.writeMu.Lock()
	for i := range 10000 {
		r.Record(sampleFlow(i, time.Now()))
	}
	r.writeMu.Unlock()
	stop()
	details, rows := r.Dropped()
	if details == 0 || rows == 0 {
		t.Fatalf("dropped = %d, %d; the blocked writer should have overflowed both queues", details, rows)
	}
	if got := countRows(t, gdb); got+rows != 10000 {
		t.Fatalf("%d stored + %d dropped != 10000", got, rows)
	}
}

func TestDisabledRecordsNothing(t *testing.T) {
	gdb, home := openDB(t)
	cfg := DefaultConfig()
	cfg.Enabled = false
	r := newTestRecorder(t, gdb, home, cfg, options{})
	stop := runRecorder(t, r)
	r.Record(sampleFlow(1, time.Now()))
	stop()
	if n := countRows(t, gdb); n != 0 {
		t.Fatalf("%d rows recorded while disabled", n)
	}
	if files, err := listFiles(home); err != nil || len(files) != 0 {
		t.Fatalf("files = %v, %v", files, err)
	}
}

func TestCrashRepair(t *testing.T) {
	gdb, home := openDB(t)
	r := newTestRecorder(t, gdb, home, DefaultConfig(), options{})
	for i := range 5 {
		r.Record(sampleFlow(i, time.Now()))
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	files, err := listFiles(home)
	if err != nil || len(files) != 1 {
		t.Fatalf("files = %v, %v", files, err)
	}
	cur := files[0]

	// What a crash can leave: a half-written line, rows pointing past the
	// end of the file and at a file that is gone.
	f, err := os.OpenFile(cur.abs, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"id":"flow-0005","time":"2026-`); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	past := Row{ID: "flow-0005", Time: time.Now(), Status: StatusCompleted, FilePath: cur.rel, FileOffset: cur.size}
	gone := Row{ID: "flow-0006", Time: time.Now(), Status: StatusCompleted, FilePath: "flows/2020-01-01/flows-001.jsonl"}
	if err := gdb.Create(&past).Error; err != nil {
		t.Fatal(err)
	}
	if err := gdb.Create(&gone).Error; err != nil {
		t.Fatal(err)
	}

	r = newTestRecorder(t, gdb, home, DefaultConfig(), options{})
	b, err := os.ReadFile(cur.abs)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != cur.size || !bytes.HasSuffix(b, []byte("\n")) {
		t.Fatalf("file is %d bytes, want the %d complete ones", len(b), cur.size)
	}
	for _, id := range []string{"flow-0005", "flow-0006"} {
		row, d, err := NewStore(gdb, home).Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if row.FilePath != "" || row.DetailsLost != "crash" || d.ID != "" {
			t.Fatalf("row %s after repair: %+v", id, row)
		}
	}
	// New flows append after the repaired end.
	r.Record(sampleFlow(7, time.Now()))
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	rows := allRows(t, gdb)
	if n := checkLines(t, home, rows); n != 6 {
		t.Fatalf("%d rows with valid lines, want 6", n)
	}
}

// TestQueueBoundedByBytes checks that queued details are bounded by their
// size, not only by their count: flows past queueMaxBytes keep their rows
// and lose their details, and once written they free their share again.
func TestQueueBoundedByBytes(t *testing.T) {
	gdb, home := openDB(t)
	cfg := DefaultConfig()
	cfg.MaxBodyKB = 4 << 10 // 4 MB, so bodies are not cut here
	r := newTestRecorder(t, gdb, home, cfg, options{})
	body := []byte(`{"content":"` + strings.Repeat("x", 3<<20) + `"}`)
	const n = 12
	for i := range n {
		f := sampleFlow(i, time.Now())
		f.ClientRequest = body
		r.Record(f)
	}
	want := n - int(queueMaxBytes/int64(len(body)))
	if details, rows := r.Dropped(); details != int64(want) || rows != 0 {
		t.Fatalf("dropped %d details, %d rows; want %d, 0", details, rows, want)
	}
	if q := r.queuedBytes.Load(); q > queueMaxBytes {
		t.Fatalf("%d bytes queued, bound %d", q, queueMaxBytes)
	}
	r.drain()
	if q := r.queuedBytes.Load(); q != 0 {
		t.Fatalf("%d bytes still counted after the queue was written", q)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	rows := allRows(t, gdb)
	if len(rows) != n || checkLines(t, home, rows) != n-want {
		t.Fatalf("%d rows, want %d with %d details lines", len(rows), n, n-want)
	}
}

// TestRecordCapsBodies checks that Record cuts bodies to max_body_kb
// before queueing, and that the stored body still says how large it was,
// is cut at the cap, and has no secret that straddled the cut.
func TestRecordCapsBodies(t *testing.T) {
	const secret = "aoaSECRETstraddling-the-cap-0123456789"
	for _, tc := range []struct {
		name     string
		body     string
		wantText string // a prefix the kept text must start with
	}{
		// The secret starts 10 bytes before the 1 KB cap.
		{"json", `{"content":"` + strings.Repeat("y", 1002) + secret + strings.Repeat("z", 20000) + `"}`, `{"content":"yyy`},
		{"text", strings.Repeat("y", 1007) + "Bearer " + secret + strings.Repeat("z", 20000), "yyy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gdb, home := openDB(t)
			cfg := DefaultConfig()
			cfg.MaxBodyKB = 1
			r := newTestRecorder(t, gdb, home, cfg, options{})
			r.SetSecrets([]string{secret})
			f := sampleFlow(1, time.Now())
			big := tc.body + strings.Repeat("w", capSlack+cfg.MaxBodyKB<<10)
			f.Response = []byte(big)
			r.Record(f)
			if got := len(f.Response); got != cfg.MaxBodyKB<<10+capSlack {
				t.Fatalf("queued response of %d bytes, want %d", got, cfg.MaxBodyKB<<10+capSlack)
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			_, d, err := NewStore(gdb, home).Get(context.Background(), f.ID)
			if err != nil {
				t.Fatal(err)
			}
			b := d.Response
			if b == nil || b.Size != len(big) || len(b.Text) > cfg.MaxBodyKB<<10 || !strings.HasPrefix(b.Text, tc.wantText) ||
				!strings.Contains(b.Note, "capped at max_body_kb") || !strings.Contains(b.Note, fmt.Sprint(len(big))) {
				t.Fatalf("response = size %d, %d bytes of text, note %q", b.Size, len(b.Text), b.Note)
			}
			if strings.Contains(b.Text, secret[:8]) {
				t.Fatalf("part of the secret kept: %q", b.Text[len(b.Text)-40:])
			}
		})
	}
}
