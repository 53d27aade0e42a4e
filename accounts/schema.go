package accounts

import (
	"time"

	"gorm.io/gorm"

	"github.com/kirobar/kirobar/internal/migrate"
)

// schemaSteps are the accounts table's versioned migrations. A step keeps
// its own copy of the table as it was at that version, so a column added
// to Account later needs a step of its own (TestSchemaCoversModel fails
// without one) and every database that recorded a step has its shape.
var schemaSteps = []migrate.Step{
	{Version: 1, Name: "accounts table", Up: func(tx *gorm.DB) error {
		// On a kirobar.db made before migrations were versioned the table
		// exists already in this shape; AutoMigrate then adds nothing.
		return tx.AutoMigrate(&accountV1{})
	}},
	{Version: 2, Name: "notify other instances of account changes", Up: installNotifyTrigger},
	{Version: 3, Name: "profiles, API regions, overage and models", Up: func(tx *gorm.DB) error {
		return tx.AutoMigrate(&accountV3{})
	}},
	{Version: 4, Name: "conversations' accounts shared by a team", Up: createSessionBindings},
}

// accountV1 is the accounts table of schema version 1.
type accountV1 struct {
	ID            string `gorm:"primaryKey;size:16"`
	Label         string
	LabelAuto     bool
	Email         string
	UserID        string
	AuthMethod    string
	Provider      string
	Region        string
	ProfileARN    string
	StartURL      string
	AccessToken   string
	RefreshToken  string
	ExpiresAt     time.Time
	ClientID      string
	ClientSecret  string
	SourceKind    string
	SourceFile    string
	SourceKey     string
	SourceModTime int64
	Enabled       bool
	Status        string
	CooldownUntil time.Time
	LastError     string
	Plan          string
	QuotaUsed     float64
	QuotaLimit    float64
	QuotaReset    time.Time
	CheckedAt     time.Time
	Requests      int64
	Errors        int64
	Credits       float64
	InputTokens   int64
	OutputTokens  int64
	LastUsed      time.Time
	MachineID     string `gorm:"size:64"`
	Proxy         string
	APIStyle      string
	Revision      int64
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

func (accountV1) TableName() string { return "accounts" }

// accountV3 holds the columns schema version 3 adds to accounts; the
// table keeps its other columns.
type accountV3 struct {
	ID             string `gorm:"primaryKey;size:16"`
	APIRegion      string
	ProfileAt      time.Time
	OverageEnabled bool
	Overages       float64
	OverageCap     float64
	Models         string
	ModelsAt       time.Time
}

func (accountV3) TableName() string { return "accounts" }
