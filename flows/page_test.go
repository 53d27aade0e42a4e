package flows

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestListPagesWithCursorAndTimeRange walks the index page by page with
// Filter.Before and cuts it with Filter.Until, as the dashboard does.
func TestListPagesWithCursorAndTimeRange(t *testing.T) {
	gdb, home := openDB(t)
	if err := Migrate(gdb); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var rows []Row
	for i := 0; i < 25; i++ {
		status := StatusCompleted
		if i%5 == 0 {
			status = StatusFailed
		}
		rows = append(rows, Row{ID: fmt.Sprintf("f%02d", i), Time: base.Add(time.Duration(i) * time.Minute), Status: status})
	}
	if err := gdb.Create(&rows).Error; err != nil {
		t.Fatal(err)
	}
	s := NewStore(gdb, home)
	ctx := context.Background()

	var seen []string
	var cursor int64
	for page := 0; page < 10; page++ {
		got, err := s.List(ctx, Filter{Limit: 10, Before: cursor})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			break
		}
		for _, r := range got {
			seen = append(seen, r.ID)
		}
		cursor = got[len(got)-1].Seq
	}
	if len(seen) != 25 || seen[0] != "f24" || seen[24] != "f00" {
		t.Fatalf("pages gave %d flows %v, want f24..f00", len(seen), seen)
	}

	tests := []struct {
		name string
		f    Filter
		want []string
	}{
		{"until", Filter{Until: base.Add(2 * time.Minute)}, []string{"f01", "f00"}},
		{"range", Filter{Since: base.Add(10 * time.Minute), Until: base.Add(12 * time.Minute)}, []string{"f11", "f10"}},
		{"failed before cursor", Filter{Status: StatusFailed, Before: rows[15].Seq}, []string{"f10", "f05", "f00"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.List(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range got {
				ids = append(ids, r.ID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v, want %v", ids, tc.want)
			}
		})
	}
}
