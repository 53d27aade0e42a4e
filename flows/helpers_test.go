package flows

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	kdb "github.com/kirobar/kirobar/internal/db"
	"github.com/kirobar/kirobar/internal/testkit/pgtest"
	"gorm.io/gorm"
)

// testClock is a settable clock for retention and file-day tests.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// openDB opens a fresh kirobar.db in a temporary home.
func openDB(t testing.TB) (*gorm.DB, string) {
	t.Helper()
	home := t.TempDir()
	gdb := reopenDB(t, home)
	return gdb, home
}

// eachDB runs test on a fresh kirobar.db and on a fresh PostgreSQL
// database (a team's shared store), each in a subtest of its own.
func eachDB(t *testing.T, test func(t *testing.T, gdb *gorm.DB, home string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		gdb, home := openDB(t)
		test(t, gdb, home)
	})
	t.Run("postgres", func(t *testing.T) {
		gdb, err := kdb.OpenPostgres(pgtest.DB(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := kdb.Close(gdb); err != nil {
				t.Errorf("close db: %v", err)
			}
		})
		test(t, gdb, t.TempDir())
	})
}

// reopenDB opens home's kirobar.db and closes it when the test ends.
func reopenDB(t testing.TB, home string) *gorm.DB {
	t.Helper()
	gdb, err := kdb.Open(filepath.Join(home, "kirobar.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := kdb.Close(gdb); err != nil {
			t.Errorf("close db: %v", err)
		}
	})
	return gdb
}

// newTestRecorder builds a recorder with test options.
func newTestRecorder(t testing.TB, gdb *gorm.DB, home string, cfg Config, o options) *Recorder {
	t.Helper()
	r, err := newRecorder(gdb, home, cfg, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runRecorder starts Run and returns a function that closes the recorder
// and waits for Run to return.
func runRecorder(t testing.TB, r *Recorder) func() {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- r.Run(context.Background()) }()
	return func() {
		t.Helper()
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// sampleFlow returns a plausible streamed Anthropic flow.
func sampleFlow(i int, at time.Time) *Flow {
	req := fmt.Sprintf(`{"model":"claude-sonnet-4-5","stream":true,"max_tokens":1024,"messages":[{"role":"user","content":"question %d"}]}`, i)
	return &Flow{
		ID:              fmt.Sprintf("flow-%04d", i),
		Time:            at,
		KeyName:         "laptop",
		Surface:         "anthropic",
		Path:            "/v1/messages",
		ClientModel:     "claude-sonnet-4-5",
		KiroModel:       "claude-sonnet-4.5",
		Stream:          true,
		AccountID:       "acct-a",
		Attempts:        []Attempt{{AccountID: "acct-a", Status: 200, Duration: 800 * time.Millisecond}},
		Status:          StatusCompleted,
		HTTPStatus:      200,
		TTFB:            300 * time.Millisecond,
		Duration:        time.Second,
		InputTokens:     100,
		OutputTokens:    20,
		Credits:         0.25,
		StopReason:      "end_turn",
		Headers:         map[string]string{"anthropic-version": "2023-06-01"},
		ClientRequest:   []byte(req),
		UpstreamRequest: []byte(`{"conversationState":{"currentMessage":{"userInputMessage":{"content":"question"}}}}`),
		Response:        []byte("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"),
		UpstreamEvents: []Event{
			{Type: "assistantResponseEvent", Payload: json.RawMessage(`{"content":"Hello"}`), At: 300 * time.Millisecond},
			{Type: "meteringEvent", Payload: json.RawMessage(`{"unit":"credit","usage":0.25}`), At: 900 * time.Millisecond},
		},
	}
}

// countRows returns the number of flow rows.
func countRows(t testing.TB, gdb *gorm.DB) int64 {
	t.Helper()
	var n int64
	if err := gdb.Model(&Row{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// allRows returns every flow row, oldest first.
func allRows(t testing.TB, gdb *gorm.DB) []Row {
	t.Helper()
	var rows []Row
	if err := gdb.Order("seq").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

// checkLines asserts that every row with a file path points at a complete
// details line carrying its id.
func checkLines(t testing.TB, home string, rows []Row) int {
	t.Helper()
	n := 0
	for _, r := range rows {
		if r.FilePath == "" {
			continue
		}
		line, err := readLine(home, r.FilePath, r.FileOffset)
		if err != nil {
			t.Fatalf("flow %s: %v", r.ID, err)
		}
		var d Details
		if err := json.Unmarshal(line, &d); err != nil {
			t.Fatalf("flow %s: line at %s:%d: %v", r.ID, r.FilePath, r.FileOffset, err)
		}
		if d.ID != r.ID {
			t.Fatalf("flow %s: line at %s:%d has id %q", r.ID, r.FilePath, r.FileOffset, d.ID)
		}
		n++
	}
	return n
}

// checkPieces asserts the piece store is exact and complete: every piece
// has its bytes and as many references as detail files and pieces make
// to it (at least one), every referenced piece is stored, the line of
// every row with details references only pieces its file holds a
// reference to, and rebuilds its bodies byte for byte (the stored hash
// checked). It returns how many bodies were rebuilt.
func checkPieces(t testing.TB, gdb *gorm.DB, home string) int {
	t.Helper()
	var pieces []pieceRow
	if err := gdb.Find(&pieces).Error; err != nil {
		t.Fatal(err)
	}
	var data []pieceData
	if err := gdb.Select("hash").Find(&data).Error; err != nil {
		t.Fatal(err)
	}
	var refs []fileRef
	if err := gdb.Find(&refs).Error; err != nil {
		t.Fatal(err)
	}
	stored := make(map[hash]pieceRow, len(pieces))
	for _, p := range pieces {
		stored[hash(p.Hash)] = p
	}
	if len(data) != len(pieces) {
		t.Fatalf("%d pieces, %d with bytes", len(pieces), len(data))
	}
	for _, d := range data {
		if _, ok := stored[hash(d.Hash)]; !ok {
			t.Fatalf("bytes of piece %x without the piece", d.Hash[:4])
		}
	}
	want := make(map[hash]int64)
	byFile := make(map[string]map[hash]bool)
	for _, r := range refs {
		h := hash(r.Hash)
		want[h]++
		if byFile[r.File] == nil {
			byFile[r.File] = make(map[hash]bool)
		}
		byFile[r.File][h] = true
	}
	var withData []storedPiece
	if err := gdb.Raw("SELECT p.hash, p.size, p.codec, p.raw_size, d.data FROM flow_pieces p JOIN flow_piece_data d ON d.hash = p.hash").Scan(&withData).Error; err != nil {
		t.Fatal(err)
	}
	ps := newSQLPieces(gdb)
	for _, p := range withData {
		kids, err := ps.children(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range kids {
			want[c]++
		}
	}
	for h, n := range want {
		if _, ok := stored[h]; !ok {
			t.Fatalf("piece %x is referenced %d times and not stored", h[:4], n)
		}
	}
	for h, p := range stored {
		if p.Refs != want[h] || p.Refs < 1 {
			t.Fatalf("piece %x counts %d references, has %d", h[:4], p.Refs, want[h])
		}
	}
	s := NewStore(gdb, home)
	n := 0
	for _, row := range allRows(t, gdb) {
		if row.FilePath == "" {
			continue
		}
		line, err := readLine(home, row.FilePath, row.FileOffset)
		if err != nil {
			t.Fatalf("flow %s: %v", row.ID, err)
		}
		var raw Details
		if err := json.Unmarshal(line, &raw); err != nil {
			t.Fatal(err)
		}
		for _, body := range []*Body{raw.ClientRequest, raw.UpstreamRequest} {
			if body == nil || len(body.Skeleton) == 0 {
				continue
			}
			roots, err := refsIn(body.Skeleton, map[hash][]byte{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range roots {
				if !byFile[row.FilePath][h] {
					t.Fatalf("flow %s in %s uses piece %x, which the file does not reference", row.ID, row.FilePath, h[:4])
				}
			}
		}
		_, d, err := s.Get(context.Background(), row.ID)
		if err != nil {
			t.Fatalf("flow %s: %v", row.ID, err)
		}
		for i, body := range []*Body{d.ClientRequest, d.UpstreamRequest} {
			stored := []*Body{raw.ClientRequest, raw.UpstreamRequest}[i]
			if body == nil || stored == nil || len(stored.Skeleton) == 0 {
				continue
			}
			if len(body.JSON) == 0 || body.Note != stored.Note || body.Skeleton != nil || body.Root != "" {
				t.Fatalf("flow %s: body not rebuilt: note %q", row.ID, body.Note)
			}
			if !json.Valid(body.JSON) {
				t.Fatalf("flow %s: rebuilt body is not the body recorded", row.ID)
			}
			n++
		}
	}
	return n
}
