package flows

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"gorm.io/gorm"
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
const usageConflict = " ON CONFLICT (day, account_id, key_name, model) DO UPDATE SET" +
	" requests = requests + excluded.requests, failures = failures + excluded.failures," +
	" input_tokens = input_tokens + excluded.input_tokens," +
	" output_tokens = output_tokens + excluded.output_tokens, credits = credits + excluded.credits"

// insertSQL builds "INSERT INTO table (cols) VALUES (?,…),…" for n rows.
func insertSQL(table string, cols []string, n int) string {
	var b strings.Builder
	b.Grow(32 + 16*len(cols) + n*(2*len(cols)+2))
	b.WriteString("INSERT INTO ")
	b.WriteString(table)
	b.WriteString(" (")
	b.WriteString(strings.Join(cols, ", "))
	b.WriteString(") VALUES ")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for j := range cols {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('?')
		}
		b.WriteByte(')')
	}
	return b.String()
}

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
				args = append(args, v)
			}
		}
		q := insertSQL("flows", flowColumnNames, len(chunk)) + " ON CONFLICT (id) DO NOTHING"
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
		for _, u := range chunk {
			args = append(args, u.Day, u.AccountID, u.KeyName, u.Model,
				u.Requests, u.Failures, u.InputTokens, u.OutputTokens, u.Credits)
		}
		q := insertSQL("flow_usage", usageColumns, len(chunk)) + usageConflict
		if _, err := tx.Statement.ConnPool.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("update flow usage for %d totals: %w", len(chunk), err)
		}
	}
	return nil
}
