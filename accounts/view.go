package accounts

import (
	"fmt"
	"net/url"
	"time"
)

// View is what the CLI, the tray and /health may show about an account.
// It carries no token: at most a masked hint of each.
type View struct {
	ID         string `json:"id"`
	Label      string `json:"label"`
	Email      string `json:"email,omitempty"`
	AuthMethod string `json:"auth_method"`
	Provider   string `json:"provider,omitempty"`
	// Kind is social, builder-id or idc (IAM Identity Center).
	Kind string `json:"kind"`
	// Region is the sign-in region (token refresh; the SSO region of an
	// IdC login); "" = [kiro] region.
	Region string `json:"region,omitempty"`
	// ProfileARN is the profile the account's API calls name (Builder ID:
	// the shared placeholder); APIRegion the region that serves it
	// (us-east-1 or eu-central-1); APIStyle the host style it is served
	// on (runtime or ide); ProfileAt when these were resolved (zero: not
	// yet, at first use).
	ProfileARN    string    `json:"profile_arn,omitempty"`
	StartURL      string    `json:"start_url,omitempty"` // the IdC organisation's; see Renewal
	APIRegion     string    `json:"api_region"`
	ProfileAt     time.Time `json:"profile_at,omitzero"`
	Status        string    `json:"status"`
	Enabled       bool      `json:"enabled"`
	ExpiresAt     time.Time `json:"expires_at"`
	CooldownUntil time.Time `json:"cooldown_until,omitzero"`
	Plan          string    `json:"plan,omitempty"`
	QuotaUsed     float64   `json:"quota_used"`
	QuotaLimit    float64   `json:"quota_limit"`
	QuotaReset    time.Time `json:"quota_reset,omitzero"`
	CheckedAt     time.Time `json:"checked_at,omitzero"`
	// OverageEnabled: Kiro serves the account past QuotaLimit, billed as
	// overage, until OverageCap; Overages is what it used past the limit.
	// UseOverage false in [accounts] rests it at the limit anyway.
	OverageEnabled bool    `json:"overage_enabled"`
	Overages       float64 `json:"overages"`
	OverageCap     float64 `json:"overage_cap,omitempty"`
	// Models are the model ids Kiro listed for the account, as of
	// ModelsAt; empty until listed.
	Models       []string  `json:"models,omitempty"`
	ModelsAt     time.Time `json:"models_at,omitzero"`
	Requests     int64     `json:"requests"`
	Errors       int64     `json:"errors"`
	Credits      float64   `json:"credits"`
	InputTokens  int64     `json:"input_tokens"`
	OutputTokens int64     `json:"output_tokens"`
	LastUsed     time.Time `json:"last_used,omitzero"`
	LastError    string    `json:"last_error,omitempty"`
	SourceFile   string    `json:"source_file,omitempty"`
	Proxy        string    `json:"proxy,omitempty"` // password masked
	APIStyle     string    `json:"api_style"`
	// BlockedModels are the models Kiro refused twice on this account,
	// with when they are offered again.
	BlockedModels map[string]time.Time `json:"blocked_models,omitempty"`
	InFlight      int                  `json:"in_flight"`
	Refreshing    bool                 `json:"refreshing"`
	AccessToken   string               `json:"access_token"`  // masked
	RefreshToken  string               `json:"refresh_token"` // masked
}

// List returns every account, oldest first.
func (m *Manager) List() []View {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	es := m.sortedLocked()
	out := make([]View, 0, len(es))
	for _, e := range es {
		out = append(out, m.viewLocked(e, now))
	}
	return out
}

// View returns one account.
func (m *Manager) View(id string) (View, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.accounts[id]
	if !ok {
		return View{}, fmt.Errorf("account %s: %w", id, ErrNotFound)
	}
	return m.viewLocked(e, now), nil
}

func (m *Manager) viewLocked(e *entry, now time.Time) View {
	a := e.acc
	applyUsage(&a, e.pending)
	region := apiRegion(&a)
	if region == "" {
		region = m.kc.DefaultRegion()
	}
	v := View{
		ID: a.ID, Label: a.Label, Email: a.Email, AuthMethod: a.AuthMethod, Provider: a.Provider, Kind: a.kind(),
		Region: a.Region, ProfileARN: a.ProfileARN, APIRegion: region, ProfileAt: a.ProfileAt, StartURL: a.StartURL,
		Status: effective(&a, now, m.lead()), Enabled: a.Enabled,
		ExpiresAt: a.ExpiresAt, Plan: a.Plan, QuotaUsed: a.QuotaUsed, QuotaLimit: a.QuotaLimit,
		QuotaReset: a.QuotaReset, CheckedAt: a.CheckedAt,
		OverageEnabled: a.OverageEnabled, Overages: a.Overages, OverageCap: a.OverageCap, ModelsAt: a.ModelsAt,
		Requests: a.Requests, Errors: a.Errors,
		Credits: a.Credits, InputTokens: a.InputTokens, OutputTokens: a.OutputTokens, LastUsed: a.LastUsed,
		LastError: a.LastError, SourceFile: a.SourceFile, Proxy: MaskProxy(a.Proxy), APIStyle: m.style(&a),
		InFlight: e.inflight, Refreshing: e.refresh != nil,
		AccessToken: Mask(a.AccessToken), RefreshToken: Mask(a.RefreshToken),
	}
	for _, x := range decodeModels(a.Models) {
		v.Models = append(v.Models, x.ID)
	}
	if a.CooldownUntil.After(now) {
		v.CooldownUntil = a.CooldownUntil
	}
	for model, until := range e.badModels {
		if until.After(now) {
			if v.BlockedModels == nil {
				v.BlockedModels = map[string]time.Time{}
			}
			v.BlockedModels[model] = until
		}
	}
	return v
}

// Mask shortens a secret to a hint that tells tokens apart without
// revealing them: the first 4 characters and the length.
func Mask(s string) string {
	if s == "" {
		return ""
	}
	if len(s) <= 12 {
		return "****"
	}
	return fmt.Sprintf("%s…(%d chars)", s[:4], len(s))
}

// validateProxy accepts "", http(s):// and socks5(h):// URLs with a host.
func validateProxy(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil {
		// url.Parse's error quotes the whole input, password included.
		return fmt.Errorf("proxy URL %q is not a valid URL", MaskProxy(s))
	}
	switch u.Scheme {
	case "http", "https", "socks5", "socks5h":
	default:
		return fmt.Errorf("proxy URL scheme %q: use http, https, socks5 or socks5h", u.Scheme)
	}
	if u.Host == "" {
		return fmt.Errorf("proxy URL %q has no host", u.Redacted())
	}
	return nil
}
