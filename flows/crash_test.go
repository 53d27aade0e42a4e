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
)

// crashHomeEnv tells the test binary, re-executed by TestKill9UnderLoad, to
// act as the recording process that gets killed.
const crashHomeEnv = "KIROBAR_FLOWS_CRASH_HOME"

// TestCrashChild is the process TestKill9UnderLoad kills: it records flows
// as fast as it can, rotating files often, and says "ready" once hundreds
// of them are committed. It does nothing in a normal test run.
func TestCrashChild(t *testing.T) {
	home := os.Getenv(crashHomeEnv)
	if home == "" {
		t.Skip("runs only as the child of TestKill9UnderLoad")
	}
	gdb := reopenDB(t, home)
	cfg := DefaultConfig()
	cfg.QueueSize = 256
	r := newTestRecorder(t, gdb, home, cfg, options{fileMaxBytes: 16 << 10})
	go func() {
		if err := r.Run(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	body := bytes.Repeat([]byte("y"), 1500)
	ready := false
	for i := 0; ; i++ {
		f := sampleFlow(i, time.Now())
		f.ID = fmt.Sprintf("crash-%07d", i)
		f.Response = body
		r.Record(f)
		if i%50 != 0 {
			continue
		}
		if !ready && countRows(t, gdb) >= 300 {
			fmt.Println("ready")
			ready = true
		}
		time.Sleep(time.Millisecond)
	}
}

// TestKill9UnderLoad kills a recording process with SIGKILL and checks the
// database opens cleanly and every index row points at a complete details
// line with its id, before and after the startup repair.
func TestKill9UnderLoad(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL is POSIX")
	}
	if os.Getenv(crashHomeEnv) != "" {
		t.Skip("already the child")
	}
	home := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashHomeEnv+"="+home)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "ready" {
				ready <- true
				return
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			_ = cmd.Wait()
			t.Fatalf("child ended before it was ready: %s", stderr.String())
		}
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child never got ready: %s", stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("child exited cleanly; it should have been killed")
	}

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
}
