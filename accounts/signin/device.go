package signin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kirobar/kirobar/kiro"
)

// slowDownStep is what a slow_down answer adds to the polling interval
// (RFC 8628 §3.5; kiro-protocol.md §6.5).
const slowDownStep = 5 * time.Second

// Device-login outcomes the user must act on.
var (
	ErrExpired = errors.New("the sign-in code expired before it was approved; start the sign-in again")
	ErrDenied  = errors.New("the sign-in was refused in the browser")
)

// Device runs the SSO-OIDC device flow of a Builder ID or IAM Identity
// Center login (r.Kind BuilderID or IdC): register a client, start a
// device authorization, show the code, poll until it is approved
// (kiro-protocol.md §6.5, A.6). A slow_down answer slows the polling by
// five seconds each time; an expired code is ErrExpired, a refusal
// ErrDenied.
func Device(ctx context.Context, kc *kiro.Client, r Request, ui UI, o Options) (Result, error) {
	got := Result{AuthMethod: kiro.AuthIdC, Provider: "BuilderId", Region: r.Region, StartURL: kiro.BuilderIDStartURL}
	if r.Kind == IdC {
		got.Provider, got.StartURL = "Enterprise", r.StartURL
	}
	ui.Statusf("registering kirobar with AWS sign-in…")
	reg, err := kc.RegisterClient(ctx, r.Region)
	if err != nil {
		return Result{}, fmt.Errorf("register a sign-in client: %w", err)
	}
	got.ClientID, got.ClientSecret = reg.ClientID, reg.ClientSecret
	da, err := kc.StartDeviceAuthorization(ctx, r.Region, reg, got.StartURL)
	if err != nil {
		return Result{}, fmt.Errorf("start the device sign-in: %w", err)
	}
	code := DeviceCode{
		UserCode: da.UserCode, VerificationURI: da.VerificationURI, VerificationURIComplete: da.VerificationURIComplete,
		ExpiresAt: o.now().Add(da.ExpiresIn), Interval: da.Interval,
	}
	if ui.Device != nil {
		ui.Device(code)
	}
	page := da.VerificationURIComplete
	if page == "" {
		page = da.VerificationURI
	}
	ui.open(page)
	ui.Statusf("waiting for approval of code %s in the browser…", da.UserCode)

	interval := da.Interval
	for {
		if err := o.sleep(ctx, interval); err != nil {
			return Result{}, fmt.Errorf("device sign-in: %w", err)
		}
		if !o.now().Before(code.ExpiresAt) {
			return Result{}, ErrExpired
		}
		tok, err := kc.PollDeviceToken(ctx, r.Region, reg, da.DeviceCode)
		if err == nil {
			got.Tokens = tok
			ui.Statusf("approved")
			return got, nil
		}
		ke, ok := kiro.AsError(err)
		if !ok {
			return Result{}, fmt.Errorf("device sign-in: %w", err)
		}
		switch ke.Reason {
		case "authorization_pending":
		case "slow_down":
			interval += slowDownStep
			ui.Statusf("AWS asked kirobar to poll more slowly (every %s)", interval)
		case "expired_token":
			return Result{}, ErrExpired
		case "access_denied":
			return Result{}, ErrDenied
		default:
			return Result{}, fmt.Errorf("device sign-in: %w", err)
		}
	}
}
