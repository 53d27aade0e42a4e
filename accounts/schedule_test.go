package accounts

import (
	"testing"
	"time"
)

func TestScheduleKeepsOneLiveItemPerAccount(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var s schedule
	s.set("a", t0.Add(3*time.Minute))
	s.set("b", t0.Add(2*time.Minute))
	s.set("a", t0.Add(time.Minute)) // rescheduled earlier
	s.set("c", t0.Add(4*time.Minute))
	s.set("c", time.Time{}) // removed
	var order []string
	for {
		it, ok := s.pop()
		if !ok {
			break
		}
		order = append(order, it.id)
	}
	if got := len(order); got != 2 || order[0] != "a" || order[1] != "b" {
		t.Fatalf("pop order %v, want [a b]", order)
	}
}
