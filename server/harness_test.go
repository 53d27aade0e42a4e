package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/flows"
	"github.com/kirobar/kirobar/internal/db"
	"github.com/kirobar/kirobar/internal/duration"
	"github.com/kirobar/kirobar/internal/kirofake"
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
	accounts  int
	server    func(*server.Config)
	kiro      func(*kiro.Config)
	accountsC func(*accountsConfig)
}

// refreshToken returns a plausible refresh token for fake account i: long
// enough to pass kirobar's truncation check.
func refreshToken(i int) string {
	return "aorAAAAA" + strings.Repeat("r", 120) + string(rune('a'+i))
}

func newHarness(t *testing.T, opt harnessOptions) *harness {
	t.Helper()
	if opt.accounts == 0 {
		opt.accounts = 1
	}
	fake, err := kirofake.Start(opt.fake)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	h := &harness{t: t, fake: fake, home: t.TempDir()}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	gdb, err := db.Open(filepath.Join(h.home, "kirobar.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(gdb) })
	h.db = gdb

	kc := kiro.DefaultConfig()
	kc.APIURL, kc.IDEURL, kc.AuthURL, kc.OIDCURL = fake.URL, fake.URL, fake.URL, fake.URL
	kc.FirstByteTimeout = duration.Duration(5 * time.Second)
	kc.IdleTimeout = duration.Duration(5 * time.Second)
	if opt.kiro != nil {
		opt.kiro(&kc)
	}
	client, err := kiro.NewClient(kc, log)
	if err != nil {
		t.Fatal(err)
	}
	ac := accounts.DefaultConfig()
	ac.MinSpacing = 0
	if opt.accountsC != nil {
		opt.accountsC(&ac)
	}
	h.mgr, err = accounts.NewManager(gdb, client, ac, accounts.Options{Log: log, Home: h.home, UserHome: h.home})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	for i := 0; i < opt.accounts; i++ {
		fake.AddAccount(kirofake.Account{
			ID: "acct" + string(rune('a'+i)), Email: "user" + string(rune('a'+i)) + "@example.com",
			AuthMethod: kirofake.AuthSocial, RefreshToken: refreshToken(i),
		})
		if _, err := h.mgr.AddRefreshToken(ctx, accounts.AddRequest{RefreshToken: refreshToken(i), AuthMethod: "social"}); err != nil {
			t.Fatal(err)
		}
	}
	h.rec, err = flows.NewRecorder(gdb, h.home, flows.DefaultConfig(), log)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 2)
	go func() { _ = h.mgr.Run(ctx); done <- struct{}{} }()
	go func() { _ = h.rec.Run(ctx); done <- struct{}{} }()

	sc := server.DefaultConfig()
	sc.Listen = "127.0.0.1:0"
	sc.APIKeys = []string{testKey}
	sc.PingInterval = duration.Duration(100 * time.Millisecond)
	sc.ShutdownGrace = duration.Duration(2 * time.Second)
	if opt.server != nil {
		opt.server(&sc)
	}
	h.srv, err = server.New(sc, server.Deps{
		Pool: h.mgr, Upstream: client, Flows: h.rec,
		Models: models.NewResolver(models.DefaultAliases()), MaxAttempts: ac.MaxAttempts,
		Log: log, Version: "test", Hint: "add an account",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.srv.Start(); err != nil {
		t.Fatal(err)
	}
	h.url = "http://" + h.srv.Addr()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := h.srv.Stop(sctx); err != nil {
			t.Errorf("stop: %v", err)
		}
		_ = h.rec.Close()
		cancel()
		<-done
		<-done
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
