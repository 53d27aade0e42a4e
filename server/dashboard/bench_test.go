package dashboard

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/kirobar/kirobar/flows"
)

func TestBuildSeries(t *testing.T) {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	step := 10 * time.Minute
	rows := []seriesRow{
		{Time: start.Add(1 * time.Minute), Status: flows.StatusCompleted, TTFBMS: 100, AccountID: "a", KeyName: "key1", KiroModel: "m1"},
		{Time: start.Add(2 * time.Minute), Status: flows.StatusFailed, AccountID: "b", KeyName: "key1", ClientModel: "c2"},
		{Time: start.Add(3 * time.Minute), Status: flows.StatusCompleted, TTFBMS: 300, AccountID: "a", KeyName: "key2", KiroModel: "m1"},
		{Time: start.Add(25 * time.Minute), Status: flows.StatusCompleted, TTFBMS: 50, AccountID: "a", KeyName: "key1", KiroModel: "m1"},
		{Time: start.Add(-time.Minute), Status: flows.StatusCompleted}, // before the range
	}
	p := buildSeries(rows, start, start.Add(30*time.Minute), step)
	if len(p.Buckets) != 4 || p.StepSecs != 600 {
		t.Fatalf("%d buckets of %ds", len(p.Buckets), p.StepSecs)
	}
	tests := []struct {
		i                   int
		req, fail, p50, p95 int64
	}{
		{0, 3, 1, 100, 300},
		{1, 0, 0, 0, 0},
		{2, 1, 0, 50, 50},
		{3, 0, 0, 0, 0},
	}
	for _, tc := range tests {
		b := p.Buckets[tc.i]
		if b.Requests != tc.req || b.Failures != tc.fail || b.TTFBP50MS != tc.p50 || b.TTFBP95MS != tc.p95 {
			t.Errorf("bucket %d: %+v, want %+v", tc.i, b, tc)
		}
	}
	if p.Accounts[0].Name != "a" || p.Accounts[0].Total != 3 || p.Models[1].Name != "c2" || len(p.Keys) != 2 {
		t.Fatalf("groups %+v %+v %+v", p.Accounts, p.Models, p.Keys)
	}
}

func TestTopSeriesFoldsTheRest(t *testing.T) {
	m := map[string][]int64{}
	for i := 0; i < maxSeriesGroups+3; i++ {
		m[fmt.Sprintf("g%d", i)] = []int64{int64(i + 1), 1}
	}
	out := topSeries(m, 2)
	if len(out) != maxSeriesGroups || out[len(out)-1].Name != "other" {
		t.Fatalf("%+v", out)
	}
	var total int64
	for _, s := range out {
		total += s.Total
	}
	if want := int64(0); total == want {
		t.Fatal("no totals")
	}
}

// seed fills the harness's flow index with n rows spread over the last
// day, as many as a busy week of agents leaves.
func seed(b *testing.B, h *harness, n int, step time.Duration) {
	b.Helper()
	now := time.Now()
	rows := make([]flows.Row, 0, 1000)
	for i := 0; i < n; i++ {
		status := flows.StatusCompleted
		if i%23 == 0 {
			status = flows.StatusFailed
		}
		rows = append(rows, flows.Row{
			ID: fmt.Sprintf("f%06d", i), Time: now.Add(-time.Duration(n-i) * step),
			KeyName: fmt.Sprintf("key%d", i%3+1), ClientModel: "claude-sonnet-4-5", KiroModel: "claude-sonnet-4.5",
			AccountID: fmt.Sprintf("acct%d", i%5), Status: status, HTTPStatus: 200, TTFBMS: int64(200 + i%700),
			DurationMS: 1500, InputTokens: 1000, OutputTokens: 200, Credits: 0.1,
			Attempts: []flows.AttemptRow{{AccountID: fmt.Sprintf("acct%d", i%5), Status: 200, DurationMS: 900}},
		})
		if len(rows) == cap(rows) || i == n-1 {
			if err := h.db.CreateInBatches(rows, 250).Error; err != nil {
				b.Fatal(err)
			}
			rows = rows[:0]
		}
	}
}

// BenchmarkPages100k times each dashboard API call a page makes, over
// HTTP, with 100,000 flows in the index: the flow list pages through a
// cursor, so a deep page costs what the first does; stats and the
// overview scan the period they show.
func BenchmarkPages100k(b *testing.B) {
	b.Run("busy-day", func(b *testing.B) { benchPages(b, 800*time.Millisecond) })
	b.Run("retention", func(b *testing.B) { benchPages(b, 14*24*time.Hour/100_000) })
}

// benchPages seeds 100,000 flows step apart, ending now: 800 ms puts them
// all in the last 22 hours (a stress case); 14 days / 100,000 spreads them
// over the default retention, as a long-running kirobar's index is.
func benchPages(b *testing.B, step time.Duration) {
	h := newHarness(b, harnessOptions{})
	seed(b, h, 100_000, step)
	br := h.signIn()
	_, body := br.get("/api/flows?limit=50&before=50000")
	mid := decode[flowPage](b, body)
	if len(mid.Flows) != 50 {
		b.Fatalf("deep page has %d flows", len(mid.Flows))
	}
	for _, path := range []string{
		"/api/flows?limit=50",
		"/api/flows?limit=50&before=50000",
		"/api/flows?limit=50&before=1000",
		"/api/flows?limit=50&status=failed",
		"/api/flows?limit=50&account=acct3&since=1h",
		"/api/flows/f050000",
		"/api/overview",
		"/api/stats?span=1h",
		"/api/stats?span=24h",
		"/api/accounts",
	} {
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				if code, body := br.get(path); code != http.StatusOK {
					b.Fatalf("%d %s", code, body)
				}
			}
		})
	}
}
