// Package signin runs the three ways of signing in to Kiro and hands back
// what the sign-in yields: the tokens, the OIDC client of a device login,
// and the facts of how it signed in (kiro-protocol.md §6.5):
//
//   - AWS Builder ID and IAM Identity Center: the SSO-OIDC device flow
//     (Device) — register a client, show the user a code, poll until the
//     user approves it in the browser;
//   - Google and GitHub: PKCE through the Kiro auth portal (Social), with a
//     one-shot callback listener on one of the loopback ports the portal
//     accepts (CallbackPorts).
//
// The flows speak to Kiro through a kiro.Client and to the user through a
// UI (the CLI, the tray, the dashboard); they store nothing. Storing the
// account, resolving its profile and renewing an account in place is
// accounts.Manager.Login's job.
package signin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kirobar/kirobar/kiro"
)

// Kind names a way to sign in.
type Kind string

// Sign-in kinds: AWS Builder ID and IAM Identity Center use the SSO-OIDC
// device flow; Google and GitHub use the Kiro auth portal with PKCE
// (kiro-protocol.md §6.5).
const (
	BuilderID Kind = "builder-id"
	IdC       Kind = "idc"
	Google    Kind = "google"
	GitHub    Kind = "github"
)

// Request says how to sign in.
type Request struct {
	Kind     Kind
	StartURL string // IdC: the organisation's start URL (https://<org>.awsapps.com/start)
	Region   string // OIDC region of a Builder ID / IdC login, auth region of a social one; "" = [kiro] region
}

// Validate reports a request no sign-in can run: an unknown kind, a start
// URL where none belongs, or an IAM Identity Center sign-in without one.
func (r Request) Validate() error {
	switch r.Kind {
	case BuilderID, Google, GitHub:
		if r.StartURL != "" {
			return fmt.Errorf("a %s sign-in takes no start URL", r.Kind)
		}
	case IdC:
		if r.StartURL == "" {
			return errors.New("an IAM Identity Center sign-in needs the organisation's start URL (https://<org>.awsapps.com/start)")
		}
		if !strings.HasPrefix(r.StartURL, "https://") && !strings.HasPrefix(r.StartURL, "http://") {
			return fmt.Errorf("start URL %q must begin with https://", r.StartURL)
		}
	default:
		return fmt.Errorf("unknown sign-in kind %q (want %s, %s, %s or %s)", r.Kind, BuilderID, IdC, Google, GitHub)
	}
	return nil
}

// DeviceCode is what the user needs to approve a device login.
type DeviceCode struct {
	UserCode                string
	VerificationURI         string
	VerificationURIComplete string
	ExpiresAt               time.Time
	Interval                time.Duration
}

// UI is how a sign-in talks to the user. Every field may be nil.
type UI struct {
	// OpenURL opens the browser; nil only shows the URL (via Status).
	OpenURL func(url string) error
	// Device is called once the device code is known.
	Device func(DeviceCode)
	// Status receives progress lines ("waiting for approval…").
	Status func(msg string)
}

// Statusf sends a progress line, when the UI takes them.
func (ui UI) Statusf(format string, args ...any) {
	if ui.Status != nil {
		ui.Status(fmt.Sprintf(format, args...))
	}
}

// open opens url in the browser when the UI can, and always says where to go.
func (ui UI) open(url string) {
	if ui.OpenURL == nil {
		ui.Statusf("open %s in your browser", url)
		return
	}
	if err := ui.OpenURL(url); err != nil {
		ui.Statusf("could not open a browser (%v); open %s yourself", err, url)
		return
	}
	ui.Statusf("opened %s in your browser", url)
}

// Options are a sign-in's collaborators; the zero value is the real
// world.
type Options struct {
	// Now is the clock a device code expires by; nil means time.Now.
	Now func() time.Time
	// Sleep waits between device-login polls; nil waits on a real timer.
	// Tests inject one that returns at once.
	Sleep func(ctx context.Context, d time.Duration) error
	// Ports are the loopback ports a Google or GitHub sign-in may receive
	// its callback on, in order; nil means CallbackPorts.
	Ports []int
}

func (o Options) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

func (o Options) sleep(ctx context.Context, d time.Duration) error {
	if o.Sleep != nil {
		return o.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (o Options) ports() []int {
	if len(o.Ports) == 0 {
		return CallbackPorts
	}
	return o.Ports
}

// Result is what a finished sign-in yields, before it is stored.
type Result struct {
	AuthMethod string // kiro.AuthIdC (device flow) or kiro.AuthSocial
	// Provider is how Kiro names the identity: BuilderId, Enterprise (IAM
	// Identity Center), Google or Github.
	Provider string
	Region   string // the request's region: where the token refreshes
	StartURL string // the device login's start URL (Builder ID's own for a Builder ID)
	Tokens   kiro.Tokens
	// ClientID and ClientSecret are the OIDC client a device login
	// registered; its tokens refresh with it.
	ClientID, ClientSecret string
}

// Run validates r and runs its sign-in: Device for a Builder ID or IAM
// Identity Center, Social for Google or GitHub. It returns once the user
// finished in the browser, the code expired, the user refused, or ctx
// ended; the caller bounds how long that may take with ctx.
func Run(ctx context.Context, kc *kiro.Client, r Request, ui UI, o Options) (Result, error) {
	if err := r.Validate(); err != nil {
		return Result{}, err
	}
	switch r.Kind {
	case BuilderID, IdC:
		return Device(ctx, kc, r, ui, o)
	default:
		return Social(ctx, kc, r, ui, o)
	}
}
