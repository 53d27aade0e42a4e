package accounts

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
	ErrLoginExpired = errors.New("the sign-in code expired before it was approved; start the sign-in again")
	ErrLoginDenied  = errors.New("the sign-in was refused in the browser")
)

// deviceLogin runs the SSO-OIDC device flow of a Builder ID or IAM
// Identity Center login: register a client, start a device authorization,
// show the code, poll until it is approved (kiro-protocol.md §6.5, A.6).
func (m *Manager) deviceLogin(ctx context.Context, r LoginRequest, ui LoginUI) (login, error) {
	got := login{authMethod: AuthIdC, provider: "BuilderId", region: r.Region, startURL: kiro.BuilderIDStartURL}
	if r.Kind == LoginIdC {
		got.provider, got.startURL = "Enterprise", r.StartURL
	}
	ui.status("registering kirobar with AWS sign-in…")
	reg, err := m.kc.RegisterClient(ctx, r.Region)
	if err != nil {
		return login{}, fmt.Errorf("register a sign-in client: %w", err)
	}
	got.clientID, got.clientSecret = reg.ClientID, reg.ClientSecret
	da, err := m.kc.StartDeviceAuthorization(ctx, r.Region, reg, got.startURL)
	if err != nil {
		return login{}, fmt.Errorf("start the device sign-in: %w", err)
	}
	code := DeviceCode{
		UserCode: da.UserCode, VerificationURI: da.VerificationURI, VerificationURIComplete: da.VerificationURIComplete,
		ExpiresAt: m.now().Add(da.ExpiresIn), Interval: da.Interval,
	}
	if ui.Device != nil {
		ui.Device(code)
	}
	page := da.VerificationURIComplete
	if page == "" {
		page = da.VerificationURI
	}
	ui.open(page)
	ui.status("waiting for approval of code %s in the browser…", da.UserCode)

	interval := da.Interval
	for {
		if err := m.login.sleep(ctx, interval); err != nil {
			return login{}, fmt.Errorf("device sign-in: %w", err)
		}
		if !m.now().Before(code.ExpiresAt) {
			return login{}, ErrLoginExpired
		}
		tok, err := m.kc.PollDeviceToken(ctx, r.Region, reg, da.DeviceCode)
		if err == nil {
			got.tokens = tok
			ui.status("approved")
			return got, nil
		}
		ke, ok := kiro.AsError(err)
		if !ok {
			return login{}, fmt.Errorf("device sign-in: %w", err)
		}
		switch ke.Reason {
		case "authorization_pending":
		case "slow_down":
			interval += slowDownStep
			ui.status("AWS asked kirobar to poll more slowly (every %s)", interval)
		case "expired_token":
			return login{}, ErrLoginExpired
		case "access_denied":
			return login{}, ErrLoginDenied
		default:
			return login{}, fmt.Errorf("device sign-in: %w", err)
		}
	}
}
