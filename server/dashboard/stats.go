package dashboard

import (
	"fmt"
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

// seriesRow is the part of an index row the charts need.
type seriesRow struct {
	Time        time.Time
	Status      string
	TTFBMS      int64 `gorm:"column:ttfb_ms"`
	AccountID   string
	KeyName     string
	ClientModel string
	KiroModel   string
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
	st, err := h.store.Stats(qctx, start)
	if err != nil {
		writeError(ctx, fasthttp.StatusInternalServerError, err.Error())
		return
	}
	var rows []seriesRow
	err = h.deps.DB.WithContext(qctx).Model(&flows.Row{}).
		Select("time", "status", "ttfb_ms", "account_id", "key_name", "client_model", "kiro_model").
		Where("time >= ?", start.UTC()).Find(&rows).Error
	if err != nil {
		writeError(ctx, fasthttp.StatusInternalServerError, fmt.Sprintf("flow series: %v", err))
		return
	}
	page := buildSeries(rows, start, now, sp.step)
	page.Span, page.Stats = name, st
	writeJSON(ctx, fasthttp.StatusOK, page)
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
		idx := int(r.Time.Sub(start) / step)
		if idx < 0 || idx >= n {
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
		model := r.KiroModel
		if model == "" {
			model = r.ClientModel
		}
		add(accounts, r.AccountID, idx)
		add(models, model, idx)
		add(keys, r.KeyName, idx)
	}
	for i := range buckets {
		b := &buckets[i]
		sort.Slice(b.ttfbs, func(x, y int) bool { return b.ttfbs[x] < b.ttfbs[y] })
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
