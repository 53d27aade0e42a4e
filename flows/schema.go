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
	{Version: 3, Name: "request bodies stored by content", Up: createPieceTables},
	{Version: 4, Name: "details lines a team shares", Up: createDetailsTable},
}

// withoutRowID creates, on SQLite, the piece tables whose rows are small
// and keyed by a hash as WITHOUT ROWID tables: a rowid table keeps each
// 32-byte key twice (the row and its unique index), a tenth of what the
// pieces take. AutoMigrate then finds them and leaves them be.
var withoutRowID = []string{
	"CREATE TABLE IF NOT EXISTS `flow_pieces` (`hash` blob NOT NULL, `refs` integer NOT NULL, `size` integer NOT NULL," +
		" `raw_size` integer NOT NULL, `codec` integer NOT NULL, PRIMARY KEY (`hash`)) WITHOUT ROWID",
	"CREATE TABLE IF NOT EXISTS `flow_file_pieces` (`file` text NOT NULL, `hash` blob NOT NULL, PRIMARY KEY (`file`, `hash`)) WITHOUT ROWID",
}

// createPieceTables is schema step 3: the piece store (pieces.go).
func createPieceTables(tx *gorm.DB) error {
	if tx.Dialector.Name() == "sqlite" {
		for _, q := range withoutRowID {
			if err := tx.Exec(q).Error; err != nil {
				return err
			}
		}
	}
	return tx.AutoMigrate(&pieceRowV3{}, &pieceDataV3{}, &fileRefV3{})
}

// pieceRowV3, pieceDataV3 and fileRefV3 are the piece tables of schema
// version 3.
type pieceRowV3 struct {
	Hash    []byte `gorm:"primaryKey"`
	Refs    int64  `gorm:"not null"`
	Size    int64  `gorm:"not null"`
	RawSize int64  `gorm:"not null"`
	Codec   int    `gorm:"not null"`
}

func (pieceRowV3) TableName() string { return "flow_pieces" }

type pieceDataV3 struct {
	Hash []byte `gorm:"primaryKey"`
	Data []byte `gorm:"not null"`
}

func (pieceDataV3) TableName() string { return "flow_piece_data" }

type fileRefV3 struct {
	File string `gorm:"primaryKey"`
	Hash []byte `gorm:"primaryKey"`
}

func (fileRefV3) TableName() string { return "flow_file_pieces" }

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
