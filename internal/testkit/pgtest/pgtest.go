// Package pgtest runs real PostgreSQL servers for kirobar's tests: the
// team gateway keeps its shared state in PostgreSQL, and only the real
// server shows what its locks, LISTEN/NOTIFY and transactions do.
//
// A server lives in a temporary directory (data, unix socket, log) and
// listens on a free port on 127.0.0.1. PostgreSQL refuses to run as root,
// so when the tests run as root (CI containers do) initdb and postgres run
// as the unprivileged user "nobody". Passwords are checked on TCP
// (scram-sha-256), so the URLs tests hand to kirobar carry a password the
// tests can look for in logs and errors.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// then DB(t) gives each test a database of its own on one server shared by
// the test binary (started on first use), and Start(t) a server of its own
// that the test may stop and start again. When PostgreSQL is not installed
// the test is skipped on a developer's machine and fails when CI is set,
// so the tests can never silently stop running in CI. It is for tests only.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// User and Password are the role the tests connect as.
const (
	User     = "kirobar"
	Password = "pgtest-secret-3b9f"
)

// startTimeout bounds initdb plus the server coming up on a busy machine.
const startTimeout = 60 * time.Second

// Server is one private PostgreSQL server.
type Server struct {
	bin  string // directory holding initdb and postgres
	dir  string // temp dir: data/, sock/, postgres.log
	Port int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd exited
	seq  atomic.Int64
}

// errMissing means PostgreSQL's programs are not installed.
var errMissing = errors.New("PostgreSQL is not installed")

// binDir finds initdb and postgres: $KIROBAR_PG_BIN, then Debian's
// /usr/lib/postgresql/<version>/bin (newest first), then PATH.
func binDir() (string, error) {
	var dirs []string
	if d := os.Getenv("KIROBAR_PG_BIN"); d != "" {
		dirs = append(dirs, d)
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(found, func(i, j int) bool { return pgVersion(found[i]) > pgVersion(found[j]) })
	dirs = append(dirs, found...)
	if p, err := exec.LookPath("initdb"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("%w (looked in $KIROBAR_PG_BIN, /usr/lib/postgresql/*/bin and PATH; run .ci/setup)", errMissing)
}

func pgVersion(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// skipOrFail skips when PostgreSQL is missing on a developer's machine and
// fails in CI; any other error fails.
func skipOrFail(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, errMissing) && os.Getenv("CI") == "" {
		t.Skipf("%v; skipping (CI fails here)", err)
	}
	t.Fatalf("pgtest: %v", err)
}

// Start runs a server of the test's own; it stops and its directory goes
// when the test ends. Use it for tests that stop the database.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := newServer()
	if err != nil {
		skipOrFail(t, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return s
}

// newServer initialises a data directory and starts the server.
func newServer() (*Server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(tempParent(), "kirobar-pg-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	s := &Server{bin: bin, dir: dir}
	if err := s.initdb(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if s.Port, err = freePort(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := s.Resume(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

func (s *Server) initdb() error {
	for _, sub := range []string{"data", "sock"} {
		if err := os.Mkdir(filepath.Join(s.dir, sub), 0o700); err != nil {
			return fmt.Errorf("pgtest dir: %w", err)
		}
	}
	pw := filepath.Join(s.dir, "pwfile")
	if err := os.WriteFile(pw, []byte(Password+"\n"), 0o600); err != nil {
		return fmt.Errorf("pgtest pwfile: %w", err)
	}
	if err := chownTree(s.dir); err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(s.bin, "initdb"),
		"-D", filepath.Join(s.dir, "data"), "-U", User, "--pwfile", pw,
		"--auth-local=trust", "--auth-host=scram-sha-256",
		"--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
	s.prepare(cmd)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	return nil
}

// prepare runs cmd as the unprivileged user when we are root, in the
// server's directory, with a clean environment.
func (s *Server) prepare(cmd *exec.Cmd) {
	cmd.Dir = s.dir
	cmd.Env = []string{"LC_ALL=C", "LANG=C", "PATH=/usr/bin:/bin", "TZ=UTC"}
	cmd.SysProcAttr = sysProcAttr()
}

// Resume starts the server (again) on its data directory and port and
// waits until it accepts connections.
func (s *Server) Resume() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	logf, err := os.OpenFile(filepath.Join(s.dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("pgtest log: %w", err)
	}
	cmd := exec.Command(filepath.Join(s.bin, "postgres"),
		"-D", filepath.Join(s.dir, "data"),
		"-p", strconv.Itoa(s.Port),
		"-k", filepath.Join(s.dir, "sock"),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "max_connections=300",
		"-c", "shared_buffers=32MB",
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "log_min_messages=warning",
	)
	s.prepare(cmd)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return fmt.Errorf("start postgres: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the exit is reported by done; Stop expects a signal death
		_ = logf.Close()
		close(done)
	}()
	s.cmd, s.done = cmd, done
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		c, err := pgx.Connect(ctx, s.URL("postgres"))
		if err == nil {
			_ = c.Close(ctx)
			return nil
		}
		select {
		case <-done:
			s.cmd = nil
			return fmt.Errorf("postgres exited at start: %s", s.logTail())
		case <-ctx.Done():
			return fmt.Errorf("postgres did not accept connections within %s: %v\n%s", startTimeout, err, s.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop shuts the server down ("fast": open sessions are cut, as when a
// database host goes away) and waits for it to exit. Resume starts it again.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		return fmt.Errorf("stop postgres: %w", err)
	}
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
	return nil
}

// Close stops the server and removes its directory.
func (s *Server) Close() error {
	err := s.Stop()
	if rerr := os.RemoveAll(s.dir); rerr != nil && err == nil {
		err = fmt.Errorf("remove %s: %w", s.dir, rerr)
	}
	return err
}

// URL is the connection URL of database name.
func (s *Server) URL(name string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(User, Password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)),
		Path:     "/" + name,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

var unsafeName = regexp.MustCompile(`[^a-z0-9_]+`)

// CreateDB creates an empty database for the test and returns its URL.
// The database is dropped when the test ends.
func (s *Server) CreateDB(t testing.TB) string {
	t.Helper()
	base := unsafeName.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(base) > 40 {
		base = base[:40]
	}
	name := fmt.Sprintf("t%d_%s", s.seq.Add(1), base)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// FILE_COPY copies the small template at once; PostgreSQL 15's
	// default, WAL_LOG, writes it through the log and takes seconds.
	if err := s.exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" STRATEGY = FILE_COPY"); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s.mu.Lock()
		running := s.cmd != nil
		s.mu.Unlock()
		if !running {
			return // a stopped server's directory goes with it
		}
		if err := s.exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Logf("pgtest: drop database %s: %v", name, err)
		}
	})
	return s.URL(name)
}

// exec runs one statement on the maintenance database.
func (s *Server) exec(ctx context.Context, sql string) error {
	c, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return err
	}
	defer func() { _ = c.Close(ctx) }()
	_, err = c.Exec(ctx, sql)
	return err
}

// Log returns what the server logged so far (warnings and worse).
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "postgres.log"))
	return string(b)
}

func (s *Server) logTail() string {
	b := []byte(s.Log())
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// The server shared by one test binary.
var shared struct {
	main bool
	once sync.Once
	srv  *Server
	err  error
}

// Main runs the tests and then stops the shared server, if one started.
// Call it from TestMain: os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	shared.main = true
	code := m.Run()
	if shared.srv != nil {
		if err := shared.srv.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// DB returns the URL of a new, empty database for the test on the test
// binary's shared server, starting that server on first use.
func DB(t testing.TB) string {
	t.Helper()
	if !shared.main {
		t.Fatal("pgtest: DB needs TestMain to run the tests through pgtest.Main, which stops the shared server")
	}
	shared.once.Do(func() { shared.srv, shared.err = newServer() })
	if shared.err != nil {
		skipOrFail(t, shared.err)
	}
	return shared.srv.CreateDB(t)
}
