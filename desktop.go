package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/accounts/signin"
	"github.com/kirobar/kirobar/internal/browser"
	"github.com/kirobar/kirobar/internal/cli"
	"github.com/kirobar/kirobar/internal/instance"
	"github.com/kirobar/kirobar/tray"
)

// runDesktop runs kirobar with its tray icon where a tray is available,
// and the same proxy headless otherwise.
func runDesktop(ctx context.Context, home string, headless, hidden bool, stderr io.Writer) int {
	return runProxy(ctx, home, !headless, hidden, stderr)
}

// runServe runs the proxy headless in the foreground until a signal.
func runServe(ctx context.Context, home string, stderr io.Writer) int {
	return runProxy(ctx, home, false, false, stderr)
}

// runProxy holds the single-instance lock, opens everything, starts the
// server and then either shows the tray or waits for a signal. On the way
// out it drains streams and flushes flows.
func runProxy(ctx context.Context, home string, wantTray, hidden bool, stderr io.Writer) int {
	lock, err := instance.Acquire(home, time.Now())
	var held *instance.HeldError
	if errors.As(err, &held) {
		fmt.Fprintln(cli.SafeWriter(stderr), held.Error())
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(cli.SafeWriter(stderr), "kirobar:", err)
		return exitFailure
	}
	defer lock.Release()

	a, err := openApp(home, true)
	if err != nil {
		return exitCode(err, stderr)
	}
	defer a.close()
	if err := a.openServing(); err != nil {
		return exitCode(err, stderr)
	}
	bg, cancel := context.WithCancel(ctx)
	wait := a.runBackground(bg)
	defer func() { cancel(); wait() }()
	a.firstRun(ctx)

	useTray, why := wantTray && a.cfg.Tray.Enabled, ""
	switch {
	case !wantTray:
		why = "headless mode was asked for"
	case !a.cfg.Tray.Enabled:
		why = "tray.enabled = false in config.toml"
	default:
		ok, reason := tray.Available()
		useTray, why = ok, reason
	}

	if err := a.server.Start(); err != nil {
		if !useTray {
			fmt.Fprintln(cli.SafeWriter(stderr), "kirobar:", err)
			return exitListen
		}
		// The tray shows the error and lets the user start it again.
		a.log.Error("server did not start", "err", err)
	} else {
		if err := lock.SetAddr(a.server.Addr()); err != nil {
			a.log.Warn("record address in lock file", "err", err)
		}
		tty := terminalOut(stderr)
		a.announce(tty, stderr)
		a.watchFirstAccount(bg, tty)
	}

	if !useTray {
		a.log.Info("running without a tray", "why", why)
		<-ctx.Done()
		a.log.Info("shutting down")
		a.stop()
		return exitOK
	}
	if why != "" {
		a.log.Info("tray", "note", why)
	}
	err = tray.Run(ctx, &trayBackend{a: a, lock: lock}, tray.Options{Log: a.log, Quiet: hidden})
	a.log.Info("shutting down")
	a.stop()
	if err != nil {
		a.log.Error("tray", "err", err)
		return exitFailure
	}
	return exitOK
}

// trayBackend is the tray's view of kirobar.
type trayBackend struct {
	a    *app
	lock *instance.Lock
}

func (b *trayBackend) Status() tray.Status {
	ready, total := b.a.accounts.Ready()
	return tray.Status{
		Running: b.a.server.Running(), Addr: b.a.server.Addr(), Err: b.a.server.Err(),
		RequestsToday: b.a.server.RequestsToday(), Ready: ready, Total: total,
	}
}

func (b *trayBackend) StartServer() error {
	if err := b.a.server.Start(); err != nil {
		return err
	}
	return b.lock.SetAddr(b.a.server.Addr())
}

func (b *trayBackend) StopServer(ctx context.Context) error { return b.a.server.Stop(ctx) }

func (b *trayBackend) Accounts() []tray.Account {
	views := b.a.accounts.List()
	out := make([]tray.Account, 0, len(views))
	for _, v := range views {
		out = append(out, tray.Account{
			ID: v.ID, Label: v.Label, State: v.Status,
			ExpiresAt: v.ExpiresAt, CooldownUntil: v.CooldownUntil, QuotaReset: v.QuotaReset,
			Refreshing: v.Refreshing, Enabled: v.Enabled,
		})
	}
	return out
}

func (b *trayBackend) RefreshAccount(ctx context.Context, id string) error {
	return b.a.accounts.Refresh(ctx, id)
}

func (b *trayBackend) SetAccountEnabled(id string, on bool) error {
	return b.a.accounts.SetEnabled(id, on)
}

func (b *trayBackend) ExpiringCount() int { return b.a.accounts.ExpiringCount() }

func (b *trayBackend) RefreshExpiring(ctx context.Context) (int, error) {
	return b.a.accounts.RefreshExpiring(ctx)
}

func (b *trayBackend) CheckAll(ctx context.Context, progress func(done, total int)) (string, error) {
	results, err := b.a.accounts.Check(ctx, nil, progress)
	if err != nil && len(results) == 0 {
		return "", err
	}
	return checkSummary(results), nil
}

// checkSummary is the one line the tray shows after "Check all".
func checkSummary(results []accounts.CheckResult) string {
	ready, failed := 0, 0
	for _, r := range results {
		switch {
		case r.Err != "":
			failed++
		case accounts.CanServe(r.Status):
			ready++
		}
	}
	s := fmt.Sprintf("checked %d: %d ready", len(results), ready)
	if failed > 0 {
		s += fmt.Sprintf(", %d failed", failed)
	}
	if rest := len(results) - ready - failed; rest > 0 {
		s += fmt.Sprintf(", %d need attention", rest)
	}
	return s
}

func (b *trayBackend) Subscribe() (<-chan struct{}, func()) { return b.a.accounts.Subscribe() }

func (b *trayBackend) ClientSetup() string { return b.a.clientSetup() }

func (b *trayBackend) LogDir() string { return filepath.Join(b.a.home, "logs") }

func (b *trayBackend) ConfigPath() string { return b.a.cfgPath }

// clientSetup is the shell snippet that points Claude Code (and any
// Anthropic SDK) at this kirobar.
func (a *app) clientSetup() string {
	key := ""
	if len(a.cfg.Server.APIKeys) > 0 {
		key = a.cfg.Server.APIKeys[0]
	}
	base := "http://" + a.cfg.Server.Listen
	if a.server != nil {
		base = "http://" + a.server.Addr()
	}
	return "export ANTHROPIC_BASE_URL=" + base + "\nexport ANTHROPIC_API_KEY=" + key + "\n"
}

// Login adds an account from the tray's "Add account…" menu: a Builder ID,
// Google or GitHub sign-in, or an import of the Kiro IDE's own login.
func (b *trayBackend) Login(ctx context.Context, kind string, ui tray.LoginUI) (string, error) {
	if kind == tray.LoginKiroIDE {
		views, err := b.a.accounts.ImportPath(ctx, b.a.accounts.DefaultImportPath())
		if err != nil {
			return "", err
		}
		labels := make([]string, 0, len(views))
		for _, v := range views {
			labels = append(labels, v.Label)
		}
		return strings.Join(labels, ", "), nil
	}
	v, err := b.a.accounts.Login(ctx, accounts.LoginRequest{Kind: signin.Kind(kind)}, trayLoginUI(ui))
	if err != nil {
		return "", err
	}
	return v.Label, nil
}

// Relogin renews an account that needs login the way it first signed in
// (accounts.Renewal): an IAM Identity Center account at its own start URL
// and region.
func (b *trayBackend) Relogin(ctx context.Context, id string, ui tray.LoginUI) error {
	v, err := b.a.accounts.View(id)
	if err != nil {
		return err
	}
	req, err := v.Renewal().Request(id)
	if err != nil {
		return err
	}
	_, err = b.a.accounts.Login(ctx, req, trayLoginUI(ui))
	return err
}

// trayLoginUI shows a sign-in's device code and progress in the menu and
// opens its pages with the OS opener.
func trayLoginUI(ui tray.LoginUI) signin.UI {
	return signin.UI{
		OpenURL: browser.OpenURL,
		Device: func(d signin.DeviceCode) {
			page := d.VerificationURIComplete
			if page == "" {
				page = d.VerificationURI
			}
			ui.Device(d.UserCode, page)
		},
		Status: ui.Status,
	}
}
