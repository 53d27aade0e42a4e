// Package tray is kirobar's face: an icon in the system tray (menu bar on
// macOS) whose colour says whether the proxy runs and the accounts are
// healthy, and a menu to fix what is not — stop and start the server,
// refresh tokens, check accounts, copy the client setup, open the logs and
// the config, launch at login, quit.
//
// The package never imports the server, the account pool or the flow
// recorder: main implements Backend. The menu logic lives in Controller, a
// pure state machine tested with a fake Menu and an injected clock; a thin
// adapter (Run) owns every fyne.io/systray call on one goroutine.
package tray

import (
	"context"
	"log/slog"
	"time"
)

// Account states as the pool reports them.
const (
	StateReady      = "ready"
	StateExpiring   = "expiring"
	StateCooling    = "cooling"
	StateExhausted  = "exhausted"
	StateSuspended  = "suspended"
	StateNeedsLogin = "needs_login"
	StateDisabled   = "disabled"
	StateError      = "error"
)

// Status is the proxy's state at a glance.
type Status struct {
	Running       bool
	Addr          string // host:port it listens on, when running
	Err           error  // why the server is not running, when it failed
	RequestsToday int
	Ready, Total  int // accounts that can serve now, of all accounts
}

// Account is one pool account as the menu shows it.
type Account struct {
	ID            string
	Label         string // e-mail or profile name; never a token
	State         string // one of the State constants
	ExpiresAt     time.Time
	CooldownUntil time.Time
	QuotaReset    time.Time
	Refreshing    bool
	Enabled       bool
}

// Backend is what the tray needs from the rest of kirobar; main implements
// it over the server, the account manager and the config.
type Backend interface {
	Status() Status
	StartServer() error
	StopServer(ctx context.Context) error // drains in-flight streams
	Accounts() []Account
	RefreshAccount(ctx context.Context, id string) error
	SetAccountEnabled(id string, on bool) error
	ExpiringCount() int
	RefreshExpiring(ctx context.Context) (int, error)
	CheckAll(ctx context.Context, progress func(done, total int)) (summary string, err error)
	Subscribe() (<-chan struct{}, func()) // coalesced change notifications; call the func to stop
	ClientSetup() string                  // text for "Copy Claude Code setup"
	LogDir() string
	ConfigPath() string
}

// Options tune the tray.
type Options struct {
	Now         func() time.Time // clock for countdowns; time.Now when nil
	Log         *slog.Logger     // slog.Default() when nil
	AppName     string           // "kirobar" when empty: tooltip, notifications, autostart ID
	Exec        string           // binary started at login (with --hidden); os.Executable() when empty
	NotifyEvery time.Duration    // least gap between two notifications on one subject; 30m when zero
	Quiet       bool             // no desktop notifications
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.AppName == "" {
		o.AppName = "kirobar"
	}
	if o.NotifyEvery <= 0 {
		o.NotifyEvery = 30 * time.Minute
	}
	return o
}
