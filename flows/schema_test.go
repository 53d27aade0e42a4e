package flows

import (
	"context"
	"os"
	"testing"
	"time"

	"gorm.io/gorm"

	kdb "github.com/kirobar/kirobar/internal/db"
	"github.com/kirobar/kirobar/internal/migrate"
	"github.com/kirobar/kirobar/internal/testkit/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestSchemaCoversModel: the versioned steps make every column Row and
// Usage need, on SQLite and on PostgreSQL, and a row round-trips.
func TestSchemaCoversModel(t *testing.T) {
	lite, _ := openDB(t)
	pg, err := kdb.OpenPostgres(pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kdb.Close(pg) })
	for name, g := range map[string]*gorm.DB{"sqlite": lite, "postgres": pg} {
		t.Run(name, func(t *testing.T) {
			if _, err := migrate.Run(context.Background(), g, "flows", schemaSteps); err != nil {
				t.Fatal(err)
			}
			models := []any{&Row{}, &Usage{}, &pieceRow{}, &pieceData{}, &fileRef{}}
			if name == "postgres" {
				models = append(models, &detailRow{})
			}
			missing, err := migrate.Missing(g, models...)
			if err != nil {
				t.Fatal(err)
			}
			if len(missing) > 0 {
				t.Fatalf("columns without a migration step: %v", missing)
			}
			in := Row{ID: "f1", Time: time.Now().UTC().Truncate(time.Millisecond), Status: "ok",
				Attempts: []AttemptRow{{AccountID: "a", Status: 200, DurationMS: 5}}}
			if err := g.Create(&in).Error; err != nil {
				t.Fatal(err)
			}
			var out Row
			if err := g.Take(&out, "id = ?", "f1").Error; err != nil {
				t.Fatal(err)
			}
			if len(out.Attempts) != 1 || out.Attempts[0].Status != 200 || !out.Time.Equal(in.Time) {
				t.Fatalf("round trip: %+v", out)
			}
		})
	}
}
