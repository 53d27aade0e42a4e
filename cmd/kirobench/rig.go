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
// knows whether a proxy reuses its upstream connections.
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

// rig is the system under test: the fake Kiro upstream on three loopback
// listeners (one each for kirobar, the pass-through hop and the direct
// path, each counting its connections), a kirobar process and a
// pass-through hop process in front of it.
type rig struct {
	fake     *kirofake.Server
	servers  []*http.Server
	upstream *countingListener // the fake as kirobar sees it
	hopUp    *countingListener // the fake as the hop sees it
	direct   *countingListener // the fake as the direct path sees it

	dir         string
	home        string
	kirobarURL  string
	hopURL      string
	directURL   string
	pprofAddr   string
	accessToken string
	kirobar     *proc
	hop         *proc
}

// proc is a process under test: kirobar or the hop.
type proc struct {
	name    string
	cmd     *exec.Cmd
	exited  chan error
	logPath string
	pinned  string // allowed CPUs, for the report
}

// startProc starts cmd pinned to cpus, its output in dir/name.log.
func startProc(name, dir string, cmd *exec.Cmd, cpus []int) (*proc, error) {
	p := &proc{name: name, cmd: cmd, logPath: filepath.Join(dir, name+".log")}
	logf, err := os.Create(p.logPath)
	if err != nil {
		return nil, fmt.Errorf("%s log: %w", name, err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := startPinned(cmd.Start, cpus); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p.pinned = allowedCPUs(cmd.Process.Pid)
	p.exited = make(chan error, 1)
	go func() { p.exited <- cmd.Wait() }()
	return p, nil
}

// pid is the process id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// alive reports an early exit.
func (p *proc) alive() error {
	select {
	case err := <-p.exited:
		p.exited <- err
		return fmt.Errorf("%s exited during the run: %v (log %s)", p.name, err, p.logPath)
	default:
		return nil
	}
}

// stop sends SIGTERM and, after 40 s, SIGKILL.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(40 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// rigOptions says how to start the rig.
type rigOptions struct {
	bin     string // prebuilt kirobar; "" builds one
	cpus    []int  // kirobar's and the hop's CPUs; nil leaves them unpinned
	profile bool   // serve pprof from kirobar (KIROBAR_PPROF)
	flows   bool   // record flows (kirobar's default)
	env     []string
}

func startRig(ctx context.Context, opt rigOptions) (*rig, error) {
	dir, err := os.MkdirTemp("", "kirobar-bench-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	r := &rig{dir: dir, home: filepath.Join(dir, "home")}
	fake, err := kirofake.New(kirofake.Options{RecordLimit: -1})
	if err != nil {
		r.close(io.Discard)
		return nil, fmt.Errorf("fake: %w", err)
	}
	r.fake = fake
	fake.AddAccount(kirofake.Account{ID: "bench", Email: "bench@example.com", AuthMethod: kirofake.AuthSocial, RefreshToken: refreshToken, Limit: 1e12})
	fake.SetResponder(standardReply)
	for _, ln := range []**countingListener{&r.upstream, &r.hopUp, &r.direct} {
		if *ln, err = r.serveFake(); err != nil {
			r.close(io.Discard)
			return nil, err
		}
	}
	r.directURL = "http://" + r.direct.Addr().String()
	if err := r.startKirobar(ctx, opt); err != nil {
		r.close(io.Discard)
		return nil, err
	}
	if err := r.startHop(ctx, opt.cpus); err != nil {
		r.close(io.Discard)
		return nil, err
	}
	if r.accessToken, err = r.login(ctx); err != nil {
		r.close(io.Discard)
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

	cmd := exec.Command(bin, "serve", "--home", r.home)
	cmd.Env = append(append(os.Environ(), "KIROBAR_HOME="), opt.env...)
	if opt.profile {
		if r.pprofAddr, err = freeAddr(); err != nil {
			return err
		}
		cmd.Env = append(cmd.Env, "KIROBAR_PPROF="+r.pprofAddr)
	}
	if r.kirobar, err = startProc("kirobar", r.dir, cmd, opt.cpus); err != nil {
		return err
	}
	return r.waitHealthy(ctx)
}

// startHop builds the pass-through hop and starts it on kirobar's CPUs in
// front of its own listener of the fake.
func (r *rig) startHop(ctx context.Context, cpus []int) error {
	bin := filepath.Join(r.dir, "hop")
	if err := goBuild(ctx, bin, "./cmd/kirobench/hop"); err != nil {
		return err
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	r.hopURL = "http://" + addr
	cmd := exec.Command(bin, "-listen", addr, "-target", "http://"+r.hopUp.Addr().String())
	if r.hop, err = startProc("hop", r.dir, cmd, cpus); err != nil {
		return err
	}
	return waitListening(ctx, r.hop, addr)
}

// waitListening waits until p accepts connections on addr.
func waitListening(ctx context.Context, p *proc, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		if err := p.alive(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not listening on %s (log %s): %w", p.name, addr, p.logPath, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func buildKirobar(ctx context.Context, out string) error { return goBuild(ctx, out, ".") }

// goBuild builds a main package of the kirobar module.
func goBuild(ctx context.Context, out, pkg string) error {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("find the kirobar module: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	build := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	build.Dir = root
	if msg, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %w\n%s", pkg, err, msg)
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
		if err := r.kirobar.alive(); err != nil {
			return fmt.Errorf("before it was healthy: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kirobar not healthy (last /health %q, log %s): %w", last, r.kirobar.logPath, ctx.Err())
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

// alive reports an early exit of kirobar or the hop.
func (r *rig) alive() error {
	if err := r.kirobar.alive(); err != nil {
		return err
	}
	return r.hop.alive()
}

// close stops kirobar and the hop (SIGTERM, then SIGKILL after 40 s), the
// fake and its servers, and removes the temp dir. The hop logs only its
// failures; they go to log.
func (r *rig) close(log io.Writer) {
	for _, p := range []*proc{r.kirobar, r.hop} {
		if p != nil {
			p.stop()
		}
	}
	if r.hop != nil {
		if b, err := os.ReadFile(r.hop.logPath); err == nil && len(b) > 0 {
			fmt.Fprintf(log, "bench: the hop logged:\n%s", b[:min(len(b), 4096)])
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
