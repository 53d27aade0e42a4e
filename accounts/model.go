package accounts

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/kirobar/kirobar/accounts/tokenfile"
	"github.com/kirobar/kirobar/kiro"
)

// Status values shown to users. The stored status keeps what kirobar
// learned (a suspension, a cooldown); the shown status is derived from it,
// the enabled flag, the cooldown end and the token expiry (see effective).
const (
	StatusReady      = "ready"
	StatusExpiring   = "expiring"
	StatusCooling    = "cooling"
	StatusExhausted  = "exhausted"
	StatusSuspended  = "suspended"
	StatusNeedsLogin = "needs_login"
	StatusDisabled   = "disabled"
	StatusError      = "error"
	// StatusOverage is an account past its monthly limit that Kiro goes on
	// serving because its overage (add-on credits) is enabled; it serves,
	// after the accounts that still have included credits.
	StatusOverage = "overage"
)

// Auth methods as stored: kiro's names; importers canonicalise the
// spellings tools use (tokenfile.CanonicalAuth).
const (
	AuthSocial = kiro.AuthSocial
	AuthIdC    = kiro.AuthIdC
)

// Source kinds say where an imported account's tokens live, so kirobar can
// keep the account linked to that place (tokenfile.Link).
const (
	SourceNone    = ""
	SourceJSON    = tokenfile.KindJSON    // an IDE cache file or any JSON token file; written back
	SourceKiroCLI = tokenfile.KindKiroCLI // kiro-cli's SQLite store; read only
	SourceManual  = "manual"              // a pasted refresh token, or an object of an array file
)

// Account is the stored form of one Kiro account. Tokens live here (the
// database file is 0600); they never leave the package except inside a
// Lease's Credentials.
type Account struct {
	ID        string `gorm:"primaryKey;size:16"`
	Label     string
	LabelAuto bool // the label was made up by kirobar and may become the email
	Email     string
	UserID    string

	AuthMethod string
	Provider   string
	// Region is the sign-in region: where the token is refreshed (the
	// SSO-OIDC region of an IAM Identity Center login, any AWS region; the
	// Kiro auth region of a social one); "" = [kiro] region.
	Region string
	// ProfileARN is the Kiro profile the account's API calls name; its
	// region is the API region (the official client's
	// Endpoint::configured_value). Builder ID accounts hold the
	// placeholder kiro.BuilderIDProfileARN.
	ProfileARN string
	// APIRegion is the region of the hosts that serve the account
	// (us-east-1 or eu-central-1): the profile's, or for an account
	// without one where kirobar found it served; "" = [kiro] region.
	APIRegion string
	// ProfileAt is when the profile, API region and style were last
	// resolved; zero = never (resolved at first use).
	ProfileAt time.Time
	StartURL  string

	AccessToken  string
	RefreshToken string
	ExpiresAt    time.Time
	ClientID     string
	ClientSecret string

	SourceKind    string
	SourceFile    string
	SourceKey     string // row key inside a kiro-cli store
	SourceModTime int64  // UnixNano of the linked file when kirobar last read or wrote it

	Enabled       bool
	Status        string
	CooldownUntil time.Time
	LastError     string

	Plan       string
	QuotaUsed  float64
	QuotaLimit float64
	QuotaReset time.Time
	CheckedAt  time.Time
	// OverageEnabled is Kiro's overageConfiguration.overageStatus ENABLED:
	// the account is served past QuotaLimit, billed as overage, until
	// OverageCap; Overages is what it used past the limit.
	OverageEnabled bool
	Overages       float64
	OverageCap     float64

	// Models are the models Kiro offers the account (ListAvailableModels),
	// as JSON; ModelsAt is when they were listed.
	Models   string
	ModelsAt time.Time

	Requests     int64
	Errors       int64
	Credits      float64
	InputTokens  int64
	OutputTokens int64
	LastUsed     time.Time

	MachineID string `gorm:"size:64"`
	Proxy     string
	APIStyle  string

	// Revision grows on every write, by kirobar or the CLI, so a running
	// Manager notices changes it did not make.
	Revision int64

	CreatedAt time.Time
	UpdatedAt time.Time
}

// TableName keeps the table name stable whatever GORM's naming rules do.
func (Account) TableName() string { return "accounts" }

// newMachineID returns a random 64-hex machine id. Kiro sees it in the
// user agent; one stable id per account looks like one IDE install each.
func newMachineID() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("machine id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// newID returns a short random account id that is easy to type in the CLI.
func newID() (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("account id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// Account kinds, for the rules that differ between them (kiro-protocol.md
// §11.1): a social login's profile comes with its token, an IAM Identity
// Center login's from ListAvailableProfiles, and an AWS Builder ID has
// none.
const (
	kindSocial    = "social"
	kindBuilderID = "builder-id"
	kindIdC       = "idc"
)

// kind tells the three apart: Builder ID by its provider or start URL
// (the official client's TokenType, crates/chat-cli/src/auth/builder_id.rs:
// BuilderId when the start URL is the Builder ID one).
func (a *Account) kind() string {
	switch {
	case a.AuthMethod == AuthSocial:
		return kindSocial
	case strings.EqualFold(a.Provider, "BuilderId") || a.StartURL == kiro.BuilderIDStartURL:
		return kindBuilderID
	}
	return kindIdC
}

// pastLimit reports an account that used its monthly allowance.
func (a *Account) pastLimit() bool { return a.QuotaLimit > 0 && a.QuotaUsed >= a.QuotaLimit }

// effective derives the shown status at now.
func effective(a *Account, now time.Time, lead time.Duration) string {
	if !a.Enabled {
		return StatusDisabled
	}
	switch a.Status {
	case StatusSuspended, StatusNeedsLogin:
		return a.Status
	case StatusCooling, StatusExhausted, StatusError:
		if a.CooldownUntil.After(now) {
			return a.Status
		}
	}
	if a.AccessToken == "" || !a.ExpiresAt.After(now.Add(lead)) {
		return StatusExpiring
	}
	if a.OverageEnabled && a.pastLimit() {
		return StatusOverage
	}
	return StatusReady
}

// selectable reports whether a shown status may serve requests.
func selectable(status string) bool { return CanServe(status) }

// CanServe reports whether an account shown with status may serve
// requests: ready, expiring (refreshed on use) or in overage.
func CanServe(status string) bool {
	return status == StatusReady || status == StatusExpiring || status == StatusOverage
}
