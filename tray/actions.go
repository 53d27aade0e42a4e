package tray

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/kirobar/kirobar/internal/browser"
	"github.com/kirobar/kirobar/tray/autostart"
)

// Action is what a click asks for.
type Action int

// The actions behind the menu items.
const (
	ActStartServer Action = iota + 1
	ActStopServer
	ActRefreshAccount
	ActEnableAccount
	ActDisableAccount
	ActRefreshExpiring
	ActCheckAll
	ActCopySetup
	ActOpenLogs
	ActOpenConfig
	ActEnableAutostart
	ActDisableAutostart
	ActQuit
	ActOpenDashboard
	ActLogin
	ActRelogin
	ActOpenLoginPage
	ActCancelLogin

	actionsEnd // not an action: one past the last
)

// Command is one click turned into work. AccountID and Label name the
// account for the per-account actions.
type Command struct {
	Action    Action
	AccountID string
	Label     string
	Login     string // ActLogin: one of the Login kinds
	URL       string // ActOpenLoginPage: the device flow's verification page
}

// Result is what a worker reports back for its command.
type Result struct {
	Command   Command
	Err       error
	Count     int    // tokens refreshed by ActRefreshExpiring
	Summary   string // ActCheckAll's summary
	Shown     bool   // ActCopySetup: no clipboard tool, the text went to a notification
	Autostart bool   // the autostart state read back after an autostart action
	Added     string // ActLogin: the label of the account the sign-in added
}

// action is one Action as the table declares it: its name in logs, the
// work it does, and what its result changes in the menu.
type action struct {
	name string
	// now marks an action the tray's goroutine carries out at once instead
	// of a worker (quitting, ending the running sign-in); it has no result.
	now bool
	// signIn marks a sign-in: it runs under a context of its own that
	// "Cancel sign-in" ends.
	signIn bool
	// run does the work on a worker goroutine (on the tray's goroutine for
	// a now action).
	run func(w *worker, ctx context.Context, cmd Command) Result
	// finish records the result in the controller: the item is free again
	// and the outcome goes to the status line. Nil for a now action.
	finish func(c *Controller, r Result)
}

// worker is what the actions' work needs: the Backend, the OS, and the way
// back to the tray's goroutine for progress and sign-in reports.
type worker struct {
	b         Backend
	logins    LoginBackend     // nil when the Backend cannot sign in
	dashboard DashboardBackend // nil when the Backend has no dashboard
	app       string
	entry     autostart.Entry
	log       *slog.Logger

	progress    func(done, total int) // "Check all accounts" progress
	loginUI     LoginUI               // a running sign-in's reports
	quit        func()                // ends the tray
	cancelLogin func()                // ends the running sign-in, if any
}

// actions is what each Action does; every Action a menu entry's click
// returns has a row here.
var actions = map[Action]action{
	ActStartServer: {name: "start server",
		run: func(w *worker, _ context.Context, _ Command) Result { return Result{Err: w.b.StartServer()} },
		finish: func(c *Controller, r Result) {
			c.serverBusy = false
			c.failed(r, "Could not start")
		}},
	ActStopServer: {name: "stop server",
		run: func(w *worker, ctx context.Context, _ Command) Result { return Result{Err: w.b.StopServer(ctx)} },
		finish: func(c *Controller, r Result) {
			c.serverBusy = false
			c.failed(r, "Could not stop")
		}},
	ActRefreshAccount: {name: "refresh account",
		run: func(w *worker, ctx context.Context, cmd Command) Result {
			return Result{Err: w.b.RefreshAccount(ctx, cmd.AccountID)}
		},
		finish: func(c *Controller, r Result) {
			delete(c.refreshing, r.Command.AccountID)
			if !c.failed(r, "Refresh of "+r.Command.Label+" failed") {
				c.setNote(r.Command.Label + " refreshed")
			}
		}},
	ActEnableAccount: {name: "enable account", run: setAccountEnabled(true),
		finish: func(c *Controller, r Result) { c.failed(r, "Could not change "+r.Command.Label) }},
	ActDisableAccount: {name: "disable account", run: setAccountEnabled(false),
		finish: func(c *Controller, r Result) { c.failed(r, "Could not change "+r.Command.Label) }},
	ActRefreshExpiring: {name: "refresh expiring",
		run: func(w *worker, ctx context.Context, _ Command) Result {
			n, err := w.b.RefreshExpiring(ctx)
			return Result{Count: n, Err: err}
		},
		finish: func(c *Controller, r Result) {
			c.expiringBusy = false
			if !c.failed(r, "Refresh failed") {
				c.setNote("Refreshed " + plural(r.Count, "token", "tokens"))
			}
		}},
	ActCheckAll: {name: "check all",
		run: func(w *worker, ctx context.Context, _ Command) Result {
			summary, err := w.b.CheckAll(ctx, w.progress)
			return Result{Summary: summary, Err: err}
		},
		finish: func(c *Controller, r Result) {
			c.checkBusy = false
			if !c.failed(r, "Check failed") {
				c.setNote("Check: " + clip(r.Summary, 80))
			}
		}},
	ActCopySetup: {name: "copy setup",
		run: func(w *worker, ctx context.Context, _ Command) Result {
			text := w.b.ClientSetup()
			err := copyText(ctx, text)
			if errors.Is(err, errNoClipboard) {
				return Result{Shown: true, Err: notify(ctx, w.app, "Claude Code setup", text)}
			}
			return Result{Err: err}
		},
		finish: func(c *Controller, r Result) {
			switch {
			case r.Err != nil:
				c.failed(r, "Copy failed")
			case r.Shown:
				c.setNote("No clipboard tool found: setup shown in a notification")
			default:
				c.setNote("Claude Code setup copied")
			}
		}},
	ActOpenLogs: {name: "open log folder",
		run: func(w *worker, _ context.Context, _ Command) Result {
			return Result{Err: browser.OpenPath(w.b.LogDir())}
		},
		finish: openFailed},
	ActOpenConfig: {name: "open config file",
		run: func(w *worker, _ context.Context, _ Command) Result {
			path := w.b.ConfigPath()
			if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
				path = filepath.Dir(path) // no file yet: show where it goes
			}
			return Result{Err: browser.OpenPath(path)}
		},
		finish: openFailed},
	ActOpenDashboard: {name: "open dashboard",
		run: func(w *worker, _ context.Context, _ Command) Result {
			u := w.dashboard.DashboardURL()
			if u == "" {
				return Result{Err: errors.New("the dashboard is not available while the server is stopped")}
			}
			return Result{Err: browser.OpenURL(u)}
		},
		finish: openFailed},
	ActOpenLoginPage: {name: "open sign-in page",
		run: func(_ *worker, _ context.Context, cmd Command) Result {
			return Result{Err: browser.OpenURL(cmd.URL)}
		},
		finish: openFailed},
	ActLogin: {name: "sign in", signIn: true,
		run: func(w *worker, ctx context.Context, cmd Command) Result {
			w.log.Info("tray: sign-in started", "kind", cmd.Login)
			label, err := w.logins.Login(ctx, cmd.Login, w.loginUI)
			return Result{Added: label, Err: err}
		},
		finish: func(c *Controller, r Result) {
			what, ok := c.endLogin(r)
			switch {
			case !ok:
			case r.Added != "":
				c.setNote("Added " + r.Added)
			default:
				c.setNote(what + " done")
			}
		}},
	ActRelogin: {name: "sign in again", signIn: true,
		run: func(w *worker, ctx context.Context, cmd Command) Result {
			w.log.Info("tray: sign-in again started", "account", cmd.AccountID)
			return Result{Err: w.logins.Relogin(ctx, cmd.AccountID, w.loginUI)}
		},
		finish: func(c *Controller, r Result) {
			if _, ok := c.endLogin(r); ok {
				c.setNote(r.Command.Label + " signed in again")
			}
		}},
	ActEnableAutostart:  {name: "enable launch at login", run: setAutostart(true), finish: autostartSet},
	ActDisableAutostart: {name: "disable launch at login", run: setAutostart(false), finish: autostartSet},
	ActQuit: {name: "quit", now: true,
		run: func(w *worker, _ context.Context, _ Command) Result {
			w.log.Info("tray: quit from the menu")
			w.quit()
			return Result{}
		}},
	ActCancelLogin: {name: "cancel sign-in", now: true,
		run: func(w *worker, _ context.Context, _ Command) Result {
			w.cancelLogin()
			return Result{}
		}},
}

func setAccountEnabled(on bool) func(*worker, context.Context, Command) Result {
	return func(w *worker, _ context.Context, cmd Command) Result {
		return Result{Err: w.b.SetAccountEnabled(cmd.AccountID, on)}
	}
}

// setAutostart turns launch at login on or off and reads back what the OS
// now says, which is what the check box shows.
func setAutostart(on bool) func(*worker, context.Context, Command) Result {
	return func(w *worker, _ context.Context, _ Command) Result {
		err := autostart.Set(w.entry, on)
		now, rerr := autostart.Enabled(w.entry)
		return Result{Autostart: now, Err: errors.Join(err, rerr)}
	}
}

func autostartSet(c *Controller, r Result) {
	c.autostartBusy = false
	c.autostart = r.Autostart
	c.failed(r, "Launch at login")
}

func openFailed(c *Controller, r Result) { c.failed(r, "Could not open") }
