package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kirobar/kirobar/internal/testkit/kirofake"
	"github.com/kirobar/kirobar/internal/testkit/pgtest"
)

var kirobarBin string

func TestMain(m *testing.M) {
	if fuzzWorker() {
		// A fuzzing worker runs only the fuzz function, many times a
		// second; it needs no binary (and building one per worker would
		// stall the fuzzer).
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "kirobar-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	kirobarBin = filepath.Join(dir, "kirobar")
	build := exec.Command("go", "build", "-o", kirobarBin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build kirobar:", err)
		os.Exit(1)
	}
	code := pgtest.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// fuzzWorker reports whether this process is a worker of `go test -fuzz`.
func fuzzWorker() bool {
	for _, a := range os.Args[1:] {
		if strings.HasPrefix(a, "-test.fuzzworker") {
			return true
		}
	}
	return false
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// writeConfig writes a config.toml pointing every Kiro URL at the fake.
func writeConfig(t *testing.T, home, addr, key, fakeURL string) {
	t.Helper()
	cfg := fmt.Sprintf(`[server]
listen = %q
api_keys = [%q]
ping_interval = "200ms"
shutdown_grace = "3s"
[kiro]
api_url = %q
ide_url = %q
auth_url = %q
oidc_url = %q
[tray]
enabled = false
`, addr, key, fakeURL, fakeURL, fakeURL, fakeURL)
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "config.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

func kirobar(t *testing.T, home string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(kirobarBin, append([]string{"--home", home}, args...)...)
	cmd.Env = append(os.Environ(), "KIROBAR_HOME=")
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

func waitHealthy(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("kirobar did not become healthy")
}

// TestServeEndToEnd runs the real binary as a user would: import an
// account with the CLI, serve, answer a request, refuse a second instance,
// drain an open stream on SIGTERM, exit 0, and explain the request in
// `kirobar flows`.
func TestServeEndToEnd(t *testing.T) {
	fake, err := kirofake.Start(kirofake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	refresh := "aorAAAAA" + strings.Repeat("z", 120)
	fake.AddAccount(kirofake.Account{ID: "acct1", Email: "me@example.com", AuthMethod: kirofake.AuthSocial, RefreshToken: refresh})

	home := filepath.Join(t.TempDir(), "home")
	addr := freePort(t)
	key := "kb-e2e-key-0123456789abcdef"
	writeConfig(t, home, addr, key, fake.URL)

	if out, code := kirobar(t, home, "accounts", "add", "--refresh-token", refresh); code != 0 {
		t.Fatalf("accounts add: %d\n%s", code, out)
	}
	out, code := kirobar(t, home, "accounts", "list", "--json")
	if code != 0 || !strings.Contains(out, `"status": "ready"`) && !strings.Contains(out, `"status":"ready"`) {
		t.Fatalf("accounts list: %d\n%s", code, out)
	}
	if strings.Contains(out, refresh) {
		t.Fatal("accounts list printed a refresh token")
	}

	serve := startServe(t, home)
	url := "http://" + addr
	waitHealthy(t, url)

	// A second kirobar on the same home says so and exits 0.
	if out, code := kirobar(t, home, "serve"); code != 0 || !strings.Contains(out, "already running") {
		t.Fatalf("second instance: %d\n%s", code, out)
	}

	body := `{"model":"claude-opus-5-5","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hello"}]}`
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/messages?beta=true", strings.NewReader(body))
	req.Header.Set("x-api-key", key)
	req.Header.Set("content-type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	all := readBody(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(all, "ofake.") || !strings.Contains(all, "message_stop") {
		t.Fatalf("status %d\n%s", resp.StatusCode, all)
	}
	if st := resp.Header.Get("Server-Timing"); !strings.Contains(st, "kirobar;dur=") {
		t.Fatalf("Server-Timing %q", st)
	}

	// Open a stream that is still running when SIGTERM arrives: it is let
	// finish within the grace period, then kirobar exits 0.
	gate := make(chan struct{})
	ev := kirofake.Text(" and goodbye", 1)[0]
	ev.Gate = gate
	fake.Enqueue(kirofake.Reply{Events: append(kirofake.Text("still", 1), ev, kirofake.Metering(0.01), kirofake.ContextUsage(1))})
	req, _ = http.NewRequest(http.MethodPost, url+"/v1/messages", strings.NewReader(body))
	req.Header.Set("x-api-key", key)
	req.Header.Set("content-type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended early: %v", err)
		}
		if strings.Contains(line, "still") {
			break
		}
	}
	serve.signal(syscall.SIGTERM)
	time.Sleep(300 * time.Millisecond)
	close(gate)
	rest := readBody(t, &http.Response{Body: ioNopCloser{br}})
	if !strings.Contains(rest, "goodbye") || !strings.Contains(rest, "message_stop") {
		t.Fatalf("the open stream was not drained:\n%s", rest)
	}
	logs := serve.wait()

	out, code = kirobar(t, home, "flows", "list", "--json")
	if code != 0 {
		t.Fatalf("flows list: %d\n%s", code, out)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 2 {
		t.Fatalf("flows list: %v\n%s", err, out)
	}
	id, _ := rows[0]["id"].(string)
	out, code = kirobar(t, home, "flows", "show", id)
	if code != 0 || !strings.Contains(out, "claude-opus") {
		t.Fatalf("flows show: %d\n%s", code, out)
	}
	// No secret anywhere under the home directory or in the logs.
	assertNoSecret(t, home, logs, key, refresh, fake.Account("acct1").AccessToken)
}

// served is a kirobar process under test.
type served struct {
	t      *testing.T
	cmd    *exec.Cmd
	logs   *lockedBuffer
	exited chan error
	waited bool
}

// startServe runs `kirobar serve` on home; see startKirobar.
func startServe(t *testing.T, home string, env ...string) *served {
	t.Helper()
	return startKirobar(t, home, []string{"serve"}, env...)
}

// startKirobar runs `kirobar --home home ARGS...` with HOME in a temp
// directory (so no real Kiro IDE login is touched) and extra environment.
// The process is killed at cleanup unless the test waited for it, and its
// output is logged when the test failed.
func startKirobar(t *testing.T, home string, args []string, env ...string) *served {
	t.Helper()
	cmd := exec.Command(kirobarBin, append([]string{"--home", home}, args...)...)
	cmd.Env = append(os.Environ(), append([]string{"KIROBAR_HOME=", "HOME=" + t.TempDir()}, env...)...)
	s := &served{t: t, cmd: cmd, logs: &lockedBuffer{}, exited: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if !s.waited {
			_ = cmd.Process.Kill()
			<-s.exited
		}
		if t.Failed() {
			t.Logf("kirobar's output:\n%s", s.logs.String())
		}
	})
	return s
}

// signal sends sig to the process.
func (s *served) signal(sig os.Signal) {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatal(err)
	}
}

// wait waits for a clean exit (code 0) and returns everything printed.
func (s *served) wait() string {
	s.t.Helper()
	s.waited = true
	select {
	case err := <-s.exited:
		if err != nil {
			s.t.Fatalf("kirobar exited with %v\n%s", err, s.logs.String())
		}
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		s.t.Fatalf("kirobar did not exit\n%s", s.logs.String())
	}
	return s.logs.String()
}

// stop sends SIGTERM and waits for a clean exit.
func (s *served) stop() string {
	s.t.Helper()
	s.signal(syscall.SIGTERM)
	return s.wait()
}

// lockedBuffer collects a process's output while tests read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type ioNopCloser struct{ *bufio.Reader }

func (ioNopCloser) Close() error { return nil }

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

func assertNoSecret(t *testing.T, home, output string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(output, s) {
			t.Fatalf("a secret (%.6s…) appeared in kirobar's output", s)
		}
	}
	err := filepath.Walk(home, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		if filepath.Base(path) == "config.toml" || strings.HasPrefix(filepath.Base(path), "kirobar.db") {
			return nil // the config holds the client key and the database the tokens, by design
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			if s != "" && strings.Contains(string(data), s) {
				t.Errorf("a secret (%.6s…) is in %s", s, path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestVersionAndUsage(t *testing.T) {
	home := t.TempDir()
	if out, code := kirobar(t, home, "version"); code != 0 || !strings.HasPrefix(out, "kirobar ") {
		t.Fatalf("version: %d %q", code, out)
	}
	if out, code := kirobar(t, home, "frobnicate"); code != exitUsage || !strings.Contains(out, "unknown command") {
		t.Fatalf("unknown command: %d %q", code, out)
	}
	if err := os.WriteFile(filepath.Join(home, "config.toml"), []byte("[server]\nlisen = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := kirobar(t, home, "serve"); code != exitConfig || !strings.Contains(out, "config.toml:2:1") {
		t.Fatalf("bad config: %d %q", code, out)
	}
	_ = context.Background
}
