package migrate_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/kirobar/kirobar/internal/db"
	"github.com/kirobar/kirobar/internal/migrate"
	"github.com/kirobar/kirobar/internal/testkit/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// backend opens one more connection pool on a database, as another
// kirobar process would.
type backend struct {
	name string
	open func(t *testing.T) func() *gorm.DB
}

var backends = []backend{
	{"sqlite", func(t *testing.T) func() *gorm.DB {
		path := filepath.Join(t.TempDir(), "kirobar.db")
		return func() *gorm.DB { return mustOpen(t, func() (*gorm.DB, error) { return db.Open(path) }) }
	}},
	{"postgres", func(t *testing.T) func() *gorm.DB {
		url := pgtest.DB(t)
		return func() *gorm.DB { return mustOpen(t, func() (*gorm.DB, error) { return db.OpenPostgres(url) }) }
	}},
}

func mustOpen(t *testing.T, open func() (*gorm.DB, error)) *gorm.DB {
	t.Helper()
	gdb, err := open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(gdb) })
	return gdb
}

// steps creates a table without IF NOT EXISTS and counts its runs, so a
// step that ran twice fails or shows a count of two.
func steps() []migrate.Step {
	return []migrate.Step{
		{Version: 1, Name: "widgets", Up: func(tx *gorm.DB) error {
			if err := tx.Exec("CREATE TABLE widgets (id INTEGER PRIMARY KEY, name TEXT)").Error; err != nil {
				return err
			}
			return tx.Exec("CREATE TABLE runs (step INTEGER)").Error
		}},
		{Version: 2, Name: "widget colour", Up: func(tx *gorm.DB) error {
			if err := tx.Exec("ALTER TABLE widgets ADD COLUMN colour TEXT").Error; err != nil {
				return err
			}
			return tx.Exec("INSERT INTO runs (step) VALUES (2)").Error
		}},
	}
}

func count(t *testing.T, gdb *gorm.DB, sql string) int64 {
	t.Helper()
	var n int64
	if err := gdb.Raw(sql).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRunOnce(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			open := b.open(t)
			gdb := open()
			ctx := context.Background()
			got, err := migrate.Run(ctx, gdb, "widgets", steps()[:1])
			if err != nil || len(got) != 1 {
				t.Fatalf("first run: %v %v", got, err)
			}
			got, err = migrate.Run(ctx, gdb, "widgets", steps())
			if err != nil || len(got) != 1 || !strings.Contains(got[0], "widgets/2") {
				t.Fatalf("second run applied %v, %v; want step 2 only", got, err)
			}
			got, err = migrate.Run(ctx, open(), "widgets", steps())
			if err != nil || len(got) != 0 {
				t.Fatalf("third run applied %v, %v; want nothing", got, err)
			}
			if n := count(t, gdb, "SELECT count(*) FROM runs"); n != 1 {
				t.Fatalf("step 2 ran %d times", n)
			}
			// Another component's steps are counted apart.
			other := []migrate.Step{{Version: 1, Name: "gadgets", Up: func(tx *gorm.DB) error {
				return tx.Exec("CREATE TABLE gadgets (id INTEGER)").Error
			}}}
			if got, err := migrate.Run(ctx, gdb, "gadgets", other); err != nil || len(got) != 1 {
				t.Fatalf("other component: %v %v", got, err)
			}
		})
	}
}

// TestConcurrentStarts: instances starting together against one database
// apply each step exactly once; the others find it done.
func TestConcurrentStarts(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			open := b.open(t)
			const n = 6
			dbs := make([]*gorm.DB, n)
			for i := range dbs {
				dbs[i] = open()
			}
			var wg sync.WaitGroup
			applied := make([][]string, n)
			errs := make([]error, n)
			for i := range n {
				wg.Go(func() { applied[i], errs[i] = migrate.Run(context.Background(), dbs[i], "widgets", steps()) })
			}
			wg.Wait()
			total := 0
			for i := range n {
				if errs[i] != nil {
					t.Errorf("instance %d: %v", i, errs[i])
				}
				total += len(applied[i])
			}
			if total != 2 {
				t.Errorf("steps applied %d times in all, want 2: %v", total, applied)
			}
			if got := count(t, dbs[0], "SELECT count(*) FROM runs"); got != 1 {
				t.Errorf("step 2 ran %d times", got)
			}
		})
	}
}

// TestFailedStepLeavesNothing: a failing step rolls back the steps before
// it in the same run, and a later run applies them all.
func TestFailedStepLeavesNothing(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			gdb := b.open(t)()
			boom := errors.New("boom")
			bad := append(steps(), migrate.Step{Version: 3, Name: "fails", Up: func(*gorm.DB) error { return boom }})
			if _, err := migrate.Run(context.Background(), gdb, "widgets", bad); !errors.Is(err, boom) {
				t.Fatalf("err = %v, want boom", err)
			}
			if gdb.Migrator().HasTable("widgets") {
				t.Fatal("the failed run left the widgets table")
			}
			// PostgreSQL creates the table in the transaction that rolled back.
			if gdb.Migrator().HasTable(migrate.Table) {
				if n := count(t, gdb, "SELECT count(*) FROM "+migrate.Table); n != 0 {
					t.Fatalf("%d steps recorded after a failed run", n)
				}
			}
			if got, err := migrate.Run(context.Background(), gdb, "widgets", steps()); err != nil || len(got) != 2 {
				t.Fatalf("retry: %v %v", got, err)
			}
		})
	}
}

func TestStepListChecked(t *testing.T) {
	up := func(*gorm.DB) error { return nil }
	for _, tc := range []struct {
		name  string
		steps []migrate.Step
	}{
		{"starts at 2", []migrate.Step{{Version: 2, Name: "x", Up: up}}},
		{"gap", []migrate.Step{{Version: 1, Name: "x", Up: up}, {Version: 3, Name: "y", Up: up}}},
		{"no name", []migrate.Step{{Version: 1, Up: up}}},
		{"no code", []migrate.Step{{Version: 1, Name: "x"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gdb := backends[0].open(t)()
			if _, err := migrate.Run(context.Background(), gdb, "c", tc.steps); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

type widget struct {
	ID     int64
	Name   string
	Colour string
	Size   int
}

func (widget) TableName() string { return "widgets" }

// TestMissing names the columns a model needs that the steps never made.
func TestMissing(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			gdb := b.open(t)()
			if _, err := migrate.Run(context.Background(), gdb, "widgets", steps()); err != nil {
				t.Fatal(err)
			}
			got, err := migrate.Missing(gdb, &widget{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0] != "widgets.size" {
				t.Fatalf("missing = %v, want [widgets.size]", got)
			}
		})
	}
}
