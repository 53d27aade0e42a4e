package instance

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

// TestMain lets the test binary act as the other kirobar: with
// KIROBAR_INSTANCE_HOLD set it takes the lock, says so, and holds it until
// its stdin closes.
func TestMain(m *testing.M) {
	if home := os.Getenv("KIROBAR_INSTANCE_HOLD"); home != "" {
		l, err := Acquire(home, t0)
		if err != nil {
			os.Stdout.WriteString("error " + err.Error() + "\n")
			os.Exit(2)
		}
		if err := l.SetAddr("127.0.0.1:8999"); err != nil {
			os.Stdout.WriteString("error " + err.Error() + "\n")
			os.Exit(2)
		}
		os.Stdout.WriteString("locked\n")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestSecondAcquireNamesTheHolder(t *testing.T) {
	home := filepath.Join(t.TempDir(), "kirobar home")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "KIROBAR_INSTANCE_HOLD="+home)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("holder said %q, %v", line, err)
	}

	_, err = Acquire(home, t0)
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("second Acquire: %v, want a *HeldError", err)
	}
	if held.Holder.PID != cmd.Process.Pid {
		t.Errorf("holder pid %d, want %d", held.Holder.PID, cmd.Process.Pid)
	}
	for _, want := range []string{"already running", "pid " + strconv.Itoa(cmd.Process.Pid), "serving on 127.0.0.1:8999", "home " + home} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}

	// Once the holder exits, the OS drops its lock and we get it.
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("holder: %v", err)
	}
	l, err := Acquire(home, t0)
	if err != nil {
		t.Fatalf("Acquire after the holder left: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
}

func TestAcquireInProcessAndRelease(t *testing.T) {
	home := t.TempDir()
	l, err := Acquire(home, t0)
	if err != nil {
		t.Fatal(err)
	}
	info, err := ReadInfo(home)
	if err != nil {
		t.Fatal(err)
	}
	if info.PID != os.Getpid() || info.Addr != "" || !info.Started.Equal(t0) || info.Home != home {
		t.Errorf("info = %+v", info)
	}
	if err := l.SetAddr("127.0.0.1:9000"); err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(home, t0)
	var held *HeldError
	if !errors.As(err, &held) || held.Holder.Addr != "127.0.0.1:9000" {
		t.Fatalf("second Acquire: %v (%+v)", err, held)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(home, InfoFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("info file after Release: %v", err)
	}
	l2, err := Acquire(home, t0)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	if err := l2.Release(); err != nil {
		t.Fatal(err)
	}
}

func TestHeldErrorMessage(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  HeldError
		want string
	}{
		{"unknown holder", HeldError{Lock: "/h/kirobar.lock"}, "kirobar is already running (home /h)"},
		{"stopped server", HeldError{Lock: "/h/kirobar.lock", Holder: Info{PID: 7}}, "kirobar is already running (pid 7, home /h)"},
		{"serving", HeldError{Lock: "/h/kirobar.lock", Holder: Info{PID: 7, Addr: "127.0.0.1:8999"}}, "kirobar is already running (pid 7, serving on 127.0.0.1:8999, home /h)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := filepath.ToSlash(tc.err.Error()); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
