package flows

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"gorm.io/gorm"
)

// refGroup is the straightforward in-Go summary Store.Stats computed
// before SQLite did it: the reference the SQL must match.
type refGroup struct {
	g     Group
	ttfbs []int64
}

func (a *refGroup) add(r *Row) {
	a.g.Requests++
	if r.Status == StatusFailed {
		a.g.Failures++
	}
	if r.TTFBMS > 0 {
		a.ttfbs = append(a.ttfbs, r.TTFBMS)
	}
	a.g.InputTokens += int64(r.InputTokens)
	a.g.OutputTokens += int64(r.OutputTokens)
	a.g.Credits += r.Credits
}

// done returns the group with its nearest-rank p50 and p95.
func (a *refGroup) done() Group {
	slices.Sort(a.ttfbs)
	rank := func(p int) int64 {
		if len(a.ttfbs) == 0 {
			return 0
		}
		return a.ttfbs[max((p*len(a.ttfbs)+99)/100, 1)-1]
	}
	a.g.TTFBP50MS, a.g.TTFBP95MS = rank(50), rank(95)
	return a.g
}

func pick(m map[string]*refGroup, name string) *refGroup {
	a, ok := m[name]
	if !ok {
		a = &refGroup{g: Group{Name: name}}
		m[name] = a
	}
	return a
}

func refGroups(m map[string]*refGroup) []Group {
	out := []Group{}
	for _, a := range m {
		out = append(out, a.done())
	}
	return sortGroups(out)
}

// refStats is Stats computed in Go over the rows the index selects.
func refStats(rows []Row, since time.Time) Stats {
	total := &refGroup{g: Group{Name: "all"}}
	accounts, models, keys := map[string]*refGroup{}, map[string]*refGroup{}, map[string]*refGroup{}
	for i := range rows {
		r := &rows[i]
		total.add(r)
		pick(accounts, r.AccountID).add(r)
		pick(models, usageModel(r)).add(r)
		pick(keys, r.KeyName).add(r)
	}
	return Stats{Since: since.UTC(), Total: total.done(), Accounts: refGroups(accounts), Models: refGroups(models), Keys: refGroups(keys)}
}

// refSeries is Series computed in Go, bucketing by time.Duration division.
func refSeries(rows []Row, start time.Time, step time.Duration, n int) Series {
	out := Series{Start: start.UTC(), Step: step, Buckets: make([]Group, n),
		Accounts: map[string][]int64{}, Models: map[string][]int64{}, Keys: map[string][]int64{}}
	acc := make([]refGroup, n)
	count := func(m map[string][]int64, name string, i int) {
		if m[name] == nil {
			m[name] = make([]int64, n)
		}
		m[name][i]++
	}
	for k := range rows {
		r := &rows[k]
		if r.Time.Before(start) {
			continue
		}
		i := int(r.Time.Sub(start) / step)
		if i >= n {
			continue
		}
		acc[i].add(r)
		count(out.Accounts, r.AccountID, i)
		count(out.Models, usageModel(r), i)
		count(out.Keys, r.KeyName, i)
	}
	for i := range acc {
		out.Buckets[i] = acc[i].done()
	}
	return out
}

// sameGroups compares groups exactly but for credits, whose float sum
// depends on the order rows are added in.
func sameGroups(t *testing.T, what string, got, want []Group) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d groups, want %d:\n got %+v\nwant %+v", what, len(got), len(want), got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if math.Abs(g.Credits-w.Credits) > 1e-9*max(1, math.Abs(w.Credits)) {
			t.Errorf("%s[%d]: credits %v, want %v", what, i, g.Credits, w.Credits)
		}
		g.Credits, w.Credits = 0, 0
		if g != w {
			t.Errorf("%s[%d] = %+v, want %+v", what, i, g, w)
		}
	}
}

// seedRandom stores n random flows over the 30 hours before now.
func seedRandom(t *testing.T, s *Store, rng *rand.Rand, n int, now time.Time) {
	t.Helper()
	names := func(prefix string, k int) []string {
		out := []string{""}
		for i := 1; i < k; i++ {
			out = append(out, fmt.Sprintf("%s%d", prefix, i))
		}
		return out
	}
	accounts, keys, models := names("acct", 7), names("key", 4), names("model-", 5)
	statuses := []string{StatusCompleted, StatusCompleted, StatusCompleted, StatusFailed, StatusCancelled}
	rows := make([]Row, n)
	for i := range rows {
		at := now.Add(-time.Duration(rng.Int64N(int64(30 * time.Hour))))
		if rng.IntN(10) == 0 {
			at = at.Truncate(time.Second) // whole seconds are stored without a fraction
		}
		var ttfb int64
		switch rng.IntN(4) {
		case 0: // no first byte: left out of the percentiles
		case 1:
			ttfb = rng.Int64N(20) + 1 // many ties
		default:
			ttfb = rng.Int64N(5000) + 1
		}
		rows[i] = Row{
			ID: fmt.Sprintf("r%05d", i), Time: at.UTC(), Status: statuses[rng.IntN(len(statuses))],
			AccountID: accounts[rng.IntN(len(accounts))], KeyName: keys[rng.IntN(len(keys))],
			ClientModel: models[rng.IntN(len(models))], KiroModel: models[rng.IntN(len(models))],
			TTFBMS: ttfb, InputTokens: rng.IntN(10000), OutputTokens: rng.IntN(2000), Credits: float64(rng.IntN(1000)) / 997,
		}
	}
	if err := s.db.CreateInBatches(rows, 200).Error; err != nil {
		t.Fatal(err)
	}
}

// TestStatsSQLMatchesGo checks that SQLite's sums, buckets and nearest-rank
// percentiles equal a plain Go computation over the same flows, for
// several periods and bucket widths of a random index.
func TestStatsSQLMatchesGo(t *testing.T) {
	eachDB(t, testStatsSQLMatchesGo)
}

func testStatsSQLMatchesGo(t *testing.T, gdb *gorm.DB, home string) {
	if err := Migrate(gdb); err != nil {
		t.Fatal(err)
	}
	s := NewStore(gdb, home)
	now := time.Date(2025, 6, 3, 14, 37, 12, 345678901, time.UTC)
	seedRandom(t, s, rand.New(rand.NewPCG(1, 2)), 4000, now)
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		span, step time.Duration
	}{
		{"1h", time.Hour, 2 * time.Minute},
		{"24h", 24 * time.Hour, 30 * time.Minute},
		{"7d", 7 * 24 * time.Hour, 4 * time.Hour},
		{"tiny", 10 * time.Minute, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := now.Add(-tc.span).Truncate(tc.step)
			var rows []Row
			if err := gdb.Where("time >= ?", start.UTC()).Find(&rows).Error; err != nil {
				t.Fatal(err)
			}
			want := refStats(rows, start)
			got, err := s.Stats(ctx, start)
			if err != nil {
				t.Fatal(err)
			}
			if got.Total.Requests == 0 && tc.name != "tiny" {
				t.Fatal("no flows in the period")
			}
			sameGroups(t, "total", []Group{got.Total}, []Group{want.Total})
			sameGroups(t, "accounts", got.Accounts, want.Accounts)
			sameGroups(t, "models", got.Models, want.Models)
			sameGroups(t, "keys", got.Keys, want.Keys)
			total, err := s.Total(ctx, start)
			if err != nil {
				t.Fatal(err)
			}
			sameGroups(t, "Total", []Group{total}, []Group{want.Total})

			n := int(now.Sub(start)/tc.step) + 1
			wantSer := refSeries(rows, start, tc.step, n)
			ser, err := s.Series(ctx, start, tc.step, n)
			if err != nil {
				t.Fatal(err)
			}
			sameGroups(t, "buckets", ser.Buckets, wantSer.Buckets)
			for _, d := range []struct {
				what      string
				got, want map[string][]int64
			}{{"accounts", ser.Accounts, wantSer.Accounts}, {"models", ser.Models, wantSer.Models}, {"keys", ser.Keys, wantSer.Keys}} {
				if len(d.got) != len(d.want) {
					t.Errorf("%s series: %d names, want %d", d.what, len(d.got), len(d.want))
				}
				for name, w := range d.want {
					if !slices.Equal(d.got[name], w) {
						t.Errorf("%s series %q = %v, want %v", d.what, name, d.got[name], w)
					}
				}
			}
		})
	}
}

// TestStatsPercentileRanks pins the nearest-rank definition on small
// groups, where an off-by-one shows.
func TestStatsPercentileRanks(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ttfbs    []int64
		p50, p95 int64
	}{
		{"none", nil, 0, 0},
		{"only zeros", []int64{0, 0}, 0, 0},
		{"one", []int64{7}, 7, 7},
		{"two", []int64{9, 3}, 3, 9},
		{"zeros skipped", []int64{0, 0, 0, 5, 10}, 5, 10},
		{"ties", []int64{4, 4, 4, 4, 8}, 4, 8},
		{"twenty", seq(1, 20), 10, 19},
		{"twenty-one", seq(1, 21), 11, 20},
		{"hundred", seq(1, 100), 50, 95},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachDB(t, func(t *testing.T, gdb *gorm.DB, home string) {
				testPercentileRanks(t, gdb, home, tc.ttfbs, tc.p50, tc.p95)
			})
		})
	}
}

// testPercentileRanks stores flows with the given TTFBs and checks the
// day's percentiles.
func testPercentileRanks(t *testing.T, gdb *gorm.DB, home string, ttfbs []int64, p50, p95 int64) {
	if err := Migrate(gdb); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	var rows []Row
	for i, v := range ttfbs {
		rows = append(rows, Row{ID: fmt.Sprint(i), Time: now.Add(-time.Minute), Status: StatusCompleted, TTFBMS: v})
	}
	if len(rows) > 0 {
		if err := gdb.Create(&rows).Error; err != nil {
			t.Fatal(err)
		}
	}
	g, err := NewStore(gdb, home).Total(context.Background(), now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if g.Requests != int64(len(ttfbs)) || g.TTFBP50MS != p50 || g.TTFBP95MS != p95 {
		t.Fatalf("got %+v, want p50 %d p95 %d", g, p50, p95)
	}
}

// seq returns the integers from lo to hi, shuffled so order in the
// table cannot stand in for sorting.
func seq(lo, hi int64) []int64 {
	var out []int64
	for v := lo; v <= hi; v++ {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return (out[i]*7919)%101 < (out[j]*7919)%101 })
	return out
}
