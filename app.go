package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/kirobar/kirobar/accounts/tokenfile"
	homefiles "github.com/kirobar/kirobar/internal/home"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/flows"
	"github.com/kirobar/kirobar/internal/db"
	"github.com/kirobar/kirobar/internal/keyguard"
	"github.com/kirobar/kirobar/internal/logfile"
	"github.com/kirobar/kirobar/internal/metrics"
	"github.com/kirobar/kirobar/internal/team"
	"github.com/kirobar/kirobar/kiro"
	"github.com/kirobar/kirobar/kiro/models"
	"github.com/kirobar/kirobar/server"
	"github.com/kirobar/kirobar/server/dashboard"
)

// addAccountHint tells a user how to add an account; it appears in the
// log, /health and API errors while the pool is empty.
const addAccountHint = accounts.NoAccountsHint

// app is kirobar wired together: config, log, database, upstream client,
// account pool, flow recorder and server.
type app struct {
	home     string
	cfgPath  string
	cfg      Config
	log      *slog.Logger
	logFile  *logfile.File
	db       *gorm.DB
	kiro     *kiro.Client
	accounts *accounts.Manager
	flows    *flows.Recorder
	server   *server.Server
	// dashboard serves /ui/ and /api/ on the server's listener.
	dashboard *dashboard.Handler
	// metrics are served on /metrics.
	metrics *metrics.Metrics
	// team is this instance's entry among those sharing the store; nil
	// with a kirobar.db of its own.
	team *team.Registry
	// keyGuard counts failed client key checks for the API and the
	// dashboard's sign-in together.
	keyGuard *keyguard.Guard
}

// openApp loads the config and opens everything but the listener.
// logToStderr is false for CLI subcommands, whose output is their own.
func openApp(home string, logToStderr bool) (*app, error) {
	cfg, cfgPath, err := loadConfig(home)
	if err != nil {
		return nil, &configError{err}
	}
	a := &app{home: home, cfgPath: cfgPath, cfg: cfg}
	a.logFile, err = logfile.Open(filepath.Join(homefiles.Logs(home), "kirobar.log"), 10<<20, 3)
	if err != nil {
		return nil, err
	}
	var out io.Writer = a.logFile
	if logToStderr {
		out = io.MultiWriter(a.logFile, os.Stderr)
	}
	a.log = slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: parseLevel(cfg.Log.Level)}))
	fixPermissions(home, a.log)

	a.db, err = db.OpenStore(cfg.Store, homefiles.DB(home))
	if err != nil {
		a.close()
		return nil, err
	}
	if cfg.Store.Shared() {
		a.log.Info("store: shared PostgreSQL database", "url", db.Redact(cfg.Store.URL))
	}
	a.kiro, err = kiro.NewClient(cfg.Kiro, a.log)
	if err != nil {
		a.close()
		return nil, fmt.Errorf("kiro client: %w", err)
	}
	a.metrics = metrics.New(metrics.Info{Instance: a.instanceName(), Version: version})
	a.accounts, err = accounts.NewManager(a.db, a.kiro, cfg.Accounts, accounts.Options{Log: a.log, Home: home, Metrics: a.metrics, StoreURL: cfg.Store.URL})
	if err != nil {
		a.close()
		return nil, fmt.Errorf("accounts: %w", err)
	}
	return a, nil
}

// instanceName is this kirobar's name among a team's instances.
func (a *app) instanceName() string {
	if a.cfg.Store.Instance != "" {
		return a.cfg.Store.Instance
	}
	host, _ := os.Hostname()
	return team.DefaultName(host, a.cfg.Server.Listen)
}

// openServing adds the flow recorder, the team registry and the server to
// an app.
func (a *app) openServing() error {
	var next metrics.FlowRecorder
	if a.cfg.Flows.Enabled {
		var opts []flows.RecorderOption
		if a.cfg.Store.Shared() {
			opts = append(opts, flows.Instance(a.instanceName()))
		}
		r, err := flows.NewRecorder(a.db, a.home, a.cfg.Flows, a.log, opts...)
		if err != nil {
			return fmt.Errorf("flows: %w", err)
		}
		r.SetSecrets(a.secrets())
		a.flows, next = r, r
	}
	if a.cfg.Store.Shared() {
		reg, err := team.New(context.Background(), a.db, team.Self{Name: a.instanceName(), Listen: a.cfg.Server.Listen, Version: version}, team.Options{Log: a.log})
		if err != nil {
			return fmt.Errorf("register with the team: %w", err)
		}
		a.team = reg
	}
	a.registerGauges()
	a.keyGuard = keyguard.New(a.log)
	dash, err := a.openDashboard()
	if err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	a.dashboard = dash
	srv, err := server.New(a.cfg.Server, server.Deps{
		Pool:         a.accounts,
		Upstream:     a.kiro,
		Flows:        a.metrics.Observe(next),
		Models:       models.NewResolver(a.cfg.Models.Aliases),
		DefaultModel: a.cfg.Models.Default,
		MaxAttempts:  a.cfg.Accounts.MaxAttempts,
		Log:          a.log,
		Version:      version,
		Hint:         addAccountHint,
		Extra:        dash.Serve,
		Metrics:      a.metrics.Handler,
		KeyGuard:     a.keyGuard,
	})
	if err != nil {
		return &configError{err}
	}
	a.server = srv
	if a.flows != nil {
		y, m, d := time.Now().Date()
		midnight := time.Date(y, m, d, 0, 0, 0, 0, time.Local).UTC()
		var today int64
		if err := a.db.Model(&flows.Row{}).Where("time >= ?", midnight).Count(&today).Error; err != nil {
			a.log.Warn("count today's requests", "err", err)
		}
		srv.SeedRequestsToday(int(today))
	}
	return nil
}

// registerGauges adds the state others own to /metrics: account states,
// and for a team the instances alive and whether the store answers.
func (a *app) registerGauges() {
	a.metrics.Counts("kirobar_accounts", "Accounts by shown state (ready, expiring, cooling, exhausted, suspended, needs_login, disabled, error).", "state", func() map[string]int {
		out := map[string]int{}
		for _, v := range a.accounts.List() {
			out[v.Status]++
		}
		return out
	})
	up := func() float64 { return 1 }
	if a.team != nil {
		reg := a.team
		up = func() float64 {
			if reg.StoreUp() {
				return 1
			}
			return 0
		}
		a.metrics.GaugeFunc("kirobar_instances_alive", "Instances of this team gateway alive now, this one included.", func() float64 { return float64(reg.Alive()) })
	}
	a.metrics.GaugeFunc("kirobar_store_up", "1 while the team's shared database answers (always 1 with kirobar.db), 0 in the degraded mode.", up)
}

// secrets are values no flow record, bundle or error may contain: the
// client keys, the shared database's password and the passwords of the
// global and every account's proxy.
func (a *app) secrets() []string {
	out := append([]string(nil), a.cfg.Server.APIKeys...)
	out = append(out, db.Secrets(a.cfg.Store.URL)...)
	out = append(out, accounts.ProxySecrets(a.cfg.Kiro.Proxy)...)
	if a.accounts != nil {
		out = append(out, a.accounts.ProxySecrets()...)
	}
	return out
}

// runBackground runs the account scheduler and the flow writer until ctx
// ends; the returned wait blocks until both have stopped.
func (a *app) runBackground(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := a.accounts.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			a.log.Error("account scheduler stopped", "err", err)
		}
	}()
	if a.flows != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.flows.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				a.log.Error("flow recorder stopped", "err", err)
			}
		}()
	}
	if a.team != nil {
		wg.Go(func() {
			if err := a.team.Run(ctx); err != nil {
				a.log.Warn("team registry", "err", err)
			}
		})
	}
	return wg.Wait
}

// firstRun imports the Kiro IDE's token cache when kirobar has no account
// yet, and otherwise says how to add one.
func (a *app) firstRun(ctx context.Context) {
	if _, total := a.accounts.Ready(); total > 0 {
		return
	}
	cache := filepath.Join(a.accounts.DefaultImportPath(), tokenfile.IDEFile)
	if _, err := os.Stat(cache); err == nil {
		views, err := a.accounts.ImportPath(ctx, cache)
		if err == nil && len(views) > 0 {
			a.log.Info("imported the Kiro IDE's account on first start", "file", cache, "accounts", len(views))
			return
		}
		if err != nil {
			a.log.Warn("could not import the Kiro IDE's account", "file", cache, "err", err)
		}
	}
	a.log.Warn(addAccountHint)
}

// stop stops the server (draining streams) and flushes flows.
func (a *app) stop() {
	if a.dashboard != nil {
		a.dashboard.Close() // ends live-update streams and sign-ins
	}
	if a.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), a.cfg.Server.ShutdownGrace.D()+5*time.Second)
		if err := a.server.Stop(ctx); err != nil {
			a.log.Error("stop server", "err", err)
		}
		cancel()
	}
	if a.flows != nil {
		if err := a.flows.Close(); err != nil {
			a.log.Error("flush flows", "err", err)
		}
	}
}

func (a *app) close() {
	if a.db != nil {
		if err := db.Close(a.db); err != nil && a.log != nil {
			a.log.Error("close database", "err", err)
		}
	}
	if a.logFile != nil {
		_ = a.logFile.Close()
	}
}

func parseLevel(s string) slog.Level {
	switch s {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// fixPermissions keeps the home directory private: 0700 for it, 0600 for
// the database, config and token-bearing files. It fixes and warns.
func fixPermissions(home string, log *slog.Logger) {
	check := func(path string, want os.FileMode) {
		st, err := os.Stat(path)
		if err != nil {
			return
		}
		if st.Mode().Perm()&^want != 0 {
			if err := os.Chmod(path, want); err != nil {
				log.Warn("cannot fix permissions", "path", path, "err", err)
				return
			}
			log.Warn("fixed permissions that let other users read kirobar's secrets", "path", path, "was", st.Mode().Perm().String(), "now", want.String())
		}
	}
	check(home, 0o700)
	for _, name := range homefiles.PrivateFiles() {
		check(filepath.Join(home, name), 0o600)
	}
}

// configError marks errors the user fixes in config.toml.
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }
