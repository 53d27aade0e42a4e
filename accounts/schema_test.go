package accounts

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/kirobar/kirobar/internal/db"
	"github.com/kirobar/kirobar/internal/migrate"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
	"github.com/kirobar/kirobar/internal/testkit/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// openBoth opens a fresh SQLite file and a fresh PostgreSQL database.
func openBoth(t *testing.T) map[string]*gorm.DB {
	t.Helper()
	lite, err := db.Open(filepath.Join(t.TempDir(), "kirobar.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(lite) })
	pg, err := db.OpenPostgres(pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(pg) })
	return map[string]*gorm.DB{"sqlite": lite, "postgres": pg}
}

// TestSchemaCoversModel: the versioned steps make every column Account
// needs, on both databases. A field added to Account without a step
// fails here instead of on the users' existing databases.
func TestSchemaCoversModel(t *testing.T) {
	for name, gdb := range openBoth(t) {
		t.Run(name, func(t *testing.T) {
			if _, err := migrate.Run(context.Background(), gdb, "accounts", schemaSteps); err != nil {
				t.Fatal(err)
			}
			models := []any{&Account{}}
			if name == "postgres" {
				models = append(models, &sessionBinding{})
			}
			missing, err := migrate.Missing(gdb, models...)
			if err != nil {
				t.Fatal(err)
			}
			if len(missing) > 0 {
				t.Fatalf("columns without a migration step: %v", missing)
			}
			// A row round-trips through the migrated table.
			in := Account{ID: "a1", Label: "x", Enabled: true, ExpiresAt: time.Now().UTC().Truncate(time.Millisecond), QuotaUsed: 1.5}
			if err := gdb.Create(&in).Error; err != nil {
				t.Fatal(err)
			}
			var out Account
			if err := gdb.Take(&out, "id = ?", "a1").Error; err != nil {
				t.Fatal(err)
			}
			if !out.ExpiresAt.Equal(in.ExpiresAt) || out.QuotaUsed != 1.5 || !out.Enabled {
				t.Fatalf("round trip: %+v", out)
			}
		})
	}
}

// TestExistingDatabaseKeepsAccounts: a kirobar.db written before schema
// migrations were versioned (the table made by AutoMigrate of the model)
// opens with its accounts intact and records version 1.
func TestExistingDatabaseKeepsAccounts(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, false)
	gdb, err := db.Open(e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := gdb.AutoMigrate(&Account{}); err != nil {
		t.Fatal(err)
	}
	if err := gdb.Create(&Account{ID: "old1", Label: "old", Enabled: true, RefreshToken: "r", Status: StatusReady}).Error; err != nil {
		t.Fatal(err)
	}
	_ = db.Close(gdb)
	m := e.manager(testConfig(), 0)
	if _, total := m.Ready(); total != 1 {
		t.Fatalf("accounts after migration: %d, want 1", total)
	}
	var versions []int
	gdb2, err := db.Open(e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(gdb2)
	if err := gdb2.Table(migrate.Table).Where("component = ?", "accounts").Pluck("version", &versions).Error; err != nil {
		t.Fatal(err)
	}
	if len(versions) != len(schemaSteps) {
		t.Fatalf("recorded versions %v, want %d", versions, len(schemaSteps))
	}
}
