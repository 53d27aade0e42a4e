package dashboard

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/flows"
	"github.com/kirobar/kirobar/internal/duration"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
	"github.com/kirobar/kirobar/internal/testkit/testrig"
	"github.com/kirobar/kirobar/kiro/models"
	"github.com/kirobar/kirobar/server"
)

const testKey = "kb-dashboard-test-key-0123456789"

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		return time.Now()
	}
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// harness is a running kirobar with its dashboard: server, pool, flows
// and upstream client in front of the fake Kiro upstream, over loopback
// with a real database.
type harness struct {
	t     testing.TB
	db    *gorm.DB
	fake  *kirofake.Server
	srv   *server.Server
	mgr   *accounts.Manager
	rec   *flows.Recorder
	dash  *Handler
	clock *clock
	home  string
	url   string
}

type harnessOptions struct {
	accounts int
	login    LoginFunc
	noFlows  bool
	// team, when set, makes this a team gateway's instance.
	team Team
}

// refreshToken is fake account i's refresh token.
func refreshToken(i int) string { return testrig.RefreshToken(i) }

func newHarness(t testing.TB, opt harnessOptions) *harness {
	t.Helper()
	rig := testrig.New(t, testrig.Options{Accounts: opt.accounts})
	h := &harness{t: t, fake: rig.Fake, home: rig.Home, clock: &clock{}, db: rig.DB, mgr: rig.Pool, rec: rig.Flows}
	gdb, client, log := rig.DB, rig.Kiro, rig.Log
	var rec server.Recorder
	var err error
	deps := Deps{
		Accounts: h.mgr, Models: models.NewResolver(models.DefaultAliases()),
		Home: h.home, Keys: []string{testKey}, Version: "test", Log: log,
		Now: h.clock.now, PingInterval: 50 * time.Millisecond, Login: opt.login,
		Bundle: flows.BundleExtras{Version: "test", Secrets: []string{testKey}},
	}
	if !opt.noFlows {
		deps.DB, deps.Feed = gdb, h.rec
		rec = h.rec
	}
	deps.Team = opt.team
	var srvRef struct {
		mu  sync.Mutex
		srv *server.Server
	}
	deps.Server = lazyServer{get: func() *server.Server { srvRef.mu.Lock(); defer srvRef.mu.Unlock(); return srvRef.srv }}
	h.dash, err = New(deps)
	if err != nil {
		t.Fatal(err)
	}
	sc := server.DefaultConfig()
	sc.Listen = "127.0.0.1:0"
	sc.APIKeys = []string{testKey}
	sc.PingInterval = duration.Duration(100 * time.Millisecond)
	sc.ShutdownGrace = duration.Duration(2 * time.Second)
	h.srv, err = server.New(sc, server.Deps{
		Pool: h.mgr, Upstream: client, Flows: rec,
		Models: models.NewResolver(models.DefaultAliases()), MaxAttempts: rig.PoolConfig.MaxAttempts,
		Log: log, Version: "test", Hint: "add an account", Extra: h.dash.Serve,
	})
	if err != nil {
		t.Fatal(err)
	}
	srvRef.mu.Lock()
	srvRef.srv = h.srv
	srvRef.mu.Unlock()
	if err := h.srv.Start(); err != nil {
		t.Fatal(err)
	}
	h.url = "http://" + h.srv.Addr()
	t.Cleanup(func() {
		h.dash.Close()
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := h.srv.Stop(sctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return h
}

// lazyServer lets the dashboard see a server made after it.
type lazyServer struct{ get func() *server.Server }

func (l lazyServer) Running() bool { s := l.get(); return s != nil && s.Running() }
func (l lazyServer) Addr() string {
	s := l.get()
	if s == nil {
		return ""
	}
	return s.Addr()
}
func (l lazyServer) SpeedTest(ctx context.Context, id string) server.SpeedResult {
	return l.get().SpeedTest(ctx, id)
}
func (l lazyServer) RequestsToday() int {
	s := l.get()
	if s == nil {
		return 0
	}
	return s.RequestsToday()
}

// browser is a signed-in page: its cookie and CSRF token.
type browser struct {
	h      *harness
	cookie string
	csrf   string
}

// signIn signs in with the client key, as the sign-in form does.
func (h *harness) signIn() *browser {
	h.t.Helper()
	resp := h.do(http.MethodPost, "/api/session", `{"key":"`+testKey+`"}`, map[string]string{"Content-Type": "application/json"})
	body := readAll(h.t, resp)
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("sign in: %d %s", resp.StatusCode, body)
	}
	var info sessionInfo
	if err := json.Unmarshal([]byte(body), &info); err != nil {
		h.t.Fatal(err)
	}
	var cookie string
	for _, c := range resp.Cookies() {
		if c.Name == h.cookieName() {
			cookie = c.Value
		}
	}
	if cookie == "" || info.CSRF == "" {
		h.t.Fatalf("sign in gave cookie %q csrf %q", cookie, info.CSRF)
	}
	return &browser{h: h, cookie: cookie, csrf: info.CSRF}
}

// do sends a request without following redirects.
func (h *harness) do(method, path, body string, header map[string]string) *http.Response {
	h.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.url+path, r)
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 60 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp
}

// get and post send the browser's cookie (and on POST its CSRF token).
func (b *browser) get(path string) (int, string) {
	b.h.t.Helper()
	resp := b.h.do(http.MethodGet, path, "", map[string]string{"Cookie": b.h.cookieName() + "=" + b.cookie})
	return resp.StatusCode, readAll(b.h.t, resp)
}

func (b *browser) post(path, body string) (int, string) {
	b.h.t.Helper()
	if body == "" {
		body = "{}"
	}
	resp := b.h.do(http.MethodPost, path, body, map[string]string{
		"Cookie": b.h.cookieName() + "=" + b.cookie, csrfHeader: b.csrf, "Content-Type": "application/json",
		"Origin": b.h.url, "Sec-Fetch-Site": "same-origin",
	})
	return resp.StatusCode, readAll(b.h.t, resp)
}

// message sends one Anthropic request through the proxy.
func (h *harness) message(text string) {
	h.t.Helper()
	resp := h.do(http.MethodPost, "/v1/messages",
		`{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"`+text+`"}]}`,
		map[string]string{"x-api-key": testKey, "Content-Type": "application/json", "anthropic-version": "2023-06-01"})
	body := readAll(h.t, resp)
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("message: %d %s", resp.StatusCode, body)
	}
}

// waitFlows polls until the index holds n flows.
func (h *harness) waitFlows(b *browser, n int) []flowRow {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := b.get("/api/flows?limit=200")
		if code != http.StatusOK {
			h.t.Fatalf("flows: %d %s", code, body)
		}
		var page flowPage
		if err := json.Unmarshal([]byte(body), &page); err != nil {
			h.t.Fatal(err)
		}
		if len(page.Flows) >= n {
			return page.Flows
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%d flows after 10s, want %d", len(page.Flows), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readAll(t testing.TB, r *http.Response) string {
	t.Helper()
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func decode[T any](t testing.TB, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	return v
}

// cookieName is the session cookie's name on the harness's listener.
func (h *harness) cookieName() string {
	_, port, _ := net.SplitHostPort(h.srv.Addr())
	n, _ := strconv.Atoi(port)
	return cookieNameFor(n)
}
