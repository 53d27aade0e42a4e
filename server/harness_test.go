package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/flows"
	"github.com/kirobar/kirobar/internal/duration"
	"github.com/kirobar/kirobar/internal/keyguard"
	"github.com/kirobar/kirobar/internal/metrics"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
	"github.com/kirobar/kirobar/internal/testkit/testrig"
	"github.com/kirobar/kirobar/kiro"
	"github.com/kirobar/kirobar/kiro/models"
	"github.com/kirobar/kirobar/server"
)

type serverConfig = server.Config
type accountsConfig = accounts.Config

const testKey = "kb-test-client-key-0123456789"

// harness is a running kirobar (server, pool, flows, upstream client) in
// front of the fake Kiro upstream, all over loopback with a real database.
type harness struct {
	t    *testing.T
	fake *kirofake.Server
	srv  *server.Server
	mgr  *accounts.Manager
	rec  *flows.Recorder
	db   *gorm.DB
	home string
	url  string
}

type harnessOptions struct {
	fake      kirofake.Options
	accounts  int  // -1: none (the test adds its own)
	hosts     bool // URLs name host and region at the fake
	server    func(*server.Config)
	kiro      func(*kiro.Config)
	accountsC func(*accountsConfig)
	// metrics, when set, is served on /metrics and fed by the pool and
	// by every finished flow.
	metrics  *metrics.Metrics
	keyGuard *keyguard.Guard // nil: the server's default
}

// refreshToken is fake account i's refresh token.
func refreshToken(i int) string { return testrig.RefreshToken(i) }

func newHarness(t *testing.T, opt harnessOptions) *harness {
	t.Helper()
	ro := testrig.Options{Accounts: opt.accounts, Hosts: opt.hosts, Fake: opt.fake, Kiro: opt.kiro, Pool: opt.accountsC}
	if opt.metrics != nil {
		ro.PoolMetrics = opt.metrics
	}
	rig := testrig.New(t, ro)
	h := &harness{t: t, fake: rig.Fake, mgr: rig.Pool, rec: rig.Flows, db: rig.DB, home: rig.Home}
	sc := server.DefaultConfig()
	sc.Listen = "127.0.0.1:0"
	sc.APIKeys = []string{testKey}
	sc.PingInterval = duration.Duration(100 * time.Millisecond)
	sc.ShutdownGrace = duration.Duration(2 * time.Second)
	if opt.server != nil {
		opt.server(&sc)
	}
	var err error
	deps := server.Deps{
		Pool: rig.Pool, Upstream: rig.Kiro, Flows: rig.Flows,
		Models: models.NewResolver(models.DefaultAliases()), MaxAttempts: rig.PoolConfig.MaxAttempts,
		Log: rig.Log, Version: "test", Hint: "add an account", KeyGuard: opt.keyGuard,
	}
	if opt.metrics != nil {
		deps.Flows, deps.Metrics = opt.metrics.Observe(rig.Flows), opt.metrics.Handler
	}
	h.srv, err = server.New(sc, deps)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.srv.Start(); err != nil {
		t.Fatal(err)
	}
	h.url = "http://" + h.srv.Addr()
	// Registered after the rig's, so it runs first: the server drains
	// before the recorder flushes.
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := h.srv.Stop(sctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return h
}

// post sends a raw request with the test key.
func (h *harness) post(path, body string, header map[string]string) *http.Response {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-api-key", testKey)
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp
}

func readAll(t *testing.T, r io.ReadCloser) string {
	t.Helper()
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
