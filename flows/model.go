package flows

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/kirobar/kirobar/internal/migrate"
)

// Row is the index entry of one flow in kirobar.db. It carries what people
// filter and aggregate on; FilePath (relative to the kirobar home, with
// forward slashes) and FileOffset locate the flow's details line. An empty
// FilePath means the flow has no details: they were dropped because the
// queue was full, could not be written, or were lost in a crash.
//
// idx_flows_stats covers every column Store.Stats and Store.Series read,
// time first, so the dashboard's sums over a busy day scan that index
// alone instead of every wide row with its attempts and errors.
type Row struct {
	Seq          int64        `gorm:"primaryKey;autoIncrement" json:"-"`
	ID           string       `gorm:"uniqueIndex;not null" json:"id"`
	Time         time.Time    `gorm:"index;index:idx_flows_stats,priority:1;not null" json:"time"`
	KeyName      string       `gorm:"index;index:idx_flows_stats,priority:5" json:"key_name,omitempty"`
	Surface      string       `json:"surface,omitempty"`
	Path         string       `json:"path,omitempty"`
	ClientModel  string       `gorm:"index;index:idx_flows_stats,priority:7" json:"client_model,omitempty"`
	KiroModel    string       `gorm:"index;index:idx_flows_stats,priority:6" json:"kiro_model,omitempty"`
	Stream       bool         `json:"stream"`
	AccountID    string       `gorm:"index;index:idx_flows_stats,priority:4" json:"account_id,omitempty"`
	Attempts     []AttemptRow `gorm:"serializer:json" json:"attempts,omitempty"`
	Status       string       `gorm:"index;index:idx_flows_stats,priority:3" json:"status"`
	HTTPStatus   int          `json:"http_status"`
	TTFBMS       int64        `gorm:"column:ttfb_ms;index:idx_flows_stats,priority:2" json:"ttfb_ms"`
	DurationMS   int64        `gorm:"column:duration_ms" json:"duration_ms"`
	InputTokens  int          `gorm:"index:idx_flows_stats,priority:8" json:"input_tokens"`
	OutputTokens int          `gorm:"index:idx_flows_stats,priority:9" json:"output_tokens"`
	Credits      float64      `gorm:"index:idx_flows_stats,priority:10" json:"credits"`
	StopReason   string       `json:"stop_reason,omitempty"`
	ErrorType    string       `json:"error_type,omitempty"`
	ErrorMessage string       `json:"error_message,omitempty"`
	Retryable    bool         `json:"retryable"`
	FilePath     string       `gorm:"index" json:"file_path,omitempty"`
	FileOffset   int64        `json:"file_offset"`
	// DetailsLost says why a flow has no details line ("queue full",
	// "write failed", "crash"), empty when it has one.
	DetailsLost string `json:"details_lost,omitempty"`
	// Instance names the kirobar that served the flow, in a team sharing
	// one store; empty for a kirobar with its own kirobar.db.
	Instance string `gorm:"index" json:"instance,omitempty"`
}

// TableName keeps the table name stable whatever GORM's naming does.
func (Row) TableName() string { return "flows" }

// AttemptRow is one upstream attempt as stored in the index.
type AttemptRow struct {
	AccountID  string `json:"account_id,omitempty"`
	Status     int    `json:"status"`
	ErrorClass string `json:"error_class,omitempty"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error,omitempty"`
}

// Usage is a daily total per account, client key and model. It is updated
// with every batch of flows and not touched by retention, so usage history
// outlives the flows it was counted from.
type Usage struct {
	ID           int64   `gorm:"primaryKey;autoIncrement" json:"-"`
	Day          string  `gorm:"uniqueIndex:idx_flow_usage_day_account_key_model;not null" json:"day"`
	AccountID    string  `gorm:"uniqueIndex:idx_flow_usage_day_account_key_model;not null" json:"account_id"`
	KeyName      string  `gorm:"uniqueIndex:idx_flow_usage_day_account_key_model;not null" json:"key_name"`
	Model        string  `gorm:"uniqueIndex:idx_flow_usage_day_account_key_model;not null" json:"model"`
	Requests     int64   `json:"requests"`
	Failures     int64   `json:"failures"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	Credits      float64 `json:"credits"`
}

// TableName keeps the table name stable whatever GORM's naming does.
func (Usage) TableName() string { return "flow_usage" }

// Migrate brings the flow tables to the current schema version (see
// schemaSteps); instances starting together apply each step once.
func Migrate(db *gorm.DB) error {
	if _, err := migrate.Run(context.Background(), db, "flows", schemaSteps); err != nil {
		return fmt.Errorf("migrate flow tables: %w", err)
	}
	return nil
}

// usageModel is the model a flow's usage is counted under: the Kiro model
// that was billed, or the client's name for it when none was chosen.
func usageModel(r *Row) string {
	if r.KiroModel != "" {
		return r.KiroModel
	}
	return r.ClientModel
}
