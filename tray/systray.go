//go:build !darwin || cgo

package tray

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"fyne.io/systray"

	"github.com/kirobar/kirobar/tray/autostart"
)

// autostartRecheck is how often the launch-at-login state is read again
// from the OS while nothing else wakes the tray, so an entry removed in the
// desktop's settings unchecks the box.
const autostartRecheck = 10 * time.Second

// resendAfter is when the icon and tooltip are sent once more after start:
// on Linux, fyne.io/systray loses a change made while it is still
// publishing the item on the bus (see preRun), and by then it has.
const resendAfter = 3 * time.Second

// Run shows the tray and blocks until the user picks Quit or ctx ends
// (main turns SIGINT and SIGTERM into ctx's end; fyne.io/systray does not
// handle SIGTERM itself). It returns after the menu is gone and every
// worker it started has finished; stopping the server and flushing flows is
// left to main. Call it from the main goroutine (macOS runs its event loop
// there) and at most once per process: fyne.io/systray keeps package-level
// state. It refuses to start when Available says there is no tray, because
// the library blocks and later panics without a session bus.
func Run(ctx context.Context, b Backend, opts Options) error {
	opts = opts.withDefaults()
	if ok, reason := Available(); !ok {
		return fmt.Errorf("tray: %s", reason)
	} else if reason != "" {
		opts.Log.Info("tray: " + reason)
	}
	exe := opts.Exec
	if exe == "" {
		p, err := os.Executable()
		if err != nil {
			return fmt.Errorf("tray: locate kirobar for launch at login: %w", err)
		}
		if p, err = filepath.EvalSymlinks(p); err != nil {
			return fmt.Errorf("tray: locate kirobar for launch at login: %w", err)
		}
		exe = p
	}
	t := newTray(b, opts, autostart.Entry{ID: opts.AppName, Name: opts.AppName, Exec: exe, Args: []string{"--hidden"}})
	t.preRun()
	stop := context.AfterFunc(ctx, systray.Quit)
	defer stop()
	systray.Run(t.onReady, t.onExit)
	return nil
}

// trayApp is the running tray: the controller, the menu, the workers'
// view of kirobar, and the goroutine that owns the first two.
type trayApp struct {
	opts Options
	log  *slog.Logger
	ctl  *Controller
	q    *queue
	menu *systrayMenu
	work worker // the Backend and the OS, as the actions use them

	cancelLogin context.CancelFunc // ends the running sign-in; tray goroutine only

	ctx    context.Context // ends when the tray quits; workers get it
	cancel context.CancelFunc
	ready  chan struct{}
	wg     sync.WaitGroup // the loop and every worker

	autostartRead time.Time
	resendAt      time.Time // when to send icon and tooltip again, see loop
}

func newTray(b Backend, opts Options, entry autostart.Entry) *trayApp {
	ctx, cancel := context.WithCancel(context.Background())
	t := &trayApp{
		opts: opts, log: opts.Log,
		ctl:    NewController(opts.Now, opts.AppName, opts.NotifyEvery),
		q:      newQueue(),
		ctx:    ctx,
		cancel: cancel,
		ready:  make(chan struct{}),
	}
	t.work = worker{b: b, app: opts.AppName, entry: entry, log: opts.Log,
		progress: func(done, total int) { t.q.push(func() { t.ctl.Progress(done, total) }) },
		loginUI: LoginUI{
			Device: func(code, verificationURL string) {
				t.q.push(func() { t.ctl.LoginDevice(code, verificationURL) })
			},
			Status: func(text string) { t.q.push(func() { t.ctl.LoginStatus(text) }) },
		},
		quit: systray.Quit,
		cancelLogin: func() {
			if t.cancelLogin != nil {
				t.cancelLogin()
			}
		},
	}
	t.work.logins, _ = b.(LoginBackend)
	t.work.dashboard, _ = b.(DashboardBackend)
	t.ctl.SetFeatures(Features{Login: t.work.logins != nil, Dashboard: t.work.dashboard != nil})
	return t
}

// preRun shows the first icon and tooltip where the platform allows it
// before systray.Run. On Linux this matters: the library exports the
// item's properties concurrently with onReady, and a SetIcon or SetTooltip
// that lands between its reading the values and its publishing the
// properties is lost; values set before Run are always published.
func (t *trayApp) preRun() {
	if !setBeforeRun {
		return
	}
	t.snapshot()
	if err := setIcon(t.ctl.Icon()); err != nil {
		t.log.Error("tray icon", "err", err)
	}
	systray.SetTooltip(t.ctl.Tooltip())
	setTitle(t.opts.AppName)
}

// onReady builds the menu and shows the first state before the library
// answers any GetLayout (it waits for onReady), then starts the loop.
func (t *trayApp) onReady() {
	defer close(t.ready)
	setTitle(t.opts.AppName)
	t.menu = newSystrayMenu(t.log, t.q, t.ctx.Done(), t.click)
	t.readAutostart()
	t.snapshot()
	t.ctl.Render(t.menu)
	t.resendAt = t.opts.Now().Add(resendAfter)
	t.wg.Add(1)
	go t.loop()
}

// onExit runs when the library quits: it stops the loop and waits for
// the workers, whose contexts end now.
func (t *trayApp) onExit() {
	<-t.ready
	t.cancel()
	t.wg.Wait()
}

// loop is the one goroutine that touches the menu after onReady.
func (t *trayApp) loop() {
	defer t.wg.Done()
	changes, unsubscribe := t.work.b.Subscribe()
	defer unsubscribe()
	timer := time.NewTimer(autostartRecheck)
	defer timer.Stop()
	for {
		select {
		case <-t.ctx.Done():
			return
		case _, ok := <-changes:
			if !ok {
				changes = nil
			}
		case <-timer.C:
		case <-t.q.wake:
			for _, f := range t.q.drain() {
				f()
			}
		case <-systray.TrayOpenedCh:
			t.readAutostart()
		}
		if t.ctx.Err() != nil {
			return
		}
		now := t.opts.Now()
		if now.Sub(t.autostartRead) >= autostartRecheck {
			t.readAutostart()
		}
		if !t.resendAt.IsZero() && !now.Before(t.resendAt) {
			t.ctl.Resend()
			t.resendAt = time.Time{}
		}
		t.snapshot()
		t.ctl.Render(t.menu)
		wait := autostartRecheck
		if next := t.ctl.NextUpdate(); !next.IsZero() {
			wait = min(wait, next.Sub(t.opts.Now()))
		}
		if !t.resendAt.IsZero() {
			wait = min(wait, t.resendAt.Sub(t.opts.Now()))
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(max(wait, time.Millisecond))
	}
}

// readAutostart reads launch at login from the OS; a failure to read it
// shows as off and is logged.
func (t *trayApp) readAutostart() {
	on, err := autostart.Enabled(t.work.entry)
	if err != nil {
		t.log.Warn("tray: read launch at login", "err", err)
	}
	t.ctl.SetAutostart(on)
	t.autostartRead = t.opts.Now()
}

// snapshot reads the backend's in-memory state and sends the notices its
// changes call for.
func (t *trayApp) snapshot() {
	for _, n := range t.ctl.Update(t.work.b.Status(), t.work.b.Accounts(), t.work.b.ExpiringCount()) {
		t.log.Info("tray: notify", "subject", n.Key, "title", n.Title)
		if t.opts.Quiet {
			continue
		}
		t.goWork(func(ctx context.Context) {
			if err := notify(ctx, t.opts.AppName, n.Title, n.Body); err != nil {
				t.log.Warn("tray: desktop notification", "err", err)
			}
		})
	}
}

// goWork runs f on a worker goroutine that onExit waits for.
func (t *trayApp) goWork(f func(ctx context.Context)) {
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		f(t.ctx)
	}()
}

// click handles a click on the tray's goroutine: a now action (Quit,
// Cancel sign-in) at once, anything else on a worker whose result comes
// back through the queue.
func (t *trayApp) click(id ItemID) {
	cmd, ok := t.ctl.Click(id)
	if !ok {
		return
	}
	act := actions[cmd.Action]
	if act.now {
		act.run(&t.work, t.ctx, cmd)
		return
	}
	ctx, done := t.ctx, func() {}
	if act.signIn {
		// A sign-in can wait minutes for the browser: "Cancel sign-in"
		// ends it through its own context.
		ctx, done = context.WithCancel(t.ctx)
		t.cancelLogin = done
	}
	t.goWork(func(context.Context) {
		r := act.run(&t.work, ctx, cmd)
		r.Command = cmd
		if r.Err != nil && !errors.Is(r.Err, context.Canceled) {
			t.log.Warn("tray: action failed", "action", act.name, "account", cmd.AccountID, "err", r.Err)
		}
		t.q.push(func() {
			done()
			if act.signIn {
				t.cancelLogin = nil
			}
			t.ctl.Finish(r)
		})
	})
}
