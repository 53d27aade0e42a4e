package flows

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	kdb "github.com/kirobar/kirobar/internal/db"
)

// A team's instances share the flow index, and also each flow's details
// line: the instance that served a flow writes the line to its own detail
// file, as a lone kirobar does (its references to pieces and its
// retention work by file), and into flow_details in the same transaction
// as the flow's row. So any instance's dashboard, `kirobar flows show`
// and bundle read any flow, and a flow outlives the home of an instance
// that is gone. The copy goes with the row.

// detailRow is one flow's details line in the shared database.
type detailRow struct {
	ID   string `gorm:"primaryKey"`
	Line []byte `gorm:"not null"`
}

// TableName keeps the table name stable whatever GORM's naming does.
func (detailRow) TableName() string { return "flow_details" }

// createDetailsTable is schema step 4: the table exists on PostgreSQL
// only, where instances share flows.
func createDetailsTable(tx *gorm.DB) error {
	if tx.Dialector.Name() != "postgres" {
		return nil
	}
	return tx.AutoMigrate(&detailRowV4{})
}

// detailRowV4 is flow_details of schema version 4.
type detailRowV4 struct {
	ID   string `gorm:"primaryKey"`
	Line []byte `gorm:"not null"`
}

func (detailRowV4) TableName() string { return "flow_details" }

// sharesDetails reports whether this recorder writes details lines to the
// shared database too.
func (r *Recorder) sharesDetails() bool { return r.instance != "" && dialectOf(r.db).pg }

// insertDetails stores the batch's lines (lines[i] is rows[i]'s, nil when
// it has none), skipping flows already stored, as insertFlows does.
func insertDetails(ctx context.Context, tx *gorm.DB, rows []Row, lines [][]byte) error {
	d := dialectOf(tx)
	const per = 64
	var args []any
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		q := d.insertSQL("flow_details", []string{"id", "line"}, n) + " ON CONFLICT (id) DO NOTHING"
		if _, err := tx.Statement.ConnPool.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("store %d flow details: %w", n, err)
		}
		args, n = args[:0], 0
		return nil
	}
	for i := range rows {
		if i >= len(lines) || lines[i] == nil {
			continue
		}
		args = append(args, kdb.PGText(rows[i].ID), lines[i])
		if n++; n == per {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// dropDetails deletes the shared details of the rows q selects, in the
// transaction that deletes those rows.
func dropDetails(tx *gorm.DB, q *gorm.DB) error {
	if tx.Dialector.Name() != "postgres" || !tx.Migrator().HasTable(&detailRow{}) {
		return nil
	}
	if err := tx.Where("id IN (?)", q.Model(&Row{}).Select("id")).Delete(&detailRow{}).Error; err != nil {
		return fmt.Errorf("delete flow details: %w", err)
	}
	return nil
}

// sharedLine reads a flow's details line from the shared database;
// ErrDetailsElsewhere when it is not there.
func (s *Store) sharedLine(ctx context.Context, row Row) ([]byte, error) {
	var d detailRow
	err := s.db.WithContext(ctx).Where("id = ?", row.ID).Take(&d).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("flow %s: %w (%s)", row.ID, ErrDetailsElsewhere, row.Instance)
	}
	if err != nil {
		return nil, fmt.Errorf("details of flow %s: %w", row.ID, err)
	}
	return d.Line, nil
}
