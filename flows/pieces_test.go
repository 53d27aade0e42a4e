package flows

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
)

// sessionBody is the client body of turn n of agent session sess: the
// same system prompt and tools every turn, and every earlier exchange
// with its tool result, which is random text (incompressible, like real
// file contents are to a size check) seeded by session and turn.
func sessionBody(sess string, n int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `{"model":"claude-sonnet-4-5","max_tokens":32000,"stream":true,"system":"%s session %s","messages":[`, strings.Repeat("Be careful and precise. ", 120), sess)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"role":"assistant","content":[{"type":"tool_use","id":"t%s%d","name":"Read","input":{"path":"/f%d"}}]},`, sess, i, i)
		fmt.Fprintf(&b, `{"role":"user","content":[{"type":"tool_result","tool_use_id":"t%s%d","content":"%s %s"}]}`, sess, i, sess, toolResult(len(sess), i))
	}
	fmt.Fprintf(&b, `],"tools":[{"name":"Read","description":"%s"}]}`, strings.Repeat("Reads a file. ", 100))
	return []byte(b.String())
}

// toolResults caches toolResult: a session's turns resend every result.
var toolResults sync.Map

// toolResult is the random (base64) tool result of turn i of a session.
func toolResult(sess, i int) string {
	key := [2]int{sess, i}
	if s, ok := toolResults.Load(key); ok {
		return s.(string)
	}
	r := rand.New(rand.NewPCG(uint64(sess), uint64(i)))
	blob := make([]byte, 1500+r.IntN(3000))
	for j := range blob {
		blob[j] = byte(r.Uint32())
	}
	s := base64.StdEncoding.EncodeToString(blob)
	toolResults.Store(key, s)
	return s
}

// sessionFlow is flow n of session sess with its client body and a Kiro
// body that shares its tool results and has a large part of its own
// (as Kiro's currentMessage is), used by no other flow.
func sessionFlow(sess string, n int, at time.Time) *Flow {
	f := sampleFlow(n, at)
	f.ID = fmt.Sprintf("%s-%03d", sess, n)
	f.ClientRequest = sessionBody(sess, n)
	up := bytes.ReplaceAll(f.ClientRequest, []byte(`"role":"assistant"`), []byte(`"kiro":"assistantResponseMessage"`))
	own := strings.Repeat(fmt.Sprintf("%s turn %d. ", sess, n), 150)
	f.UpstreamRequest = fmt.Appendf(nil, `{"conversationState":%s,"current":"%s"}`, up, own)
	return f
}

// pieceCount returns how many pieces are stored.
func pieceCount(t testing.TB, gdb *gorm.DB) int64 {
	t.Helper()
	var n int64
	if err := gdb.Model(&pieceRow{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// storedTotal is what the size cap counts: detail files and pieces.
func storedTotal(t testing.TB, gdb *gorm.DB, home string) int64 {
	t.Helper()
	files, err := listFiles(home)
	if err != nil {
		t.Fatal(err)
	}
	n, err := newSQLPieces(gdb).total(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		n += f.size
	}
	return n
}

func TestPiecesRebuildByteForByte(t *testing.T) {
	gdb, home := openDB(t)
	r := newTestRecorder(t, gdb, home, DefaultConfig(), options{linger: -1})
	r.SetSecrets([]string{"kb-live-secret-0042"})
	at := time.Now()
	var want []*Flow
	for n := 1; n <= 12; n++ {
		f := sessionFlow("a", n, at)
		if n == 5 {
			// A secret in a shared part: redacted before anything is
			// stored, pieces included.
			f.ClientRequest = bytes.Replace(f.ClientRequest, []byte("Reads a file."), []byte("Reads kb-live-secret-0042."), 1)
		}
		if n == 7 {
			// A body holding the reference key is stored whole.
			f.ClientRequest = bytes.Replace(f.ClientRequest, []byte(`"stream":true`), []byte(`"stream":true,"\u0000":1`), 1)
		}
		cp := *f
		want = append(want, &cp)
		r.Record(f)
		r.drain()
	}
	// Flows of one batch share pieces none of them found stored.
	for n := 1; n <= 3; n++ {
		f := sessionFlow("bb", n, at)
		cp := *f
		want = append(want, &cp)
		r.Record(f)
	}
	r.drain()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if n := checkPieces(t, gdb, home); n < 20 {
		t.Fatalf("only %d bodies were stored as pieces", n)
	}
	s := NewStore(gdb, home)
	for _, f := range want {
		_, d, err := s.Get(context.Background(), f.ID)
		if err != nil {
			t.Fatal(err)
		}
		for i, got := range []*Body{d.ClientRequest, d.UpstreamRequest} {
			body := [][]byte{f.ClientRequest, f.UpstreamRequest}[i]
			if bytes.Contains(body, []byte("kb-live-secret-0042")) {
				body = bytes.ReplaceAll(body, []byte("kb-live-secret-0042"), []byte(redacted))
			}
			if !bytes.Equal(got.JSON, body) || got.Size != len([][]byte{f.ClientRequest, f.UpstreamRequest}[i]) {
				t.Fatalf("flow %s body %d: rebuilt %d bytes (size %d), want %d", f.ID, i, len(got.JSON), got.Size, len(body))
			}
		}
	}
	// Nothing on disk holds the secret: not the lines, not the pieces.
	var data []pieceData
	if err := gdb.Find(&data).Error; err != nil {
		t.Fatal(err)
	}
	ps := newSQLPieces(gdb)
	for _, d := range data {
		var p pieceRow
		if err := gdb.Where("hash = ?", d.Hash).First(&p).Error; err != nil {
			t.Fatal(err)
		}
		raw, err := ps.decode(p.Codec, p.RawSize, d.Data)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte("kb-live-secret-0042")) {
			t.Fatal("a stored piece holds the secret")
		}
	}
	files, _ := listFiles(home)
	for _, f := range files {
		b, _ := os.ReadFile(f.abs)
		if bytes.Contains(b, []byte("kb-live-secret-0042")) {
			t.Fatal("a detail file holds the secret")
		}
	}
}

func TestPiecesDamagedStoreSaysSo(t *testing.T) {
	gdb, home := openDB(t)
	r := newTestRecorder(t, gdb, home, DefaultConfig(), options{linger: -1})
	r.Record(sessionFlow("a", 6, time.Now()))
	r.drain()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		damage func() error
		note   string
	}{
		{"bytes changed", func() error {
			return gdb.Exec("UPDATE flow_piece_data SET data = CAST('x' AS BLOB) WHERE hash IN (SELECT hash FROM flow_pieces WHERE codec = 0 LIMIT 1)").Error
		}, "does not match its hash"},
		{"piece missing", func() error { return gdb.Exec("DELETE FROM flow_pieces").Error }, "missing"},
	} {
		if err := tc.damage(); err != nil {
			t.Fatal(err)
		}
		_, d, err := NewStore(gdb, home).Get(context.Background(), "a-006")
		if err != nil {
			t.Fatal(err)
		}
		if d.ClientRequest == nil || len(d.ClientRequest.JSON) != 0 || !strings.Contains(d.ClientRequest.Note, tc.note) {
			t.Fatalf("%s: body %+v, want no JSON and a note saying %q", tc.name, d.ClientRequest, tc.note)
		}
		if d.Response == nil || d.Response.Text == "" {
			t.Fatalf("%s: the rest of the details should still read", tc.name)
		}
	}
}

// TestPiecesGoWithTheirLastFile follows a session across three days and
// one file a day: each sweep keeps exactly the pieces a kept file still
// uses, and the last file's removal leaves nothing stored.
func TestPiecesGoWithTheirLastFile(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 3, d, 12, 0, 0, 0, time.Local) }
	gdb, home := openDB(t)
	clock := &testClock{t: day(1)}
	cfg := DefaultConfig()
	cfg.RetentionDays = 2
	cfg.MaxTotalMB = 0
	r := newTestRecorder(t, gdb, home, cfg, options{now: clock.now, linger: -1})
	n := 0
	for _, d := range []int{1, 2, 3} {
		clock.set(day(d))
		for range 8 {
			n++
			r.Record(sessionFlow("a", n, day(d)))
			r.drain()
		}
	}
	checkPieces(t, gdb, home)
	first := pieceCount(t, gdb)
	// The first day's file goes with its rows, and with the pieces only
	// it used (the tail runs of its turns); what later days share stays.
	clock.set(day(3).Add(13 * time.Hour))
	r.sweep(context.Background())
	checkPieces(t, gdb, home)
	if got := len(allRows(t, gdb)); got != 16 {
		t.Fatalf("%d rows after the first sweep, want 16", got)
	}
	if after := pieceCount(t, gdb); after >= first || after == 0 {
		t.Fatalf("pieces %d -> %d: want fewer, not none", first, after)
	}
	// Closed, the recorder writes no file, so the last one can go too.
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	clock.set(day(6).Add(time.Hour))
	if err := r.retain(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkPieces(t, gdb, home)
	for _, table := range []any{&Row{}, &pieceRow{}, &pieceData{}, &fileRef{}} {
		var c int64
		if err := gdb.Model(table).Count(&c).Error; err != nil {
			t.Fatal(err)
		}
		if c != 0 {
			t.Fatalf("%T: %d rows left after every file went", table, c)
		}
	}
}

// TestPiecesSizeCapExact records three sessions one after the other, a
// file per few flows, under a cap far below what they store: the sweep
// deletes the oldest files, and the pieces only they used, until the
// files and the pieces fit.
func TestPiecesSizeCapExact(t *testing.T) {
	gdb, home := openDB(t)
	cfg := DefaultConfig()
	cfg.RetentionDays = 0
	const limit = 300 << 10
	r := newTestRecorder(t, gdb, home, cfg, options{fileMaxBytes: 8 << 10, maxTotalBytes: 1 << 30, linger: -1, sweepEvery: time.Hour})
	at := time.Now()
	for _, sess := range []string{"a", "bb", "ccc"} {
		for n := 1; n <= 30; n++ {
			r.Record(sessionFlow(sess, n, at))
			r.drain()
		}
	}
	before := storedTotal(t, gdb, home)
	if before <= limit {
		t.Fatalf("stored %d bytes, not over the %d cap: the test proves nothing", before, limit)
	}
	filesBefore, _ := listFiles(home)
	r.maxTotalBytes = limit
	r.sweep(context.Background())
	after := storedTotal(t, gdb, home)
	if after > limit {
		t.Fatalf("stored %d bytes after the sweep, over the %d cap", after, limit)
	}
	files, _ := listFiles(home)
	if len(files) == len(filesBefore) || len(files) < 2 {
		t.Fatalf("%d files before, %d after", len(filesBefore), len(files))
	}
	// Oldest first, and no more than needed: the newest files are the
	// ones kept, and keeping the newest deleted one too would not fit.
	for i, f := range files {
		if f.rel != filesBefore[len(filesBefore)-len(files)+i].rel {
			t.Fatalf("kept %s, not the newest files", f.rel)
		}
	}
	checkPieces(t, gdb, home)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	// A fresh total from scratch agrees: the counts did not drift.
	gdb2 := reopenDB(t, home)
	if got := storedTotal(t, gdb2, home); got != after {
		t.Fatalf("total %d on reopening, %d before", got, after)
	}
}

// TestPiecesNotOverDeleted checks the other half of an exact cap: a
// sweep under a cap the store already fits deletes nothing.
func TestPiecesNotOverDeleted(t *testing.T) {
	gdb, home := openDB(t)
	cfg := DefaultConfig()
	cfg.RetentionDays = 0
	r := newTestRecorder(t, gdb, home, cfg, options{fileMaxBytes: 8 << 10, maxTotalBytes: 1 << 30, linger: -1})
	for n := 1; n <= 10; n++ {
		r.Record(sessionFlow("a", n, time.Now()))
		r.drain()
	}
	total, rows := storedTotal(t, gdb, home), len(allRows(t, gdb))
	r.maxTotalBytes = total
	r.sweep(context.Background())
	if got := len(allRows(t, gdb)); got != rows {
		t.Fatalf("%d rows after a sweep at exactly the stored total, want %d", got, rows)
	}
	r.maxTotalBytes = total - 1
	r.sweep(context.Background())
	if got := len(allRows(t, gdb)); got >= rows {
		t.Fatalf("%d rows after a sweep one byte under the total, want fewer than %d", got, rows)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	checkPieces(t, gdb, home)
}

// TestPiecesOfMissingFileReleased removes a detail file behind kirobar's
// back: the next sweep lets go of the pieces only it used.
func TestPiecesOfMissingFileReleased(t *testing.T) {
	gdb, home := openDB(t)
	r := newTestRecorder(t, gdb, home, DefaultConfig(), options{fileMaxBytes: 1, linger: -1})
	r.Record(sessionFlow("a", 3, time.Now()))
	r.drain()
	r.Record(sessionFlow("zz", 3, time.Now()))
	r.drain()
	files, _ := listFiles(home)
	if len(files) != 2 {
		t.Fatalf("%d files, want 2", len(files))
	}
	before := pieceCount(t, gdb)
	if err := os.Remove(files[0].abs); err != nil {
		t.Fatal(err)
	}
	r.sweep(context.Background())
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if after := pieceCount(t, gdb); after >= before {
		t.Fatalf("pieces %d -> %d after a file went missing", before, after)
	}
	var refs []string
	gdb.Model(&fileRef{}).Distinct().Pluck("file", &refs)
	if len(refs) != 1 || refs[0] != files[1].rel {
		t.Fatalf("files with references: %v, want only %s", refs, files[1].rel)
	}
}

// TestOldFormatReadsBack opens the home an earlier kirobar wrote (its
// kirobar.db and details file, before pieces existed) and reads every
// flow back as that kirobar did; recording goes on beside it.
func TestOldFormatReadsBack(t *testing.T) {
	home := t.TempDir()
	if err := os.CopyFS(home, os.DirFS(filepath.Join("testdata", "v1"))); err != nil {
		t.Fatal(err)
	}
	var want []Details
	b, err := os.ReadFile(filepath.Join(home, "details.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	gdb := reopenDB(t, home)
	r := newTestRecorder(t, gdb, home, DefaultConfig(), options{linger: -1})
	s := NewStore(gdb, home)
	check := func() {
		t.Helper()
		for _, w := range want {
			_, d, err := s.Get(context.Background(), w.ID)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(d)
			exp, _ := json.Marshal(w)
			if !bytes.Equal(got, exp) {
				t.Fatalf("flow %s reads back as\n%s\nwant\n%s", w.ID, got, exp)
			}
		}
	}
	check()
	f := sessionFlow("new", 4, time.Date(2026, 11, 20, 11, 0, 0, 0, time.Local))
	r.Record(f)
	r.drain()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	check()
	if checkPieces(t, gdb, home) != 2 {
		t.Fatal("the new flow's bodies were not stored as pieces beside the old lines")
	}
}
