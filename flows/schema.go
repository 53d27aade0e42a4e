package flows

import (
	"time"

	"gorm.io/gorm"

	"github.com/kirobar/kirobar/internal/migrate"
)

// schemaSteps are the flow tables' versioned migrations. A step keeps its
// own copy of the tables as they were at that version, so a column added
// to Row or Usage later needs a step of its own (TestSchemaCoversModel
// fails without one).
var schemaSteps = []migrate.Step{
	{Version: 1, Name: "flows and flow_usage tables", Up: func(tx *gorm.DB) error {
		// A kirobar.db made before migrations were versioned has these
		// tables in this shape already; AutoMigrate then adds nothing.
		return tx.AutoMigrate(&rowV1{}, &usageV1{})
	}},
	{Version: 2, Name: "the instance that served each flow", Up: func(tx *gorm.DB) error {
		return tx.AutoMigrate(&rowV2{})
	}},
}

// rowV2 holds the column schema version 2 adds to flows.
type rowV2 struct {
	Seq      int64  `gorm:"primaryKey;autoIncrement"`
	Instance string `gorm:"index"`
}

func (rowV2) TableName() string { return "flows" }

// rowV1 is the flows table of schema version 1.
type rowV1 struct {
	Seq          int64     `gorm:"primaryKey;autoIncrement"`
	ID           string    `gorm:"uniqueIndex;not null"`
	Time         time.Time `gorm:"index;index:idx_flows_stats,priority:1;not null"`
	KeyName      string    `gorm:"index;index:idx_flows_stats,priority:5"`
	Surface      string
	Path         string
	ClientModel  string `gorm:"index;index:idx_flows_stats,priority:7"`
	KiroModel    string `gorm:"index;index:idx_flows_stats,priority:6"`
	Stream       bool
	AccountID    string       `gorm:"index;index:idx_flows_stats,priority:4"`
	Attempts     []AttemptRow `gorm:"serializer:json"`
	Status       string       `gorm:"index;index:idx_flows_stats,priority:3"`
	HTTPStatus   int
	TTFBMS       int64   `gorm:"column:ttfb_ms;index:idx_flows_stats,priority:2"`
	DurationMS   int64   `gorm:"column:duration_ms"`
	InputTokens  int     `gorm:"index:idx_flows_stats,priority:8"`
	OutputTokens int     `gorm:"index:idx_flows_stats,priority:9"`
	Credits      float64 `gorm:"index:idx_flows_stats,priority:10"`
	StopReason   string
	ErrorType    string
	ErrorMessage string
	Retryable    bool
	FilePath     string `gorm:"index"`
	FileOffset   int64
	DetailsLost  string
}

func (rowV1) TableName() string { return "flows" }

// usageV1 is the flow_usage table of schema version 1.
type usageV1 struct {
	ID           int64  `gorm:"primaryKey;autoIncrement"`
	Day          string `gorm:"uniqueIndex:idx_flow_usage_day_account_key_model;not null"`
	AccountID    string `gorm:"uniqueIndex:idx_flow_usage_day_account_key_model;not null"`
	KeyName      string `gorm:"uniqueIndex:idx_flow_usage_day_account_key_model;not null"`
	Model        string `gorm:"uniqueIndex:idx_flow_usage_day_account_key_model;not null"`
	Requests     int64
	Failures     int64
	InputTokens  int64
	OutputTokens int64
	Credits      float64
}

func (usageV1) TableName() string { return "flow_usage" }
