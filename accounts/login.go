package accounts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kirobar/kirobar/accounts/signin"
	"github.com/kirobar/kirobar/accounts/tokenfile"
	"github.com/kirobar/kirobar/internal/browser"
	"github.com/kirobar/kirobar/kiro"
)

// DefaultLoginTimeout bounds how long a sign-in waits for the user to
// finish in the browser.
const DefaultLoginTimeout = 10 * time.Minute

// LoginRequest says how to sign in and whether to renew an account.
type LoginRequest struct {
	Kind     signin.Kind
	StartURL string // IdC: the organisation's start URL (https://<org>.awsapps.com/start)
	Region   string // OIDC region of a Builder ID / IdC login; "" = [kiro] region
	// Relogin is the id of an account to renew in place (same id, history
	// and counters); "" adds an account.
	Relogin string
}

// signinRequest is the sign-in part of r.
func (r LoginRequest) signinRequest() signin.Request {
	return signin.Request{Kind: r.Kind, StartURL: r.StartURL, Region: r.Region}
}

// loginOptions are the Manager's sign-in collaborators.
type loginOptions struct {
	flow    signin.Options
	openURL func(url string) error
	timeout time.Duration
}

func newLoginOptions(o Options) loginOptions {
	l := loginOptions{
		flow:    signin.Options{Now: o.Now, Sleep: o.Sleep, Ports: o.CallbackPorts},
		openURL: o.OpenURL, timeout: o.LoginTimeout,
	}
	if l.openURL == nil {
		l.openURL = browser.OpenURL
	}
	if l.timeout <= 0 {
		l.timeout = DefaultLoginTimeout
	}
	return l
}

// Login signs in to Kiro (signin.Run) and stores the account: a new one,
// or — with r.Relogin — the named account renewed in place. Before it is
// stored the account's profile is resolved and its quota and models are
// read, each failure only reported through ui (kirobar retries them at
// first use and on `kirobar accounts check`). It returns once the user
// finished in the browser, the code expired, the user refused, or ctx
// ended, or after the Manager's login timeout.
func (m *Manager) Login(ctx context.Context, r LoginRequest, ui signin.UI) (View, error) {
	r.StartURL, r.Region, r.Relogin = strings.TrimSpace(r.StartURL), strings.TrimSpace(r.Region), strings.TrimSpace(r.Relogin)
	if err := r.signinRequest().Validate(); err != nil {
		return View{}, err
	}
	var old Account
	if r.Relogin != "" {
		m.mu.Lock()
		e, ok := m.accounts[r.Relogin]
		if ok {
			old = e.acc
		}
		m.mu.Unlock()
		if !ok {
			return View{}, fmt.Errorf("sign in again to %s: %w", r.Relogin, ErrNotFound)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, m.login.timeout)
	defer cancel()
	got, err := signin.Run(ctx, m.kc, r.signinRequest(), ui, m.login.flow)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			err = fmt.Errorf("sign-in not finished within %s: %w", m.login.timeout, err)
		}
		return View{}, err
	}
	machineID := old.MachineID
	if machineID == "" {
		if machineID, err = newMachineID(); err != nil {
			return View{}, err
		}
	}
	// The account as it will be stored, to resolve its profile and read
	// its quota before it is: the email from the quota finds an earlier
	// sign-in of the same account. A new sign-in resolves its facts
	// afresh, whatever style an earlier token ended on.
	acc := Account{
		ID: r.Relogin, AuthMethod: got.AuthMethod, Provider: got.Provider, Region: got.Region, StartURL: got.StartURL,
		AccessToken: got.Tokens.AccessToken, ProfileARN: got.Tokens.ProfileARN, MachineID: machineID, Proxy: old.Proxy,
	}
	f := factsOf(&acc)
	f.apiRegion = kiro.RegionFromARN(acc.ProfileARN)
	resolved := true
	if m.needsProfile(&acc) {
		found, ferr := m.findFacts(ctx, acc, "")
		if ferr != nil {
			resolved = false
			ui.Statusf("signed in, but the account's Kiro profile could not be resolved (kirobar tries again at first use): %v", ferr)
		} else {
			f = found
			ui.Statusf("Kiro profile: %s", describeFacts(f))
		}
	}
	acc.ProfileARN, acc.APIRegion, acc.APIStyle, acc.Provider = f.arn, f.apiRegion, f.style, f.provider
	lim, limErr := m.kc.UsageLimits(ctx, credentials(&acc))
	if limErr != nil {
		ui.Statusf("signed in, but reading the account's quota failed (kirobar retries on `kirobar accounts check`): %v", limErr)
	}
	var id string
	if r.Relogin != "" {
		id, err = r.Relogin, m.renew(ctx, r.Relogin, got, f.arn)
	} else {
		id, err = m.storeLogin(ctx, got, f.arn, machineID, lim.Email)
	}
	if err != nil {
		return View{}, err
	}
	if err := m.storeLoginFacts(ctx, id, f, resolved); err != nil {
		ui.Statusf("signed in, but saving the account's profile failed: %v", err)
	}
	if limErr == nil {
		if err := m.recordLimits(ctx, id, lim, false); err != nil {
			ui.Statusf("signed in, but saving the account's quota failed: %v", err)
		}
	}
	if n, err := m.discoverModels(ctx, id); err != nil {
		ui.Statusf("signed in, but listing the account's models failed (kirobar uses its built-in table until `kirobar accounts check`): %v", err)
	} else {
		ui.Statusf("Kiro offers the account %d models", n)
	}
	v, err := m.View(id)
	if err != nil {
		return View{}, err
	}
	m.log.Info("accounts: signed in", "account", id, "auth", got.AuthMethod, "provider", got.Provider, "renewed", r.Relogin != "",
		"profile", v.ProfileARN, "api_region", v.APIRegion, "style", v.APIStyle)
	return v, nil
}

// storeLoginFacts stores what a sign-in resolved; an unresolved profile
// leaves the account to be resolved at first use, on the default style.
func (m *Manager) storeLoginFacts(ctx context.Context, id string, f facts, resolved bool) error {
	if resolved {
		return m.storeFacts(ctx, id, f)
	}
	return m.update(ctx, id, func(a *Account) map[string]any {
		a.APIStyle, a.APIRegion, a.ProfileAt = "", "", time.Time{}
		return map[string]any{"api_style": "", "api_region": "", "profile_at": time.Time{}}
	})
}

// describeFacts says in a few words where an account is served.
func describeFacts(f facts) string {
	style := f.style
	if style == "" {
		style = "default style"
	}
	region := f.apiRegion
	if region == "" {
		region = "default region"
	}
	arn := f.arn
	if arn == "" {
		arn = "no profile"
	}
	return fmt.Sprintf("%s, %s, %s", arn, region, style)
}

// storeLogin adds the signed-in account, or updates the existing account
// of the same login (same refresh token, or same email and auth method),
// so signing in twice never makes a duplicate.
func (m *Manager) storeLogin(ctx context.Context, got signin.Result, profileARN, machineID, email string) (string, error) {
	c := candidate{
		Record: tokenfile.Record{
			Origin: "sign-in", AuthMethod: got.AuthMethod, Provider: got.Provider, Region: got.Region,
			StartURL: got.StartURL, Email: email,
			Tokens: tokenfile.Tokens{
				AccessToken: got.Tokens.AccessToken, RefreshToken: got.Tokens.RefreshToken, ExpiresAt: got.Tokens.ExpiresAt,
				ProfileARN: profileARN, ClientID: got.ClientID, ClientSecret: got.ClientSecret,
			},
		},
		sourceKind: SourceNone, machineID: machineID,
	}
	v, _, err := m.upsert(ctx, c, "")
	if err != nil {
		return "", err
	}
	return v.ID, nil
}

// renew puts a new login's tokens into an existing account: the id,
// counters, history, label, proxy and machine id stay; the status is reset
// and the account is enabled. A linked token file is unlinked, because
// the new login is not the one in that file.
func (m *Manager) renew(ctx context.Context, id string, got signin.Result, profileARN string) error {
	m.mu.Lock()
	if e, ok := m.accounts[id]; ok {
		e.authFails, e.refreshFails, e.refreshRetryAt = 0, 0, time.Time{}
		e.throttleStreak, e.breakerFails, e.needUsage = 0, 0, false
	}
	m.mu.Unlock()
	return m.update(ctx, id, func(a *Account) map[string]any {
		a.AuthMethod, a.Provider, a.Region, a.StartURL = got.AuthMethod, got.Provider, got.Region, got.StartURL
		a.AccessToken, a.RefreshToken, a.ExpiresAt = got.Tokens.AccessToken, got.Tokens.RefreshToken, got.Tokens.ExpiresAt.UTC()
		a.ClientID, a.ClientSecret = got.ClientID, got.ClientSecret
		if profileARN != "" {
			a.ProfileARN = profileARN
		}
		a.SourceKind, a.SourceFile, a.SourceKey, a.SourceModTime = SourceNone, "", "", 0
		a.Enabled, a.Status, a.CooldownUntil, a.LastError = true, StatusReady, time.Time{}, ""
		return map[string]any{
			"auth_method": a.AuthMethod, "provider": a.Provider, "region": a.Region, "start_url": a.StartURL,
			"access_token": a.AccessToken, "refresh_token": a.RefreshToken, "expires_at": a.ExpiresAt,
			"client_id": a.ClientID, "client_secret": a.ClientSecret, "profile_arn": a.ProfileARN,
			"source_kind": a.SourceKind, "source_file": "", "source_key": "", "source_mod_time": int64(0),
			"enabled": true, "status": a.Status, "cooldown_until": a.CooldownUntil, "last_error": "",
		}
	})
}
