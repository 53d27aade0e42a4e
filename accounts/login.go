package accounts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kirobar/kirobar/internal/browser"
	"github.com/kirobar/kirobar/kiro"
)

// DefaultLoginTimeout bounds how long a sign-in waits for the user to
// finish in the browser.
const DefaultLoginTimeout = 10 * time.Minute

// LoginKind names a way to sign in.
type LoginKind string

// Sign-in kinds: AWS Builder ID and IAM Identity Center use the SSO-OIDC
// device flow; Google and GitHub use the Kiro auth portal with PKCE
// (kiro-protocol.md §6.5).
const (
	LoginBuilderID LoginKind = "builder-id"
	LoginIdC       LoginKind = "idc"
	LoginGoogle    LoginKind = "google"
	LoginGitHub    LoginKind = "github"
)

// LoginRequest says how to sign in and whether to renew an account.
type LoginRequest struct {
	Kind     LoginKind
	StartURL string // IdC: the organisation's start URL (https://<org>.awsapps.com/start)
	Region   string // OIDC region of a Builder ID / IdC login; "" = [kiro] region
	// Relogin is the id of an account to renew in place (same id, history
	// and counters); "" adds an account.
	Relogin string
}

// DeviceCode is what the user needs to approve a device login.
type DeviceCode struct {
	UserCode                string
	VerificationURI         string
	VerificationURIComplete string
	ExpiresAt               time.Time
	Interval                time.Duration
}

// LoginUI is how a sign-in talks to the user. Every field may be nil.
type LoginUI struct {
	// OpenURL opens the browser; nil only shows the URL (via Status).
	OpenURL func(url string) error
	// Device is called once the device code is known.
	Device func(DeviceCode)
	// Status receives progress lines ("waiting for approval…").
	Status func(msg string)
}

func (ui LoginUI) status(format string, args ...any) {
	if ui.Status != nil {
		ui.Status(fmt.Sprintf(format, args...))
	}
}

// open opens url in the browser when the UI can, and always says where to go.
func (ui LoginUI) open(url string) {
	if ui.OpenURL == nil {
		ui.status("open %s in your browser", url)
		return
	}
	if err := ui.OpenURL(url); err != nil {
		ui.status("could not open a browser (%v); open %s yourself", err, url)
		return
	}
	ui.status("opened %s in your browser", url)
}

// loginOptions are the Manager's sign-in collaborators.
type loginOptions struct {
	sleep   func(ctx context.Context, d time.Duration) error
	openURL func(url string) error
	timeout time.Duration
	ports   []int
}

func newLoginOptions(o Options) loginOptions {
	l := loginOptions{sleep: o.Sleep, openURL: o.OpenURL, timeout: o.LoginTimeout, ports: o.CallbackPorts}
	if len(l.ports) == 0 {
		l.ports = CallbackPorts
	}
	if l.sleep == nil {
		l.sleep = sleepCtx
	}
	if l.openURL == nil {
		l.openURL = browser.OpenURL
	}
	if l.timeout <= 0 {
		l.timeout = DefaultLoginTimeout
	}
	return l
}

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// login is what a finished sign-in yields, before it is stored.
type login struct {
	authMethod, provider, region, startURL string
	tokens                                 kiro.Tokens
	clientID, clientSecret                 string
}

// Login signs in to Kiro and stores the account: a new one, or — with
// r.Relogin — the named account renewed in place. It returns once the
// user finished in the browser, the code expired, the user refused, or
// ctx ended.
func (m *Manager) Login(ctx context.Context, r LoginRequest, ui LoginUI) (View, error) {
	r.StartURL, r.Region, r.Relogin = strings.TrimSpace(r.StartURL), strings.TrimSpace(r.Region), strings.TrimSpace(r.Relogin)
	if err := r.validate(); err != nil {
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
	var got login
	var err error
	switch r.Kind {
	case LoginBuilderID, LoginIdC:
		got, err = m.deviceLogin(ctx, r, ui)
	default:
		got, err = m.socialLogin(ctx, r, ui)
	}
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
		ID: r.Relogin, AuthMethod: got.authMethod, Provider: got.provider, Region: got.region, StartURL: got.startURL,
		AccessToken: got.tokens.AccessToken, ProfileARN: got.tokens.ProfileARN, MachineID: machineID, Proxy: old.Proxy,
	}
	f := factsOf(&acc)
	f.apiRegion = kiro.RegionFromARN(acc.ProfileARN)
	resolved := true
	if m.needsProfile(&acc) {
		found, ferr := m.findFacts(ctx, acc, "")
		if ferr != nil {
			resolved = false
			ui.status("signed in, but the account's Kiro profile could not be resolved (kirobar tries again at first use): %v", ferr)
		} else {
			f = found
			ui.status("Kiro profile: %s", describeFacts(f))
		}
	}
	acc.ProfileARN, acc.APIRegion, acc.APIStyle, acc.Provider = f.arn, f.apiRegion, f.style, f.provider
	lim, limErr := m.kc.UsageLimits(ctx, credentials(&acc))
	if limErr != nil {
		ui.status("signed in, but reading the account's quota failed (kirobar retries on `kirobar accounts check`): %v", limErr)
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
		ui.status("signed in, but saving the account's profile failed: %v", err)
	}
	if limErr == nil {
		if err := m.recordLimits(ctx, id, lim, false); err != nil {
			ui.status("signed in, but saving the account's quota failed: %v", err)
		}
	}
	if n, err := m.discoverModels(ctx, id); err != nil {
		ui.status("signed in, but listing the account's models failed (kirobar uses its built-in table until `kirobar accounts check`): %v", err)
	} else {
		ui.status("Kiro offers the account %d models", n)
	}
	v, err := m.View(id)
	if err != nil {
		return View{}, err
	}
	m.log.Info("accounts: signed in", "account", id, "auth", got.authMethod, "provider", got.provider, "renewed", r.Relogin != "",
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

// reloginHint says how to renew account a, whose refresh token Kiro
// rejected: sign in again in place the way it signed in (see Renewal), or
// refresh the IDE's login and import.
func reloginHint(a *Account) string {
	cmd := RenewalOf(a.AuthMethod, a.Provider, a.StartURL, a.Region).Command(a.ID)
	return "log in again with `" + cmd + "`, or in the Kiro IDE and then run `kirobar accounts import`"
}

// markNeedsLogin is the stored change for an account whose refresh token
// Kiro rejected.
func markNeedsLogin(a *Account) map[string]any {
	return setStatus(StatusNeedsLogin, time.Time{}, reloginHint(a))(a)
}

func (r LoginRequest) validate() error {
	switch r.Kind {
	case LoginBuilderID, LoginGoogle, LoginGitHub:
		if r.StartURL != "" {
			return fmt.Errorf("a %s sign-in takes no start URL", r.Kind)
		}
	case LoginIdC:
		if r.StartURL == "" {
			return errors.New("an IAM Identity Center sign-in needs the organisation's start URL (https://<org>.awsapps.com/start)")
		}
		if !strings.HasPrefix(r.StartURL, "https://") && !strings.HasPrefix(r.StartURL, "http://") {
			return fmt.Errorf("start URL %q must begin with https://", r.StartURL)
		}
	default:
		return fmt.Errorf("unknown sign-in kind %q (want %s, %s, %s or %s)", r.Kind, LoginBuilderID, LoginIdC, LoginGoogle, LoginGitHub)
	}
	return nil
}

// storeLogin adds the signed-in account, or updates the existing account
// of the same login (same refresh token, or same email and auth method),
// so signing in twice never makes a duplicate.
func (m *Manager) storeLogin(ctx context.Context, got login, profileARN, machineID, email string) (string, error) {
	c := candidate{
		origin: "sign-in", authMethod: got.authMethod, provider: got.provider, region: got.region,
		profileARN: profileARN, startURL: got.startURL, email: email, sourceKind: SourceNone, machineID: machineID,
		tokens: tokenSet{
			AccessToken: got.tokens.AccessToken, RefreshToken: got.tokens.RefreshToken, ExpiresAt: got.tokens.ExpiresAt,
			ProfileARN: profileARN, ClientID: got.clientID, ClientSecret: got.clientSecret,
		},
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
func (m *Manager) renew(ctx context.Context, id string, got login, profileARN string) error {
	m.mu.Lock()
	if e, ok := m.accounts[id]; ok {
		e.authFails, e.refreshFails, e.refreshRetryAt = 0, 0, time.Time{}
		e.throttleStreak, e.breakerFails, e.needUsage = 0, 0, false
	}
	m.mu.Unlock()
	return m.update(ctx, id, func(a *Account) map[string]any {
		a.AuthMethod, a.Provider, a.Region, a.StartURL = got.authMethod, got.provider, got.region, got.startURL
		a.AccessToken, a.RefreshToken, a.ExpiresAt = got.tokens.AccessToken, got.tokens.RefreshToken, got.tokens.ExpiresAt.UTC()
		a.ClientID, a.ClientSecret = got.clientID, got.clientSecret
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
