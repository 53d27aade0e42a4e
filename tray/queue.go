package tray

import "sync"

// queue is an unbounded FIFO of work for the tray's goroutine. Clicks,
// worker results and progress reports are pushed here without ever
// blocking, because fyne.io/systray drops a click whose channel reader is
// busy: the per-item readers must always be ready for the next one.
type queue struct {
	mu    sync.Mutex
	items []func()
	wake  chan struct{}
}

func newQueue() *queue { return &queue{wake: make(chan struct{}, 1)} }

// push adds f and wakes the reader.
func (q *queue) push(f func()) {
	q.mu.Lock()
	q.items = append(q.items, f)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// drain takes everything queued so far.
func (q *queue) drain() []func() {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}
