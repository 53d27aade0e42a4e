package server

import (
	"context"
	"sync"
	"time"
)

// activeCalls counts requests on the upstream path, streams included
// until their writer returns, so that Stop can wait for every flow to be
// recorded before the caller flushes the recorder.
type activeCalls struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed while n == 0; replaced when n leaves 0
	trim *time.Timer   // hands memory back once idle (trim.go)
}

func (a *activeCalls) add() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n == 0 {
		a.idle = make(chan struct{})
	}
	a.n++
}

func (a *activeCalls) done() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.n--
	if a.n == 0 {
		close(a.idle)
		a.armTrimLocked()
	}
}

// wait blocks until no call is active or ctx ends.
func (a *activeCalls) wait(ctx context.Context) error {
	a.mu.Lock()
	idle := a.idle
	n := a.n
	a.mu.Unlock()
	if n == 0 {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
