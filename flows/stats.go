package flows

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// modelExpr is usageModel in SQL: the Kiro model a flow was billed under,
// else the client's name for it.
const modelExpr = "CASE WHEN kiro_model <> '' THEN kiro_model ELSE client_model END"

// Dimensions Store.Stats and Store.Series group flows by, as SQL
// expressions over the flows table.
const (
	dimTotal   = "'all'"
	dimAccount = "account_id"
	dimModel   = modelExpr
	dimKey     = "key_name"
)

// groupsSQL sums flows since a time per value of a dimension (%[1]s), with
// the nearest-rank p50 and p95 of the TTFBs above zero, as acc.group did
// in Go. SQLite reads the period's rows once into a histogram of (value,
// TTFB) and ranks that, so only one row per value reaches Go however many
// flows the period holds: the smallest TTFB whose running count reaches
// the rank ceil(p*n/100) is the value at that rank in sorted order.
//
// The SQL is the same on SQLite and PostgreSQL but for the index hint
// (%[2]s); %[3]s is StatusFailed; the casts keep the rank arithmetic in integers on both.
const groupsSQL = `WITH h AS (
	SELECT %[1]s AS name, ttfb_ms AS t, COUNT(*) AS c, SUM(CASE WHEN status = '%[3]s' THEN 1 ELSE 0 END) AS f,
		SUM(input_tokens) AS i, SUM(output_tokens) AS o, SUM(credits) AS cr
	FROM flows%[2]s WHERE time >= ? GROUP BY 1, 2
), r AS (
	SELECT name, t, c, f, i, o, cr,
		CAST(SUM(CASE WHEN t > 0 THEN c ELSE 0 END) OVER (PARTITION BY name ORDER BY t ROWS UNBOUNDED PRECEDING) AS BIGINT) AS cum,
		CAST(SUM(CASE WHEN t > 0 THEN c ELSE 0 END) OVER (PARTITION BY name) AS BIGINT) AS n
	FROM h
)
SELECT name, SUM(c), SUM(f), SUM(i), SUM(o), COALESCE(SUM(cr), 0.0),
	COALESCE(MIN(CASE WHEN t > 0 AND cum >= (50 * n + 99) / 100 THEN t END), 0),
	COALESCE(MIN(CASE WHEN t > 0 AND cum >= (95 * n + 99) / 100 THEN t END), 0)
FROM r GROUP BY name`

// groups returns the summary of flows since since per value of dim, in no
// particular order.
func (s *Store) groups(ctx context.Context, dim string, since time.Time) ([]Group, error) {
	rows, err := s.db.WithContext(ctx).Raw(fmt.Sprintf(groupsSQL, dim, dialectOf(s.db).statsIndex(), StatusFailed), since.UTC()).Rows()
	if err != nil {
		return nil, fmt.Errorf("sum flows by %s: %w", dim, err)
	}
	defer rows.Close()
	var out []Group
	for rows.Next() {
		var g Group
		if err := rows.Scan(&g.Name, &g.Requests, &g.Failures, &g.InputTokens, &g.OutputTokens, &g.Credits, &g.TTFBP50MS, &g.TTFBP95MS); err != nil {
			return nil, fmt.Errorf("sum flows by %s: %w", dim, err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sum flows by %s: %w", dim, err)
	}
	return out, nil
}

// Total sums every flow recorded since since: Stats(since).Total without
// the per-account, per-model and per-key work, for the overview.
func (s *Store) Total(ctx context.Context, since time.Time) (Group, error) {
	gs, err := s.groups(ctx, dimTotal, since)
	if err != nil {
		return Group{}, err
	}
	if len(gs) == 0 {
		return Group{Name: "all"}, nil
	}
	return gs[0], nil
}

// Series is flows counted per time bucket, for charts: bucket i holds the
// flows from Start+i*Step up to the next bucket.
type Series struct {
	Start time.Time
	Step  time.Duration
	// Buckets sums each bucket; Name is empty.
	Buckets []Group
	// Accounts, Models and Keys count each bucket's requests per account,
	// model and client key.
	Accounts, Models, Keys map[string][]int64
}

// bucketExpr is the bucket index of a flow: whole seconds since the start
// (%[1]s: the dialect's unix seconds of time; SQLite's unixepoch reads the
// stored RFC 3339 text with its fraction and zone), divided by the step.
const bucketExpr = "(%[1]s - %[2]d) / %[3]d"

// Series buckets flows from start until n steps of step have passed. start
// and step must be whole seconds so that integer division of the unix time
// matches time.Duration division.
func (s *Store) Series(ctx context.Context, start time.Time, step time.Duration, n int) (Series, error) {
	if step < time.Second || step%time.Second != 0 || start.Nanosecond() != 0 {
		return Series{}, fmt.Errorf("flow series: start %v and step %v must be whole seconds", start, step)
	}
	bucket := fmt.Sprintf(bucketExpr, dialectOf(s.db).unixSeconds("time"), start.Unix(), int64(step/time.Second))
	out := Series{Start: start.UTC(), Step: step, Buckets: make([]Group, n)}
	gs, err := s.groups(ctx, bucket, start)
	if err != nil {
		return Series{}, err
	}
	for _, g := range gs {
		i, err := strconv.Atoi(g.Name)
		if err != nil {
			return Series{}, fmt.Errorf("flow series: bucket %q: %w", g.Name, err)
		}
		if i < 0 || i >= n {
			continue // recorded after the last bucket
		}
		g.Name = ""
		out.Buckets[i] = g
	}
	if err := s.counts(ctx, bucket, start, &out); err != nil {
		return Series{}, err
	}
	return out, nil
}

// counts fills out's per-account, per-model and per-key requests of each
// bucket from one grouping of the period, so SQLite sorts it once.
func (s *Store) counts(ctx context.Context, bucket string, start time.Time, out *Series) error {
	q := fmt.Sprintf("SELECT %s AS b, %s, %s, %s, COUNT(*) FROM flows%s "+
		"WHERE time >= ? GROUP BY 1, 2, 3, 4", bucket, dimAccount, dimModel, dimKey, dialectOf(s.db).statsIndex())
	rows, err := s.db.WithContext(ctx).Raw(q, start.UTC()).Rows()
	if err != nil {
		return fmt.Errorf("count flows per bucket: %w", err)
	}
	defer rows.Close()
	n := len(out.Buckets)
	out.Accounts, out.Models, out.Keys = map[string][]int64{}, map[string][]int64{}, map[string][]int64{}
	add := func(m map[string][]int64, name string, i int, c int64) {
		s, ok := m[name]
		if !ok {
			s = make([]int64, n)
			m[name] = s
		}
		s[i] += c
	}
	for rows.Next() {
		var (
			i                   int
			account, model, key string
			c                   int64
		)
		if err := rows.Scan(&i, &account, &model, &key, &c); err != nil {
			return fmt.Errorf("count flows per bucket: %w", err)
		}
		if i < 0 || i >= n {
			continue // recorded after the last bucket
		}
		add(out.Accounts, account, i, c)
		add(out.Models, model, i, c)
		add(out.Keys, key, i, c)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("count flows per bucket: %w", err)
	}
	return nil
}
