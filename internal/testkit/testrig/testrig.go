// Package testrig assembles kirobar's parts around the fake Kiro upstream
// for tests: a real SQLite database, the Kiro client pointed at
// internal/testkit/kirofake, the account pool with signed-in accounts, and the flow
// recorder, running until the test ends. Test harnesses build their server,
// dashboard or client on top of it, so every end-to-end test exercises the
// same wiring.
package testrig

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/flows"
	"github.com/kirobar/kirobar/internal/db"
	"github.com/kirobar/kirobar/internal/duration"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
	"github.com/kirobar/kirobar/kiro"
)

// Options shape a rig.
type Options struct {
	// Accounts is how many accounts the fake knows and the pool holds
	// (default 1; -1 for none, for tests that add their own); account i
	// has AccountID(i) at the fake.
	Accounts int
	// Hosts points kirobar at the fake with host and region in every URL
	// (kirofake.Server.HostURLs), so the fake applies each host's and
	// region's rules and tests see where calls went.
	Hosts bool
	// Fake configures the fake upstream.
	Fake kirofake.Options
	// Kiro and Pool adjust the client's and the pool's configuration.
	Kiro func(*kiro.Config)
	Pool func(*accounts.Config)
	// PoolMetrics receives the pool's refreshes and queue waits.
	PoolMetrics accounts.Metrics
}

// Rig is a running set of kirobar's parts.
type Rig struct {
	Fake  *kirofake.Server
	DB    *gorm.DB
	Home  string
	Kiro  *kiro.Client
	Pool  *accounts.Manager
	Flows *flows.Recorder
	Log   *slog.Logger
	// PoolConfig is the pool's configuration, for callers that need its
	// MaxAttempts.
	PoolConfig accounts.Config
}

// RefreshToken is a plausible refresh token for fake account i: long
// enough to pass kirobar's truncation check.
func RefreshToken(i int) string {
	return "aorAAAAA" + strings.Repeat("r", 120) + string(rune('a'+i))
}

// AccountID is fake account i's id at the fake upstream ("accta", ...).
func AccountID(i int) string { return "acct" + string(rune('a'+i)) }

// New starts a rig; everything stops when the test ends, the recorder
// flushed first.
func New(t testing.TB, opt Options) *Rig {
	t.Helper()
	if opt.Accounts == 0 {
		opt.Accounts = 1
	}
	fake, err := kirofake.Start(opt.Fake)
	if err != nil {
		t.Fatal(err)
	}
	r := &Rig{Fake: fake, Home: t.TempDir(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	r.DB, err = db.Open(filepath.Join(r.Home, "kirobar.db"))
	if err != nil {
		fake.Close()
		t.Fatal(err)
	}
	kc := kiro.DefaultConfig()
	kc.APIURL, kc.IDEURL, kc.AuthURL, kc.OIDCURL = fake.URL, fake.URL, fake.URL, fake.URL
	if opt.Hosts {
		u := fake.HostURLs()
		kc.APIURL, kc.IDEURL, kc.AuthURL, kc.OIDCURL = u.API, u.IDE, u.Auth, u.OIDC
	}
	kc.FirstByteTimeout = duration.Duration(5 * time.Second)
	kc.IdleTimeout = duration.Duration(5 * time.Second)
	if opt.Kiro != nil {
		opt.Kiro(&kc)
	}
	ac := accounts.DefaultConfig()
	ac.MinSpacing = 0
	if opt.Pool != nil {
		opt.Pool(&ac)
	}
	r.PoolConfig = ac
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	running := 0
	t.Cleanup(func() {
		if r.Flows != nil {
			_ = r.Flows.Close()
		}
		cancel()
		for ; running > 0; running-- {
			<-done
		}
		_ = db.Close(r.DB)
		fake.Close()
	})
	if r.Kiro, err = kiro.NewClient(kc, r.Log); err != nil {
		t.Fatal(err)
	}
	if r.Pool, err = accounts.NewManager(r.DB, r.Kiro, ac, accounts.Options{Log: r.Log, Home: r.Home, UserHome: r.Home, Metrics: opt.PoolMetrics}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < opt.Accounts; i++ {
		fake.AddAccount(kirofake.Account{
			ID: AccountID(i), Email: "user" + string(rune('a'+i)) + "@example.com",
			AuthMethod: kirofake.AuthSocial, RefreshToken: RefreshToken(i),
		})
		if _, err := r.Pool.AddRefreshToken(ctx, accounts.AddRequest{RefreshToken: RefreshToken(i), AuthMethod: "social"}); err != nil {
			t.Fatal(err)
		}
	}
	if r.Flows, err = flows.NewRecorder(r.DB, r.Home, flows.DefaultConfig(), r.Log); err != nil {
		t.Fatal(err)
	}
	running = 2
	go func() { _ = r.Pool.Run(ctx); done <- struct{}{} }()
	go func() { _ = r.Flows.Run(ctx); done <- struct{}{} }()
	return r
}
