//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kirobar/kirobar/internal/testkit/kirofake"
)

// benchKey is the client key the kirobar under test accepts.
const benchKey = "kb-bench-client-key-0123456789"

// refreshToken is the fake account's refresh token: long enough to pass
// kirobar's truncation check.
var refreshToken = "aorAAAAA" + strings.Repeat("b", 120)

// countingListener counts accepted connections, which is how the report
// knows whether kirobar reuses its upstream connections.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

// rig is the system under test: the fake Kiro upstream on two loopback
// listeners (one for kirobar, one for the direct path, each counting its
// connections) and a kirobar process configured against it.
type rig struct {
	fake     *kirofake.Server
	servers  []*http.Server
	upstream *countingListener // the fake as kirobar sees it
	direct   *countingListener // the fake as the direct path sees it

	dir         string
	home        string
	kirobarURL  string
	directURL   string
	pprofAddr   string
	accessToken string
	cmd         *exec.Cmd
	exited      chan error
	logPath     string
	pinned      string // kirobar's allowed CPUs, for the report
}

// rigOptions says how to start the rig.
type rigOptions struct {
	bin     string // prebuilt kirobar; "" builds one
	cpus    []int  // kirobar's CPUs; nil leaves it unpinned
	profile bool   // serve pprof from kirobar (KIROBAR_PPROF)
	flows   bool   // record flows (kirobar's default)
}

func startRig(ctx context.Context, opt rigOptions) (*rig, error) {
	dir, err := os.MkdirTemp("", "kirobar-bench-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	r := &rig{dir: dir, home: filepath.Join(dir, "home")}
	fake, err := kirofake.New(kirofake.Options{RecordLimit: -1})
	if err != nil {
		r.close()
		return nil, fmt.Errorf("fake: %w", err)
	}
	r.fake = fake
	fake.AddAccount(kirofake.Account{ID: "bench", Email: "bench@example.com", AuthMethod: kirofake.AuthSocial, RefreshToken: refreshToken, Limit: 1e12})
	fake.SetResponder(standardReply)
	if r.upstream, err = r.serveFake(); err != nil {
		r.close()
		return nil, err
	}
	if r.direct, err = r.serveFake(); err != nil {
		r.close()
		return nil, err
	}
	r.directURL = "http://" + r.direct.Addr().String()
	if err := r.startKirobar(ctx, opt); err != nil {
		r.close()
		return nil, err
	}
	if r.accessToken, err = r.login(ctx); err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

// serveFake serves the fake's handler on a new counting loopback listener.
func (r *rig) serveFake() (*countingListener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fake listener: %w", err)
	}
	cl := &countingListener{Listener: ln}
	srv := &http.Server{Handler: r.fake.Handler(), ReadHeaderTimeout: 10 * time.Second}
	r.servers = append(r.servers, srv)
	go func() {
		// Serve returns http.ErrServerClosed at close; the bench's requests
		// fail visibly on any other error.
		_ = srv.Serve(cl)
	}()
	return cl, nil
}

// startKirobar builds kirobar, writes its config, adds the fake account
// with the real CLI and starts `kirobar serve`.
func (r *rig) startKirobar(ctx context.Context, opt rigOptions) error {
	bin := opt.bin
	if bin == "" {
		bin = filepath.Join(r.dir, "kirobar")
		if err := buildKirobar(ctx, bin); err != nil {
			return err
		}
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	r.kirobarURL = "http://" + addr
	fakeURL := "http://" + r.upstream.Addr().String()
	if err := writeConfig(r.home, addr, fakeURL, opt.flows); err != nil {
		return err
	}
	add := exec.CommandContext(ctx, bin, "--home", r.home, "accounts", "add", "--refresh-token", refreshToken)
	add.Env = append(os.Environ(), "KIROBAR_HOME=")
	if out, err := add.CombinedOutput(); err != nil {
		return fmt.Errorf("kirobar accounts add: %w\n%s", err, out)
	}

	r.logPath = filepath.Join(r.dir, "serve.log")
	logf, err := os.Create(r.logPath)
	if err != nil {
		return fmt.Errorf("serve log: %w", err)
	}
	defer logf.Close()
	r.cmd = exec.Command(bin, "serve", "--home", r.home)
	r.cmd.Env = append(os.Environ(), "KIROBAR_HOME=")
	if opt.profile {
		if r.pprofAddr, err = freeAddr(); err != nil {
			return err
		}
		r.cmd.Env = append(r.cmd.Env, "KIROBAR_PPROF="+r.pprofAddr)
	}
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	if err := startPinned(r.cmd.Start, opt.cpus); err != nil {
		return fmt.Errorf("start kirobar: %w", err)
	}
	r.pinned = allowedCPUs(r.cmd.Process.Pid)
	r.exited = make(chan error, 1)
	go func() { r.exited <- r.cmd.Wait() }()
	return r.waitHealthy(ctx)
}

func buildKirobar(ctx context.Context, out string) error {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("find the kirobar module: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	build := exec.CommandContext(ctx, "go", "build", "-o", out, ".")
	build.Dir = root
	if msg, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build kirobar: %w\n%s", err, msg)
	}
	return nil
}

// writeConfig points every Kiro URL at the fake. The account limits are
// lifted so the pool never queues a benchmark request: the bench measures
// the proxy, not the pool's politeness towards one account. Everything
// else keeps its default; flows can be turned off to measure the proxy
// without the recorder.
func writeConfig(home, addr, fakeURL string, flows bool) error {
	cfg := fmt.Sprintf(`[server]
listen = %q
api_keys = [%q]
[kiro]
api_url = %q
ide_url = %q
auth_url = %q
oidc_url = %q
[accounts]
max_concurrent = 4096
min_spacing = "0s"
[flows]
enabled = %t
[tray]
enabled = false
`, addr, benchKey, fakeURL, fakeURL, fakeURL, fakeURL, flows)
	if err := os.MkdirAll(home, 0o700); err != nil {
		return fmt.Errorf("kirobar home: %w", err)
	}
	if err := os.WriteFile(filepath.Join(home, "config.toml"), []byte(cfg), 0o600); err != nil {
		return fmt.Errorf("kirobar config: %w", err)
	}
	return nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitHealthy polls /health until kirobar reports a ready account.
func (r *rig) waitHealthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.kirobarURL+"/health", nil)
		if err != nil {
			return fmt.Errorf("health request: %w", err)
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = string(b)
			if resp.StatusCode == http.StatusOK && strings.Contains(last, `"status":"ok"`) {
				return nil
			}
		}
		select {
		case err := <-r.exited:
			r.exited <- err
			return fmt.Errorf("kirobar exited before it was healthy: %v (log %s)", err, r.logPath)
		case <-ctx.Done():
			return fmt.Errorf("kirobar not healthy (last /health %q, log %s): %w", last, r.logPath, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// login refreshes the fake account's token for the direct path, as
// kirobar does for itself.
func (r *rig) login(ctx context.Context) (string, error) {
	body, err := json.Marshal(map[string]string{"refreshToken": refreshToken})
	if err != nil {
		return "", fmt.Errorf("encode refresh: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.directURL+"/refreshToken", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("refresh request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("refresh for the direct path: %w", err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"accessToken"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		return "", fmt.Errorf("refresh for the direct path: status %d", resp.StatusCode)
	}
	return out.AccessToken, nil
}

// pid is kirobar's process id.
func (r *rig) pid() int { return r.cmd.Process.Pid }

// alive reports an early exit of kirobar.
func (r *rig) alive() error {
	select {
	case err := <-r.exited:
		r.exited <- err
		return fmt.Errorf("kirobar exited during the run: %v (log %s)", err, r.logPath)
	default:
		return nil
	}
}

// close stops kirobar (SIGTERM, then SIGKILL after 40 s), the fake and its
// servers, and removes the temp dir.
func (r *rig) close() {
	if r.cmd != nil && r.cmd.Process != nil && r.exited != nil {
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.exited:
		case <-time.After(40 * time.Second):
			_ = r.cmd.Process.Kill()
			<-r.exited
		}
	}
	for _, s := range r.servers {
		_ = s.Close()
	}
	if r.fake != nil {
		r.fake.Close()
	}
	if r.dir != "" {
		_ = os.RemoveAll(r.dir)
	}
}
