package flows

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"

	kdb "github.com/kirobar/kirobar/internal/db"
	"github.com/kirobar/kirobar/internal/testkit/pgtest"
)

// schemaColumns returns the columns GORM would write for model, leaving
// out the auto-incremented primary key that SQLite assigns.
func schemaColumns(t *testing.T, model any) []string {
	t.Helper()
	s, err := schema.Parse(model, &sync.Map{}, schema.NamingStrategy{})
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, f := range s.Fields {
		if f.DBName == "" || f.AutoIncrement {
			continue
		}
		cols = append(cols, f.DBName)
	}
	return cols
}

// TestFlowColumnsMatchSchema fails when a Row or Usage field is added,
// removed or renamed without the hand-written INSERTs following.
func TestFlowColumnsMatchSchema(t *testing.T) {
	if got, want := flowColumnNames, schemaColumns(t, &Row{}); !reflect.DeepEqual(got, want) {
		t.Errorf("flowColumns = %v\nGORM's Row columns = %v", got, want)
	}
	if got, want := usageColumns, schemaColumns(t, &Usage{}); !reflect.DeepEqual(got, want) {
		t.Errorf("usageColumns = %v\nGORM's Usage columns = %v", got, want)
	}
}

// gormInsert is the GORM create path insert used before insertFlows; the
// hand-written path must store exactly what it stored.
func gormInsert(db *gorm.DB, rows []Row) error {
	db = db.Session(&gorm.Session{SkipDefaultTransaction: true})
	return db.Transaction(func(tx *gorm.DB) error {
		err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoNothing: true}).
			CreateInBatches(rows, 100).Error
		if err != nil {
			return err
		}
		for _, u := range usageOf(rows) {
			err := tx.Clauses(clause.OnConflict{
				Columns: []clause.Column{{Name: "day"}, {Name: "account_id"}, {Name: "key_name"}, {Name: "model"}},
				DoUpdates: clause.Assignments(map[string]any{
					"requests":      gorm.Expr("flow_usage.requests + ?", u.Requests),
					"failures":      gorm.Expr("flow_usage.failures + ?", u.Failures),
					"input_tokens":  gorm.Expr("flow_usage.input_tokens + ?", u.InputTokens),
					"output_tokens": gorm.Expr("flow_usage.output_tokens + ?", u.OutputTokens),
					"credits":       gorm.Expr("flow_usage.credits + ?", u.Credits),
				}),
			}).Create(&u).Error
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// handInsert runs the new path in a transaction, as Recorder.insert does.
func handInsert(db *gorm.DB, rows []Row) error {
	ctx := context.Background()
	return db.Session(&gorm.Session{SkipDefaultTransaction: true}).Transaction(func(tx *gorm.DB) error {
		if err := insertFlows(ctx, tx, rows); err != nil {
			return err
		}
		return upsertUsage(ctx, tx, usageOf(rows))
	})
}

// varietyRows covers the values whose stored form could differ: times in
// other zones and with nanoseconds, nil, empty and full attempts, both
// bools, text needing quoting, and failed flows.
func varietyRows(prefix string, n int) []Row {
	zones := []*time.Location{time.UTC, time.FixedZone("IST", 5*3600+1800), time.FixedZone("PST", -8*3600), time.Local}
	rows := make([]Row, n)
	for i := range rows {
		at := time.Date(2026, 3, 1+i%3, 23, 59, 58, i*123456789%1e9, zones[i%len(zones)])
		r := Row{
			ID: fmt.Sprintf("%s-%03d", prefix, i), Time: at, KeyName: []string{"", "laptop", "ci"}[i%3],
			Surface: "anthropic", Path: "/v1/messages", ClientModel: "claude-sonnet-4-5",
			KiroModel: []string{"", "claude-sonnet-4.5"}[i%2], Stream: i%2 == 0,
			AccountID: []string{"acct-a", "acct-b"}[i%2], Status: StatusCompleted, HTTPStatus: 200,
			TTFBMS: int64(i * 7), DurationMS: int64(i * 31), InputTokens: i * 10, OutputTokens: i,
			Credits: float64(i) * 0.013, StopReason: "end_turn", FilePath: "flows/2026-03-01.jsonl",
			FileOffset: int64(i) * 1000,
		}
		switch i % 3 {
		case 1:
			r.Attempts = []AttemptRow{}
		case 2:
			r.Attempts = []AttemptRow{
				{AccountID: "acct-a", Status: 429, ErrorClass: "throttled", DurationMS: 12, Error: `quota "exceeded" ☃ <b>`},
				{AccountID: "acct-b", Status: 200, DurationMS: 800},
			}
		}
		if i%5 == 0 {
			r.Status, r.HTTPStatus, r.ErrorType, r.ErrorMessage, r.Retryable = StatusFailed, 502, "upstream", "it's\nbroken\x00 ☃", true
			r.FilePath, r.FileOffset, r.DetailsLost = "", 0, "queue full"
		}
		rows[i] = r
	}
	return rows
}

// rawTable dumps every column of table as SQLite's type and quoted text,
// so a different storage class or time format shows up.
func rawTable(t *testing.T, db *gorm.DB, table, order string) []string {
	t.Helper()
	var cols []string
	if err := db.Raw("SELECT name FROM pragma_table_info(?) ORDER BY cid", table).Scan(&cols).Error; err != nil {
		t.Fatal(err)
	}
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = fmt.Sprintf("'%s=' || typeof(%s) || ':' || quote(%s)", c, c, c)
	}
	var out []string
	q := "SELECT " + strings.Join(parts, " || ' ' || ") + " FROM " + table + " ORDER BY " + order
	if err := db.Raw(q).Scan(&out).Error; err != nil {
		t.Fatal(err)
	}
	return out
}

// TestInsertMatchesGORM writes the same batches through GORM's create
// path and the hand-written one and compares what is stored, byte for
// byte, what Store reads back, the daily usage, and the Seq set on rows.
func TestInsertMatchesGORM(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		oldDB, oldHome := openDB(t)
		newDB, newHome := openDB(t)
		testInsertMatchesGORM(t, oldDB, newDB, oldHome, newHome, true)
	})
	t.Run("postgres", func(t *testing.T) {
		var dbs [2]*gorm.DB
		for i := range dbs {
			gdb, err := kdb.OpenPostgres(pgtest.DB(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = kdb.Close(gdb) })
			dbs[i] = gdb
		}
		testInsertMatchesGORM(t, dbs[0], dbs[1], t.TempDir(), t.TempDir(), false)
	})
}

// testInsertMatchesGORM is TestInsertMatchesGORM on one kind of database;
// raw compares SQLite's stored text too.
func testInsertMatchesGORM(t *testing.T, oldDB, newDB *gorm.DB, oldHome, newHome string, raw bool) {
	ctx := context.Background()
	for _, db := range []*gorm.DB{oldDB, newDB} {
		if err := Migrate(db); err != nil {
			t.Fatal(err)
		}
	}
	// The second batch repeats IDs of the first (kept as they were) and
	// adds to existing usage totals.
	batches := [][]Row{varietyRows("a", 40), append(varietyRows("a", 3), varietyRows("b", 25)...), varietyRows("c", 1)}
	for bi, b := range batches {
		oldRows := append([]Row(nil), b...)
		newRows := append([]Row(nil), b...)
		if !raw {
			// PostgreSQL's text holds no NUL: the hand-written path makes
			// it U+FFFD; give GORM's path the same text.
			for i := range oldRows {
				oldRows[i].ErrorMessage = kdb.PGText(oldRows[i].ErrorMessage)
			}
		}
		if err := gormInsert(oldDB, oldRows); err != nil {
			t.Fatal(err)
		}
		if err := handInsert(newDB, newRows); err != nil {
			t.Fatal(err)
		}
		stored := map[string]int64{}
		for _, r := range allRows(t, newDB) {
			stored[r.ID] = r.Seq
		}
		for i := range newRows {
			if want := stored[newRows[i].ID]; newRows[i].Seq != want || want == 0 {
				t.Errorf("batch %d: row %s Seq = %d, stored %d", bi, newRows[i].ID, newRows[i].Seq, want)
			}
		}
	}
	for _, tc := range []struct{ table, order string }{{"flows", "seq"}, {"flow_usage", "id"}} {
		if !raw {
			break
		}
		got, want := rawTable(t, newDB, tc.table, tc.order), rawTable(t, oldDB, tc.table, tc.order)
		if len(want) == 0 || !reflect.DeepEqual(got, want) {
			t.Errorf("%s stored differently:\n got %q\nwant %q", tc.table, got, want)
		}
	}
	oldStore, newStore := NewStore(oldDB, oldHome), NewStore(newDB, newHome)
	want, err := oldStore.List(ctx, Filter{Limit: -1})
	if err != nil {
		t.Fatal(err)
	}
	got, err := newStore.List(ctx, Filter{Limit: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 66 || len(got) != len(want) {
		t.Fatalf("Store.List: got %d rows, want %d (66)", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("Store.List row %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	wantU, err := oldStore.Usage(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	gotU, err := newStore.Usage(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(wantU) == 0 || !reflect.DeepEqual(gotU, wantU) {
		t.Errorf("Store.Usage = %+v, want %+v", gotU, wantU)
	}
}

// TestInsertChunks stores batches of several statements, the second
// repeating IDs in every chunk, so chunking and each row's Seq are
// exercised with and without conflicts.
func TestInsertChunks(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, _ string) { testInsertChunks(t, db) })
}

func testInsertChunks(t *testing.T, db *gorm.DB) {
	if err := Migrate(db); err != nil {
		t.Fatal(err)
	}
	n := 3*flowsPerInsert + 7
	first := varietyRows("big", n)
	var second []Row
	for i, r := range varietyRows("more", n) {
		if i%10 == 0 {
			r.ID = first[i].ID // already stored: kept as it was
		}
		second = append(second, r)
	}
	for _, rows := range [][]Row{first, second} {
		if err := handInsert(db, rows); err != nil {
			t.Fatal(err)
		}
		stored := map[string]Row{}
		for _, r := range allRows(t, db) {
			stored[r.ID] = r
		}
		for i := range rows {
			s, ok := stored[rows[i].ID]
			if !ok || rows[i].Seq != s.Seq {
				t.Fatalf("row %d (%s): Seq %d, stored %v Seq %d", i, rows[i].ID, rows[i].Seq, ok, s.Seq)
			}
		}
	}
	if got, want := countRows(t, db), int64(2*n-(n+9)/10); got != want {
		t.Errorf("stored %d rows, want %d", got, want)
	}
}
