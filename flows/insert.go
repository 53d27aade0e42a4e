package flows

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"gorm.io/gorm"

	kdb "github.com/kirobar/kirobar/internal/db"
)

// sqliteMaxVars is SQLite's default limit on bound parameters in one
// statement (SQLITE_MAX_VARIABLE_NUMBER); a multi-row INSERT is cut so
// that rows × columns stays within it.
const sqliteMaxVars = 32766

// flowsPerInsert is how many rows one INSERT carries. The driver
// (glebarez/go-sqlite) binds each parameter by scanning the argument list,
// so a statement's binding costs grow with the square of its parameters:
// at 256 rows of 24 columns binding was a quarter of the writer's CPU and
// the batch took twice as long as at 16 rows (BenchmarkWriter's CPU
// profile: 16 beat 8 and 32), while single-row statements pay parsing
// and a round trip per row.
const flowsPerInsert = 16

// flowColumn is one stored column of Row and how its value is read.
type flowColumn struct {
	name  string
	value func(r *Row) (any, error)
}

// flowColumns lists every column insertFlows writes, in one place, so the
// hand-written INSERT cannot silently leave out a Row field:
// TestFlowColumnsMatchSchema compares it with GORM's schema of Row. Seq is
// left out because SQLite assigns it. Values are the Go values GORM
// passed to the driver, so the stored text (times included) is the same.
var flowColumns = []flowColumn{
	{"id", func(r *Row) (any, error) { return r.ID, nil }},
	{"time", func(r *Row) (any, error) { return r.Time, nil }},
	{"key_name", func(r *Row) (any, error) { return r.KeyName, nil }},
	{"surface", func(r *Row) (any, error) { return r.Surface, nil }},
	{"path", func(r *Row) (any, error) { return r.Path, nil }},
	{"client_model", func(r *Row) (any, error) { return r.ClientModel, nil }},
	{"kiro_model", func(r *Row) (any, error) { return r.KiroModel, nil }},
	{"stream", func(r *Row) (any, error) { return r.Stream, nil }},
	{"account_id", func(r *Row) (any, error) { return r.AccountID, nil }},
	{"attempts", attemptsValue},
	{"status", func(r *Row) (any, error) { return r.Status, nil }},
	{"http_status", func(r *Row) (any, error) { return r.HTTPStatus, nil }},
	{"ttfb_ms", func(r *Row) (any, error) { return r.TTFBMS, nil }},
	{"duration_ms", func(r *Row) (any, error) { return r.DurationMS, nil }},
	{"input_tokens", func(r *Row) (any, error) { return r.InputTokens, nil }},
	{"output_tokens", func(r *Row) (any, error) { return r.OutputTokens, nil }},
	{"credits", func(r *Row) (any, error) { return r.Credits, nil }},
	{"stop_reason", func(r *Row) (any, error) { return r.StopReason, nil }},
	{"error_type", func(r *Row) (any, error) { return r.ErrorType, nil }},
	{"error_message", func(r *Row) (any, error) { return r.ErrorMessage, nil }},
	{"retryable", func(r *Row) (any, error) { return r.Retryable, nil }},
	{"file_path", func(r *Row) (any, error) { return r.FilePath, nil }},
	{"file_offset", func(r *Row) (any, error) { return r.FileOffset, nil }},
	{"details_lost", func(r *Row) (any, error) { return r.DetailsLost, nil }},
	{"instance", func(r *Row) (any, error) { return r.Instance, nil }},
}

// attemptsValue stores Attempts as GORM's `serializer:json` did: the JSON
// text, or NULL for a nil slice, so rows written before and after read
// back the same.
func attemptsValue(r *Row) (any, error) {
	b, err := json.Marshal(r.Attempts)
	if err != nil {
		return nil, fmt.Errorf("encode attempts of flow %s: %w", r.ID, err)
	}
	if string(b) == "null" {
		return nil, nil
	}
	return string(b), nil
}

// usageColumns are the flow_usage columns upsertUsage writes; the first
// four are the unique key, the rest are added to an existing row.
var usageColumns = []string{"day", "account_id", "key_name", "model",
	"requests", "failures", "input_tokens", "output_tokens", "credits"}

// usageConflict adds a batch's totals to the day's row when it exists.
// The stored values are named by table, as PostgreSQL requires.
const usageConflict = " ON CONFLICT (day, account_id, key_name, model) DO UPDATE SET" +
	" requests = flow_usage.requests + excluded.requests, failures = flow_usage.failures + excluded.failures," +
	" input_tokens = flow_usage.input_tokens + excluded.input_tokens," +
	" output_tokens = flow_usage.output_tokens + excluded.output_tokens, credits = flow_usage.credits + excluded.credits"

// flowColumnNames are flowColumns' names in order.
var flowColumnNames = func() []string {
	names := make([]string, len(flowColumns))
	for i, c := range flowColumns {
		names[i] = c.name
	}
	return names
}()

// insertFlows writes rows with one multi-row INSERT per chunk in tx,
// skipping IDs already stored as GORM's ON CONFLICT DO NOTHING did. It
// replaces GORM's CreateInBatches, whose reflection and INSERT … RETURNING
// read back row by row cost a fifth of kirobar's CPU under load. Seq is
// still set on every row, because the dashboard's live feed sends it.
func insertFlows(ctx context.Context, tx *gorm.DB, rows []Row) error {
	d := dialectOf(tx)
	per := min(flowsPerInsert, sqliteMaxVars/len(flowColumns))
	args := make([]any, 0, min(len(rows), per)*len(flowColumns))
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(start+per, len(rows))]
		args = args[:0]
		for i := range chunk {
			for _, c := range flowColumns {
				v, err := c.value(&chunk[i])
				if err != nil {
					return err
				}
				if s, ok := v.(string); ok && d.pg {
					v = kdb.PGText(s)
				}
				args = append(args, v)
			}
		}
		q := d.insertSQL("flows", flowColumnNames, len(chunk)) + " ON CONFLICT (id) DO NOTHING"
		if d.pg {
			if err := insertReturning(ctx, tx, q, args, chunk); err != nil {
				return err
			}
			continue
		}
		res, err := tx.Statement.ConnPool.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("insert %d flows: %w", len(chunk), err)
		}
		if err := setSeqs(ctx, tx, chunk, res); err != nil {
			return err
		}
	}
	return nil
}

// insertReturning is insertFlows' statement on PostgreSQL, which has no
// last insert id: RETURNING hands back the Seq of every row inserted.
func insertReturning(ctx context.Context, tx *gorm.DB, q string, args []any, rows []Row) error {
	res, err := tx.Statement.ConnPool.QueryContext(ctx, q+" RETURNING seq, id", args...)
	if err != nil {
		return fmt.Errorf("insert %d flows: %w", len(rows), err)
	}
	defer res.Close()
	seq := make(map[string]int64, len(rows))
	for res.Next() {
		var s int64
		var id string
		if err := res.Scan(&s, &id); err != nil {
			return fmt.Errorf("read inserted flows' seq: %w", err)
		}
		seq[id] = s
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("insert %d flows: %w", len(rows), err)
	}
	if len(seq) < len(rows) {
		return lookupSeqs(ctx, tx, rows) // some were stored already
	}
	for i := range rows {
		rows[i].Seq = seq[rows[i].ID]
	}
	return nil
}

// setSeqs sets Seq on rows just inserted. SQLite numbers the rows of one
// INSERT consecutively, so when all were inserted the last rowid gives
// them all; when some IDs were already stored it asks for the Seq of each.
func setSeqs(ctx context.Context, tx *gorm.DB, rows []Row, res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("count inserted flows: %w", err)
	}
	if n == int64(len(rows)) {
		last, err := res.LastInsertId()
		if err != nil {
			return fmt.Errorf("read inserted flows' seq: %w", err)
		}
		first := last - n + 1
		for i := range rows {
			rows[i].Seq = first + int64(i)
		}
		return nil
	}
	return lookupSeqs(ctx, tx, rows)
}

// lookupSeqs reads the stored Seq of each row by its ID.
func lookupSeqs(ctx context.Context, tx *gorm.DB, rows []Row) error {
	ids := make([]string, len(rows))
	for i := range rows {
		ids[i] = rows[i].ID
	}
	var got []struct {
		Seq int64
		ID  string
	}
	if err := tx.WithContext(ctx).Table("flows").Select("seq", "id").Where("id IN ?", ids).Find(&got).Error; err != nil {
		return fmt.Errorf("read inserted flows' seq: %w", err)
	}
	seq := make(map[string]int64, len(got))
	for _, g := range got {
		seq[g.ID] = g.Seq
	}
	for i := range rows {
		rows[i].Seq = seq[rows[i].ID]
	}
	return nil
}

// upsertUsage adds us to the daily totals with one statement per chunk
// instead of one GORM upsert per day, account, key and model. Chunks are
// kept small for the same reason as flowsPerInsert.
func upsertUsage(ctx context.Context, tx *gorm.DB, us []Usage) error {
	per := min(2*flowsPerInsert, sqliteMaxVars/len(usageColumns))
	for start := 0; start < len(us); start += per {
		chunk := us[start:min(start+per, len(us))]
		args := make([]any, 0, len(chunk)*len(usageColumns))
		d := dialectOf(tx)
		text := func(s string) string { return s }
		if d.pg {
			text = kdb.PGText
		}
		for _, u := range chunk {
			args = append(args, u.Day, text(u.AccountID), text(u.KeyName), text(u.Model),
				u.Requests, u.Failures, u.InputTokens, u.OutputTokens, u.Credits)
		}
		q := d.insertSQL("flow_usage", usageColumns, len(chunk)) + usageConflict
		if _, err := tx.Statement.ConnPool.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("update flow usage for %d totals: %w", len(chunk), err)
		}
	}
	return nil
}
