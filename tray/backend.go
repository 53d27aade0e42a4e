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

// Login kinds: what "Add account…" asks LoginBackend.Login for.
const (
	LoginBuilderID = "builder-id" // AWS Builder ID device flow
	LoginGoogle    = "google"     // Kiro's social sign-in with Google
	LoginGitHub    = "github"     // Kiro's social sign-in with GitHub
	LoginKiroIDE   = "kiro-ide"   // import the Kiro IDE's own signed-in token file
)

// LoginUI is how a running sign-in talks to the user through the menu. Both
// functions may be called from any goroutine and return at once.
type LoginUI struct {
	// Device shows the code the user confirms at verificationURL during a
	// device flow ("Enter code ABCD-EFGH at …").
	Device func(userCode, verificationURL string)
	// Status shows a progress line ("Waiting for the browser…").
	Status func(text string)
}

// LoginBackend is implemented by a Backend that can add accounts by signing
// in. The menu offers "Add account…" and "Sign in again" only when the
// Backend implements it, so a Backend without sign-in still builds and runs.
type LoginBackend interface {
	// Login adds an account of kind (one of the Login constants) and
	// returns its label. It returns when the sign-in finished, failed, or
	// ctx ended ("Cancel sign-in" ends it).
	Login(ctx context.Context, kind string, ui LoginUI) (label string, err error)
	// Relogin signs in again to the account id, which needs login.
	Relogin(ctx context.Context, id string, ui LoginUI) error
}

// DashboardBackend is implemented by a Backend that serves the web
// dashboard; the menu offers "Open dashboard" only then.
type DashboardBackend interface {
	// DashboardURL returns a URL that opens the dashboard signed in, or ""
	// when there is none (the server is stopped). It may carry a one-time
	// token, so the tray opens it and never shows or logs it.
	DashboardURL() string
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
