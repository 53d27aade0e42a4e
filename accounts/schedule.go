package accounts

import (
	"container/heap"
	"time"
)

// schedule is a min-heap of next-due refresh times, one live item per
// account. Rescheduling pushes a new item and bumps the account's
// sequence; stale items are dropped when they surface. One timer in Run
// waits for the earliest item.
type schedule struct {
	items []schedItem
	seq   map[string]uint64
	next  uint64
}

type schedItem struct {
	due time.Time
	id  string
	seq uint64
}

func (s *schedule) Len() int           { return len(s.items) }
func (s *schedule) Less(i, j int) bool { return s.items[i].due.Before(s.items[j].due) }
func (s *schedule) Swap(i, j int)      { s.items[i], s.items[j] = s.items[j], s.items[i] }
func (s *schedule) Push(x any)         { s.items = append(s.items, x.(schedItem)) }
func (s *schedule) Pop() any {
	old := s.items
	it := old[len(old)-1]
	s.items = old[:len(old)-1]
	return it
}

// set makes due the account's next refresh time; a zero due removes it.
func (s *schedule) set(id string, due time.Time) {
	if s.seq == nil {
		s.seq = map[string]uint64{}
	}
	s.next++
	if due.IsZero() {
		delete(s.seq, id)
		return
	}
	s.seq[id] = s.next
	heap.Push(s, schedItem{due: due, id: id, seq: s.next})
}

// peek returns the earliest live item, discarding stale ones.
func (s *schedule) peek() (schedItem, bool) {
	for s.Len() > 0 {
		it := s.items[0]
		if s.seq[it.id] == it.seq {
			return it, true
		}
		heap.Pop(s)
	}
	return schedItem{}, false
}

// pop removes the earliest live item.
func (s *schedule) pop() (schedItem, bool) {
	it, ok := s.peek()
	if ok {
		heap.Pop(s)
		delete(s.seq, it.id)
	}
	return it, ok
}

// reschedule computes when the account's token should next be refreshed
// and records it. The caller holds m.mu.
func (m *Manager) reschedule(e *entry) {
	m.sched.set(e.acc.ID, m.refreshDue(e))
	m.kick()
}

// refreshDue is RefreshLead before expiry, or the retry time after a
// failed refresh; zero when the account should not be refreshed at all.
func (m *Manager) refreshDue(e *entry) time.Time {
	a := &e.acc
	if !a.Enabled || a.RefreshToken == "" {
		return time.Time{}
	}
	switch a.Status {
	case StatusNeedsLogin, StatusSuspended:
		return time.Time{}
	}
	due := a.ExpiresAt.Add(-m.lead())
	if a.AccessToken == "" || a.ExpiresAt.IsZero() {
		due = m.now()
	}
	if e.refreshRetryAt.After(due) {
		due = e.refreshRetryAt
	}
	return due
}
