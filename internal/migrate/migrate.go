// Package migrate applies kirobar's versioned schema migrations.
//
// Each package that owns tables (accounts, flows, the instance registry)
// lists its migrations as numbered steps. Run applies the steps a database
// has not recorded yet, in order, inside one transaction, and records each
// in schema_migrations. On PostgreSQL, where a team's instances may start
// together against one database, the transaction first takes an advisory
// lock, so each step runs exactly once and the others wait and then find
// it done; PostgreSQL's DDL is transactional, so a failed step leaves
// nothing half-applied. On SQLite the transaction takes the database's
// write lock first, so the CLI and a starting kirobar queue the same way.
//
// Steps describe each table as it was at their version (a struct frozen
// in the step, not the live model), so a database that recorded a step
// is known to have exactly that shape; Missing lets a test prove that the
// steps produce every column the live models need.
package migrate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
)

// Table records the applied steps.
const Table = "schema_migrations"

// lockKey is the PostgreSQL advisory lock every kirobar takes to migrate
// ("kirobar" and 1 in its bytes), so it cannot collide with the per-account
// locks, which hash account ids into a different key space.
const lockKey int64 = 0x6b69726f62617201

// Step is one versioned change to a package's tables.
type Step struct {
	// Version numbers a package's steps 1, 2, 3, … in order.
	Version int
	// Name says what the step does; it is recorded beside the version.
	Name string
	// Up applies the step inside the migration transaction.
	Up func(tx *gorm.DB) error
}

// Run applies component's steps that the database has not recorded and
// returns the names of those it applied.
func Run(ctx context.Context, gdb *gorm.DB, component string, steps []Step) ([]string, error) {
	if err := check(component, steps); err != nil {
		return nil, err
	}
	pg := gdb.Dialector.Name() == "postgres"
	if !pg {
		// SQLite creates the table outside the transaction: IF NOT EXISTS
		// makes a second process's attempt harmless.
		if err := gdb.WithContext(ctx).Exec(createTable(pg)).Error; err != nil {
			return nil, fmt.Errorf("migrate %s: create %s: %w", component, Table, err)
		}
	}
	var applied []string
	err := gdb.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		applied = applied[:0]
		if pg {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", lockKey).Error; err != nil {
				return fmt.Errorf("take the migration lock: %w", err)
			}
			if err := tx.Exec(createTable(pg)).Error; err != nil {
				return fmt.Errorf("create %s: %w", Table, err)
			}
		} else if err := tx.Exec("DELETE FROM " + Table + " WHERE component = ''").Error; err != nil {
			// A write as the first statement takes SQLite's write lock
			// (waiting out the busy timeout) before anything is read.
			return fmt.Errorf("lock %s: %w", Table, err)
		}
		var done []int
		if err := tx.Table(Table).Where("component = ?", component).Pluck("version", &done).Error; err != nil {
			return fmt.Errorf("read %s: %w", Table, err)
		}
		for _, s := range steps {
			if slices.Contains(done, s.Version) {
				continue
			}
			if err := s.Up(tx); err != nil {
				return fmt.Errorf("step %d (%s): %w", s.Version, s.Name, err)
			}
			rec := map[string]any{"component": component, "version": s.Version, "name": s.Name, "applied_at": time.Now().UTC()}
			if err := tx.Table(Table).Create(rec).Error; err != nil {
				return fmt.Errorf("record step %d: %w", s.Version, err)
			}
			applied = append(applied, fmt.Sprintf("%s/%d %s", component, s.Version, s.Name))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("migrate %s: %w", component, err)
	}
	return applied, nil
}

func createTable(pg bool) string {
	ts := "DATETIME"
	if pg {
		ts = "TIMESTAMPTZ"
	}
	return "CREATE TABLE IF NOT EXISTS " + Table + ` (
	component VARCHAR(64) NOT NULL,
	version INTEGER NOT NULL,
	name TEXT NOT NULL,
	applied_at ` + ts + ` NOT NULL,
	PRIMARY KEY (component, version))`
}

// check rejects a step list that could not have a stable meaning: versions
// must count up from 1 without gaps, and every step needs a name and code.
func check(component string, steps []Step) error {
	if component == "" {
		return errors.New("migrate: empty component")
	}
	for i, s := range steps {
		if s.Version != i+1 {
			return fmt.Errorf("migrate %s: step %d has version %d; versions count 1, 2, 3, …", component, i, s.Version)
		}
		if s.Name == "" || s.Up == nil {
			return fmt.Errorf("migrate %s: step %d needs a name and an Up function", component, s.Version)
		}
	}
	return nil
}

// Missing lists the "table.column" pairs the models need that the
// database lacks (a table that does not exist lacks all its columns).
func Missing(gdb *gorm.DB, models ...any) ([]string, error) {
	var out []string
	m := gdb.Migrator()
	for _, model := range models {
		stmt := &gorm.Statement{DB: gdb}
		if err := stmt.Parse(model); err != nil {
			return nil, fmt.Errorf("parse model %T: %w", model, err)
		}
		for _, f := range stmt.Schema.Fields {
			if f.DBName == "" || f.IgnoreMigration {
				continue
			}
			if !m.HasColumn(model, f.DBName) {
				out = append(out, stmt.Schema.Table+"."+f.DBName)
			}
		}
	}
	return out, nil
}
