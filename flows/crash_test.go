package flows

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"gorm.io/gorm"
)

// crashHomeEnv tells the test binary, re-executed by the kill tests, to
// act as the recording process that gets killed; crashModeEnv says where.
const (
	crashHomeEnv = "KIROBAR_FLOWS_CRASH_HOME"
	crashModeEnv = "KIROBAR_FLOWS_CRASH_MODE"
)

// Kill points of TestCrashChild.
const (
	crashLoad   = ""       // under load, wherever the kill lands
	crashPieces = "pieces" // inside a batch's transaction, pieces written
	crashSweep  = "sweep"  // inside a sweep's transaction, rows and pieces deleted
	crashSwept  = "swept"  // after a sweep's transaction, before its files go
)

// crashSessions are the sessions TestCrashChild records at a kill point:
// each flow shares most of its bodies with the one before.
var crashSessions = []string{"a", "bb", "ccc"}

// crashTurns is how many turns of each session it records before the
// point is armed.
const crashTurns = 12

// TestCrashChild is the process the kill tests kill. Under load it
// records flows as fast as it can, rotating files often, and says "ready"
// once hundreds are committed. At a kill point it records agent sessions
// one flow at a time, printing "stored ID" for each flow once its row is
// committed (acknowledged), then arms the point: the next write or sweep
// that reaches it prints "at POINT" and hangs there until killed. It does
// nothing in a normal test run.
func TestCrashChild(t *testing.T) {
	home := os.Getenv(crashHomeEnv)
	if home == "" {
		t.Skip("runs only as the child of the kill tests")
	}
	mode := os.Getenv(crashModeEnv)
	gdb := reopenDB(t, home)
	cfg := DefaultConfig()
	cfg.QueueSize = 256
	var armed bool
	o := options{fileMaxBytes: 16 << 10}
	if mode != crashLoad {
		cfg.RetentionDays = 0
		o = options{fileMaxBytes: 8 << 10, linger: -1, maxTotalBytes: 1 << 30, sweepEvery: time.Hour,
			hook: func(point string) {
				if armed && point == mode {
					fmt.Println("at " + point)
					time.Sleep(time.Hour)
				}
			}}
	}
	r := newTestRecorder(t, gdb, home, cfg, o)
	rows, _ := r.Subscribe()
	go func() {
		if err := r.Run(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	if mode == crashLoad {
		crashLoadChild(t, r)
		return
	}
	record := func(f *Flow) {
		r.Record(f)
		row := <-rows
		fmt.Println("stored " + row.ID)
	}
	for n := 1; n <= crashTurns; n++ {
		for _, sess := range crashSessions {
			record(sessionFlow(sess, n, time.Now()))
		}
	}
	armed = true
	switch mode {
	case crashPieces:
		record(sessionFlow("a", crashTurns+1, time.Now()))
	case crashSweep, crashSwept:
		r.writeMu.Lock()
		r.maxTotalBytes = storedTotal(t, gdb, home) / 2
		r.writeMu.Unlock()
		r.sweep(context.Background())
	}
	t.Fatal("the kill point was never reached")
}

// crashLoadChild records flows as fast as it can; a tenth of them are
// agent turns whose bodies are stored as shared pieces.
func crashLoadChild(t *testing.T, r *Recorder) {
	body := bytes.Repeat([]byte("y"), 1500)
	ready := false
	for i := 0; ; i++ {
		f := sampleFlow(i, time.Now())
		if i%10 == 0 {
			f = sessionFlow(crashSessions[i/10%len(crashSessions)], i/30%15+1, time.Now())
		}
		f.ID = fmt.Sprintf("crash-%07d", i)
		f.Response = body
		r.Record(f)
		if i%50 != 0 {
			continue
		}
		if !ready && countRows(t, r.db) >= 300 {
			fmt.Println("ready")
			ready = true
		}
		time.Sleep(time.Millisecond)
	}
}

// killChild runs TestCrashChild in mode in home, waits for the line want,
// kills it with SIGKILL, and returns the ids it reported stored.
func killChild(t *testing.T, home, mode, want string) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashHomeEnv+"="+home, crashModeEnv+"="+mode)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reached := make(chan []string, 1)
	go func() {
		var stored []string
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if id, ok := strings.CutPrefix(line, "stored "); ok {
				stored = append(stored, id)
			}
			if line == want {
				reached <- stored
				return
			}
		}
		reached <- nil
	}()
	var stored []string
	select {
	case stored = <-reached:
		if stored == nil && want != "ready" {
			_ = cmd.Wait()
			t.Fatalf("child ended before %q: %s", want, stderr.String())
		}
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child never said %q: %s", want, stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("child exited cleanly; it should have been killed")
	}
	return stored
}

// skipKill skips where SIGKILL is not there, and in the child.
func skipKill(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL is POSIX")
	}
	if os.Getenv(crashHomeEnv) != "" {
		t.Skip("already the child")
	}
}

// TestKill9UnderLoad kills a recording process with SIGKILL and checks the
// database opens cleanly and every index row points at a complete details
// line with its id, and at pieces that are all there, before and after
// the startup repair.
func TestKill9UnderLoad(t *testing.T) {
	skipKill(t)
	home := t.TempDir()
	killChild(t, home, crashLoad, "ready")

	gdb := reopenDB(t, home)
	var check string
	if err := gdb.Raw("PRAGMA integrity_check").Scan(&check).Error; err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	rows := allRows(t, gdb)
	if len(rows) < 300 {
		t.Fatalf("only %d rows survived", len(rows))
	}
	// Under load many flows may have lost their details to the full queue;
	// every row that kept them must point at its own complete line.
	if n := checkLines(t, home, rows); n == 0 {
		t.Fatal("no row has details")
	}
	if checkPieces(t, gdb, home) == 0 {
		t.Fatal("no body was stored as pieces")
	}

	r := newTestRecorder(t, gdb, home, DefaultConfig(), options{})
	files, err := listFiles(home)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("%d files; the load should have rotated", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f.abs)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 0 && b[len(b)-1] != '\n' {
			t.Fatalf("%s still ends in a partial line after repair", f.rel)
		}
	}
	after := allRows(t, gdb)
	if len(after) != len(rows) || checkLines(t, home, after) == 0 {
		t.Fatalf("repair changed %d rows to %d", len(rows), len(after))
	}
	r.Record(sampleFlow(1, time.Now()))
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	checkLines(t, home, allRows(t, gdb))
	checkPieces(t, gdb, home)
}

// TestKill9DuringPieceWrite kills the recorder inside a batch's
// transaction, after it wrote the batch's line and new pieces and before
// it committed: every acknowledged flow is there and rebuilds byte for
// byte, the half-written batch left nothing behind in the piece store,
// and recording goes on after the restart.
func TestKill9DuringPieceWrite(t *testing.T) {
	skipKill(t)
	home := t.TempDir()
	stored := killChild(t, home, crashPieces, "at "+crashPieces)
	if len(stored) != crashTurns*len(crashSessions) {
		t.Fatalf("%d flows acknowledged before the kill, want %d", len(stored), crashTurns*len(crashSessions))
	}
	gdb := reopenDB(t, home)
	checkAcknowledged(t, gdb, home, stored, len(stored))
	r := newTestRecorder(t, gdb, home, DefaultConfig(), options{linger: -1})
	f := sessionFlow("a", crashTurns+1, time.Now())
	r.Record(f)
	r.drain()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	checkAcknowledged(t, gdb, home, append(stored, f.ID), len(stored)+1)
}

// TestKill9DuringSweep kills the recorder inside a retention sweep's
// transaction (nothing of it may stick) and between that transaction and
// the removal of its files (its deletions stick, the files are left
// over): either way every flow still indexed rebuilds, the piece counts
// are exact, and the next sweep finishes the job under the cap.
func TestKill9DuringSweep(t *testing.T) {
	skipKill(t)
	for _, mode := range []string{crashSweep, crashSwept} {
		t.Run(mode, func(t *testing.T) {
			home := t.TempDir()
			stored := killChild(t, home, mode, "at "+mode)
			gdb := reopenDB(t, home)
			want := len(stored)
			if mode == crashSwept {
				want = -1 // the committed transaction deleted some
			}
			checkAcknowledged(t, gdb, home, stored, want)
			total := storedTotal(t, gdb, home)
			cfg := DefaultConfig()
			cfg.RetentionDays = 0
			r := newTestRecorder(t, gdb, home, cfg, options{fileMaxBytes: 8 << 10, maxTotalBytes: total / 2, linger: -1})
			r.sweep(context.Background())
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if got := storedTotal(t, gdb, home); got > total/2 {
				t.Fatalf("stored %d bytes after the sweep, over the %d cap", got, total/2)
			}
			checkAcknowledged(t, gdb, home, nil, -1)
		})
	}
}

// checkAcknowledged checks a home after a kill: the database is sound,
// the piece store is exact and every indexed flow with details rebuilds
// its bodies; every flow in ids is still indexed with its details unless
// want is -1 (a committed sweep may have deleted some); and when want is
// not -1, exactly want flows are indexed.
func checkAcknowledged(t *testing.T, gdb *gorm.DB, home string, ids []string, want int) {
	t.Helper()
	var check string
	if err := gdb.Raw("PRAGMA integrity_check").Scan(&check).Error; err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	rows := allRows(t, gdb)
	byID := make(map[string]Row, len(rows))
	for _, r := range rows {
		byID[r.ID] = r
	}
	if want >= 0 {
		if len(rows) != want {
			t.Fatalf("%d flows indexed, want %d", len(rows), want)
		}
		for _, id := range ids {
			if r, ok := byID[id]; !ok || r.FilePath == "" {
				t.Fatalf("acknowledged flow %s lost (or lost its details)", id)
			}
		}
	}
	checkLines(t, home, rows)
	if n := checkPieces(t, gdb, home); len(rows) > 0 && n == 0 {
		t.Fatal("no body was stored as pieces")
	}
}
