package accounts

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"
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
)

// Auth methods as stored; importers canonicalise the spellings tools use.
const (
	AuthSocial = "social"
	AuthIdC    = "idc"
)

// Source kinds say where an imported account's tokens live, so kirobar can
// keep the account linked to that place.
const (
	SourceNone    = ""
	SourceJSON    = "json"     // an IDE cache file or any JSON token file; written back
	SourceKiroCLI = "kiro-cli" // kiro-cli's SQLite store; read only
	SourceManual  = "manual"   // a pasted refresh token
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
	Region     string
	ProfileARN string
	StartURL   string

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
	return StatusReady
}

// selectable reports whether a shown status may serve requests.
func selectable(status string) bool {
	return status == StatusReady || status == StatusExpiring
}
