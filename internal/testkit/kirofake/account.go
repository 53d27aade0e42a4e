package kirofake

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Account is one Kiro account the fake knows.
type Account struct {
	ID string
	// Email is reported by getUsageLimits (default ID@example.com).
	Email string
	// AuthMethod is "social" or "idc" (default: "idc" when ClientID is
	// set, else "social").
	AuthMethod   string
	RefreshToken string
	// AccessToken, when set, is valid until AccessExpiry (default now +
	// AccessTTL). Leave it empty to force a refresh before the first call.
	AccessToken  string
	AccessExpiry time.Time
	// ClientID and ClientSecret are the OIDC client of an IdC account; its
	// refreshes must present them.
	ClientID     string
	ClientSecret string
	// ProfileARN is the account's profile: social refreshes return it,
	// ListAvailableProfiles lists it in its region, and generations must
	// name it (default DefaultProfileARN for social accounts,
	// DefaultIdCProfileARN for IAM Identity Center ones, none for Builder
	// ID).
	ProfileARN string
	// ExtraProfiles are further profiles the account may use.
	ExtraProfiles []string
	// BuilderID marks an IdC account signed in with an AWS Builder ID: it
	// has no profile, ListAvailableProfiles refuses it, and on the runtime
	// host it may send BuilderIDProfileARN (AuthMethod "builder-id" sets
	// it).
	BuilderID bool
	// SSORegion is where an IdC account's OIDC client lives: refreshes
	// through a HostOIDC URL of another region are refused (default
	// us-east-1).
	SSORegion string
	// Models are the model ids ListAvailableModels offers the account and
	// generations may use (default Options.Models).
	Models []string
	// OverageEnabled lets the account go past Limit, billed as overage,
	// until OverageCap more credits are used (getUsageLimits reports
	// overageConfiguration.overageStatus ENABLED; kiro-protocol.md §11.5).
	OverageEnabled bool
	// OverageCap is how many credits past Limit an account with overage
	// may use (default 1000); beyond it generations get
	// OVERAGE_REQUEST_LIMIT_EXCEEDED.
	OverageCap float64
	// Plan is the subscription title (default "KIRO FREE").
	Plan string
	// Used and Limit are credits this month (Limit default 50). Metering
	// events the fake streams add to Used; at Limit generations get 402.
	Used  float64
	Limit float64
	// NextReset is when Used returns to 0 (default the first of next month,
	// UTC).
	NextReset time.Time
	// NoMetadataEvent makes the account's streams end the way some
	// accounts' do (Builder ID, Quorinex/Kiro-Go#158): the fake drops the
	// metadataEvents of every reply, so a stream ends with meteringEvent and
	// contextUsageEvent only.
	NoMetadataEvent bool
}

// Authentication methods.
const (
	AuthSocial = "social"
	AuthIdC    = "idc"
)

type accountState struct {
	Account
	suspended       bool
	quotaExhausted  bool
	throttleLeft    int
	retryAfter      time.Duration
	refreshFailures int
}

type accessGrant struct {
	accountID string
	expiry    time.Time
}

// AddAccount adds an account, or replaces the one with the same ID
// (invalidating the replaced account's tokens). An empty ID gets
// "account-N".
func (s *Server) AddAccount(a Account) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addAccountLocked(a)
}

func (s *Server) addAccountLocked(a Account) *accountState {
	now := s.opts.Clock()
	if a.ID == "" {
		s.seq++
		a.ID = fmt.Sprintf("account-%d", s.seq)
	}
	if old, ok := s.accounts[a.ID]; ok {
		s.forgetTokensLocked(old.ID)
	} else {
		s.order = append(s.order, a.ID)
	}
	switch strings.ToLower(a.AuthMethod) {
	case "":
		a.AuthMethod = AuthSocial
		if a.ClientID != "" {
			a.AuthMethod = AuthIdC
		}
	case "builder-id", "builderid":
		a.AuthMethod, a.BuilderID = AuthIdC, true
	case "idc", "iam":
		a.AuthMethod = AuthIdC
	default:
		a.AuthMethod = strings.ToLower(a.AuthMethod)
	}
	if a.Email == "" {
		a.Email = a.ID + "@example.com"
	}
	switch {
	case a.BuilderID:
		a.ProfileARN = ""
	case a.ProfileARN == "" && a.AuthMethod == AuthSocial:
		a.ProfileARN = DefaultProfileARN
	case a.ProfileARN == "" && a.AuthMethod == AuthIdC:
		a.ProfileARN = DefaultIdCProfileARN
	}
	if a.SSORegion == "" && a.AuthMethod == AuthIdC {
		a.SSORegion = rootRegion
	}
	if a.OverageEnabled && a.OverageCap == 0 {
		a.OverageCap = 1000
	}
	if a.Plan == "" {
		a.Plan = "KIRO FREE"
	}
	if a.Limit == 0 {
		a.Limit = 50
	}
	if a.NextReset.IsZero() {
		a.NextReset = firstOfNextMonth(now)
	}
	if a.AccessToken != "" {
		if a.AccessExpiry.IsZero() {
			a.AccessExpiry = now.Add(s.opts.AccessTTL)
		}
		s.access[a.AccessToken] = accessGrant{accountID: a.ID, expiry: a.AccessExpiry}
	}
	if a.RefreshToken != "" {
		s.refresh[a.RefreshToken] = a.ID
	}
	st := &accountState{Account: a}
	s.accounts[a.ID] = st
	return st
}

func (s *Server) forgetTokensLocked(id string) {
	for tok, g := range s.access {
		if g.accountID == id {
			delete(s.access, tok)
		}
	}
	for tok, owner := range s.refresh {
		if owner == id {
			delete(s.refresh, tok)
		}
	}
}

// Account returns the account's current state, including tokens issued by
// refreshes and the credits used; the zero Account when id is unknown.
func (s *Server) Account(id string) Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[id]
	if !ok {
		return Account{}
	}
	s.rolloverLocked(a)
	return a.Account
}

// Accounts returns every account in the order they were added (accounts
// created by logins included).
func (s *Server) Accounts() []Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Account, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.accounts[id].Account)
	}
	return out
}

// SetSuspended makes the account's generations fail with the 403
// TEMPORARILY_SUSPENDED answer (or lifts it).
func (s *Server) SetSuspended(id string, suspended bool) {
	s.withAccount(id, func(a *accountState) { a.suspended = suspended })
}

// SetQuotaExhausted makes the account's generations fail with 402
// MONTHLY_REQUEST_COUNT regardless of its credits (or lifts it).
func (s *Server) SetQuotaExhausted(id string, exhausted bool) {
	s.withAccount(id, func(a *accountState) { a.quotaExhausted = exhausted })
}

// Throttle makes the account's next n accepted generations fail with 429
// SERVICE_REQUEST_RATE_EXCEEDED, with a Retry-After header when
// retryAfter > 0 (whole seconds, rounded up).
func (s *Server) Throttle(id string, n int, retryAfter time.Duration) {
	s.withAccount(id, func(a *accountState) {
		a.throttleLeft = n
		a.retryAfter = retryAfter
	})
}

// SetNoMetadataEvent makes the account's streams end without metadataEvent
// (Account.NoMetadataEvent), as Builder ID accounts' do, or with it again.
func (s *Server) SetNoMetadataEvent(id string, on bool) {
	s.withAccount(id, func(a *accountState) { a.NoMetadataEvent = on })
}

// FailRefreshes makes the account's next n refreshes fail with a 500, a
// transient failure that must not disable the account.
func (s *Server) FailRefreshes(id string, n int) {
	s.withAccount(id, func(a *accountState) { a.refreshFailures = n })
}

// RevokeRefreshToken makes the account's refresh token answer
// invalid_grant, as after the user signed out elsewhere.
func (s *Server) RevokeRefreshToken(id string) {
	s.withAccount(id, func(a *accountState) {
		delete(s.refresh, a.RefreshToken)
	})
}

// InvalidateAccessTokens makes every access token issued to the account
// answer 403 bearer-invalid before its expiry, as the service does at times.
func (s *Server) InvalidateAccessTokens(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tok, g := range s.access {
		if g.accountID == id {
			delete(s.access, tok)
		}
	}
}

func (s *Server) withAccount(id string, fn func(a *accountState)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.accounts[id]; ok {
		fn(a)
	}
}

// authenticate resolves the bearer token to an account. It returns nil for
// a missing, unknown or expired token.
func (s *Server) authenticate(r *http.Request) *accountState {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.access[token]
	if !ok || !s.opts.Clock().Before(g.expiry) {
		return nil
	}
	a := s.accounts[g.accountID]
	if a != nil {
		s.rolloverLocked(a)
	}
	return a
}

// issueLocked gives the account a new access token and, when rotating or
// when it has none, a new refresh token.
func (s *Server) issueLocked(a *accountState, rotate bool) {
	now := s.opts.Clock()
	a.AccessToken = newToken("aoaAAAAA")
	a.AccessExpiry = now.Add(s.opts.AccessTTL)
	s.access[a.AccessToken] = accessGrant{accountID: a.ID, expiry: a.AccessExpiry}
	if rotate || a.RefreshToken == "" {
		delete(s.refresh, a.RefreshToken)
		a.RefreshToken = newToken("aorAAAAA")
		s.refresh[a.RefreshToken] = a.ID
	}
}

// rolloverLocked starts a new month of credits once NextReset has passed.
func (s *Server) rolloverLocked(a *accountState) {
	now := s.opts.Clock()
	for !now.Before(a.NextReset) {
		a.Used = 0
		a.NextReset = firstOfNextMonth(a.NextReset)
	}
}

func firstOfNextMonth(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
}

// newToken makes an opaque token over 100 characters long, as real Kiro
// tokens are (kirobar may reject shorter ones as truncated).
func newToken(prefix string) string {
	b := make([]byte, 96)
	// crypto/rand.Read never returns an error (it crashes the program
	// instead when the OS source fails).
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// SetProfileARN moves the account to another profile, as when an
// organisation recreates its Kiro profile: requests naming the old one are
// then refused as foreign.
func (s *Server) SetProfileARN(id, arn string) {
	s.withAccount(id, func(a *accountState) { a.ProfileARN = arn })
}

// SetOverage turns the account's overage on or off (see
// Account.OverageEnabled); cap 0 keeps the current cap.
func (s *Server) SetOverage(id string, enabled bool, cap float64) {
	s.withAccount(id, func(a *accountState) {
		a.OverageEnabled = enabled
		if cap > 0 {
			a.OverageCap = cap
		} else if enabled && a.OverageCap == 0 {
			a.OverageCap = 1000
		}
	})
}

// SetUsed sets the credits the account used this month.
func (s *Server) SetUsed(id string, used float64) {
	s.withAccount(id, func(a *accountState) { a.Used = used })
}
