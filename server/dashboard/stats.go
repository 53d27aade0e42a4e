package dashboard

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/kirobar/kirobar/flows"
)

// maxSeriesGroups bounds the per-account, per-model and per-key series a
// chart draws; the rest is summed into "other".
const maxSeriesGroups = 6

// spans are the periods the stats page offers, with the bucket width each
// is drawn with (30 to 48 buckets).
var spans = map[string]struct{ span, step time.Duration }{
	"1h":  {time.Hour, 2 * time.Minute},
	"24h": {24 * time.Hour, 30 * time.Minute},
	"7d":  {7 * 24 * time.Hour, 4 * time.Hour},
	"30d": {30 * 24 * time.Hour, 24 * time.Hour},
}

// bucket is one step of the time series.
type bucket struct {
	Start     time.Time `json:"t"`
	Requests  int64     `json:"requests"`
	Failures  int64     `json:"failures"`
	TTFBP50MS int64     `json:"ttfb_p50_ms"`
	TTFBP95MS int64     `json:"ttfb_p95_ms"`
	ttfbs     []int64
}

// series is the request count of one account, model or client key per
// bucket.
type series struct {
	Name     string  `json:"name"`
	Requests []int64 `json:"requests"`
	Total    int64   `json:"total"`
}

// statsPage is GET /api/stats?span=24h: flows.Stats (the numbers `kirobar
// flows stats` prints) plus time series for the charts.
type statsPage struct {
	Span     string      `json:"span"`
	StepSecs int64       `json:"step_s"`
	Stats    flows.Stats `json:"stats"`
	Buckets  []bucket    `json:"buckets"`
	Accounts []series    `json:"accounts"`
	Models   []series    `json:"models"`
	Keys     []series    `json:"keys"`
}

// seriesRow is the part of an index row the charts and sums need.
type seriesRow struct {
	Time         time.Time
	Status       string
	TTFBMS       int64
	AccountID    string
	KeyName      string
	ClientModel  string
	KiroModel    string
	InputTokens  int64
	OutputTokens int64
	Credits      float64
}

// model is the name a flow counts under: the Kiro model, else the
// client's, as flows.Stats counts it.
func (r *seriesRow) model() string {
	if r.KiroModel != "" {
		return r.KiroModel
	}
	return r.ClientModel
}

// scanFlows reads the index rows since start with database/sql's Scan
// rather than GORM's reflection: a day can hold 100,000 flows, and this
// keeps the stats page well under a second for them.
func (h *Handler) scanFlows(ctx context.Context, start time.Time) ([]seriesRow, error) {
	rows, err := h.deps.DB.WithContext(ctx).Model(&flows.Row{}).
		Select("time, status, ttfb_ms, account_id, key_name, client_model, kiro_model, input_tokens, output_tokens, credits").
		Where("time >= ?", start.UTC()).Rows()
	if err != nil {
		return nil, fmt.Errorf("read flows: %w", err)
	}
	defer rows.Close()
	var out []seriesRow
	for rows.Next() {
		var r seriesRow
		if err := rows.Scan(&r.Time, &r.Status, &r.TTFBMS, &r.AccountID, &r.KeyName, &r.ClientModel, &r.KiroModel, &r.InputTokens, &r.OutputTokens, &r.Credits); err != nil {
			return nil, fmt.Errorf("read flows: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read flows: %w", err)
	}
	return out, nil
}

func (h *Handler) getStats(ctx *fasthttp.RequestCtx, _ params) {
	if h.flowsOff(ctx) {
		return
	}
	name := string(ctx.QueryArgs().Peek("span"))
	if name == "" {
		name = "24h"
	}
	sp, ok := spans[name]
	if !ok {
		writeError(ctx, fasthttp.StatusBadRequest, "span must be 1h, 24h, 7d or 30d")
		return
	}
	now := h.deps.Now()
	start := now.Add(-sp.span).Truncate(sp.step)
	qctx, cancel := h.actionContext()
	defer cancel()
	rows, err := h.scanFlows(qctx, start)
	if err != nil {
		writeError(ctx, fasthttp.StatusInternalServerError, err.Error())
		return
	}
	page := buildSeries(rows, start, now, sp.step)
	page.Span, page.Stats = name, summarize(rows, start)
	writeJSON(ctx, fasthttp.StatusOK, page)
}

// summarize computes what flows.Store.Stats computes (the numbers `kirobar
// flows stats` prints) from rows already read for the charts.
func summarize(rows []seriesRow, since time.Time) flows.Stats {
	total := newSum("all")
	accounts, models, keys := map[string]*sum{}, map[string]*sum{}, map[string]*sum{}
	pick := func(m map[string]*sum, name string) *sum {
		s, ok := m[name]
		if !ok {
			s = newSum(name)
			m[name] = s
		}
		return s
	}
	for i := range rows {
		r := &rows[i]
		total.add(r)
		pick(accounts, r.AccountID).add(r)
		pick(models, r.model()).add(r)
		pick(keys, r.KeyName).add(r)
	}
	return flows.Stats{Since: since.UTC(), Total: total.group(), Accounts: sums(accounts), Models: sums(models), Keys: sums(keys)}
}

// sum accumulates one flows.Group.
type sum struct {
	g     flows.Group
	ttfbs []int64
}

func newSum(name string) *sum { return &sum{g: flows.Group{Name: name}} }

func (s *sum) add(r *seriesRow) {
	s.g.Requests++
	if r.Status == flows.StatusFailed {
		s.g.Failures++
	}
	if r.TTFBMS > 0 {
		s.ttfbs = append(s.ttfbs, r.TTFBMS)
	}
	s.g.InputTokens += r.InputTokens
	s.g.OutputTokens += r.OutputTokens
	s.g.Credits += r.Credits
}

func (s *sum) group() flows.Group {
	slices.Sort(s.ttfbs)
	s.g.TTFBP50MS, s.g.TTFBP95MS = percentile(s.ttfbs, 50), percentile(s.ttfbs, 95)
	return s.g
}

// sums returns the groups, most requests first.
func sums(m map[string]*sum) []flows.Group {
	out := make([]flows.Group, 0, len(m))
	for _, s := range m {
		out = append(out, s.group())
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Requests != out[j].Requests {
			return out[i].Requests > out[j].Requests
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// buildSeries buckets rows from start to now in steps of step.
func buildSeries(rows []seriesRow, start, now time.Time, step time.Duration) statsPage {
	n := max(int(now.Sub(start)/step)+1, 1)
	buckets := make([]bucket, n)
	for i := range buckets {
		buckets[i].Start = start.Add(time.Duration(i) * step).UTC()
	}
	accounts, models, keys := map[string][]int64{}, map[string][]int64{}, map[string][]int64{}
	add := func(m map[string][]int64, name string, i int) {
		s, ok := m[name]
		if !ok {
			s = make([]int64, n)
			m[name] = s
		}
		s[i]++
	}
	for i := range rows {
		r := &rows[i]
		if r.Time.Before(start) {
			continue // integer division would round it into the first bucket
		}
		idx := int(r.Time.Sub(start) / step)
		if idx >= n {
			continue
		}
		b := &buckets[idx]
		b.Requests++
		if r.Status == flows.StatusFailed {
			b.Failures++
		}
		if r.TTFBMS > 0 {
			b.ttfbs = append(b.ttfbs, r.TTFBMS)
		}
		add(accounts, r.AccountID, idx)
		add(models, r.model(), idx)
		add(keys, r.KeyName, idx)
	}
	for i := range buckets {
		b := &buckets[i]
		slices.Sort(b.ttfbs)
		b.TTFBP50MS, b.TTFBP95MS = percentile(b.ttfbs, 50), percentile(b.ttfbs, 95)
		b.ttfbs = nil
	}
	return statsPage{
		StepSecs: int64(step / time.Second),
		Buckets:  buckets,
		Accounts: topSeries(accounts, n),
		Models:   topSeries(models, n),
		Keys:     topSeries(keys, n),
	}
}

// percentile is the nearest-rank percentile of sorted values, as flows
// computes it.
func percentile(sorted []int64, p int) int64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100
	return sorted[max(rank, 1)-1]
}

// topSeries returns the busiest series, the rest summed as "other".
func topSeries(m map[string][]int64, n int) []series {
	out := make([]series, 0, len(m))
	for name, counts := range m {
		s := series{Name: name, Requests: counts}
		if name == "" {
			s.Name = "(none)"
		}
		for _, c := range counts {
			s.Total += c
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Total != out[j].Total {
			return out[i].Total > out[j].Total
		}
		return out[i].Name < out[j].Name
	})
	if len(out) <= maxSeriesGroups {
		return out
	}
	other := series{Name: "other", Requests: make([]int64, n)}
	for _, s := range out[maxSeriesGroups-1:] {
		for i, c := range s.Requests {
			other.Requests[i] += c
		}
		other.Total += s.Total
	}
	return append(out[:maxSeriesGroups-1], other)
}
