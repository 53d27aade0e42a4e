package kiro

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// errWatchdog is the cancel cause when a phase timeout fires.
var errWatchdog = errors.New("upstream went silent")

// watchdog cancels a request when a phase (waiting for the first byte, or
// one body read) takes longer than its limit. One timer is reused for all
// phases; a stale firing re-checks the deadline instead of canceling.
type watchdog struct {
	cancel context.CancelCauseFunc

	mu       sync.Mutex
	timer    *time.Timer
	armed    bool
	deadline time.Time
	what     string // description of the armed phase, for the error
	fired    string // set once the watchdog canceled the request
}

// newWatchdog returns a watchdog already armed for the first phase.
func newWatchdog(cancel context.CancelCauseFunc, d time.Duration, what string) *watchdog {
	w := &watchdog{cancel: cancel}
	w.arm(d, what)
	return w
}

// arm starts (or restarts) the timer for a phase of length d.
func (w *watchdog) arm(d time.Duration, what string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fired != "" {
		return
	}
	w.armed = true
	w.deadline = time.Now().Add(d)
	w.what = what
	if w.timer == nil {
		w.timer = time.AfterFunc(d, w.fire)
		return
	}
	w.timer.Reset(d)
}

// disarm stops the timer until the next arm.
func (w *watchdog) disarm() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed = false
	if w.timer != nil {
		w.timer.Stop()
	}
}

// firedWhat returns the description of the phase that timed out, or "".
func (w *watchdog) firedWhat() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fired
}

func (w *watchdog) fire() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.armed || w.fired != "" {
		return
	}
	if rem := time.Until(w.deadline); rem > 0 {
		w.timer.Reset(rem)
		return
	}
	w.fired = w.what
	w.cancel(errWatchdog)
}

// streamBody is Response.Body: it keeps the first-byte deadline running
// until the first byte arrives, then limits each read to the idle timeout,
// and turns read failures into classified *Error values.
type streamBody struct {
	rc       io.ReadCloser
	ctx      context.Context // the caller's context
	cancel   context.CancelCauseFunc
	w        *watchdog
	idle     time.Duration
	op       string
	gotFirst bool
	closeMu  sync.Once
	closeErr error
}

// Read reads from the upstream body under the phase timeouts.
func (b *streamBody) Read(p []byte) (int, error) {
	if b.gotFirst {
		b.w.arm(b.idle, fmt.Sprintf("no data from upstream for %s", b.idle))
	}
	n, err := b.rc.Read(p)
	if n > 0 || b.gotFirst {
		b.gotFirst = true
		b.w.disarm()
	}
	if err == nil || err == io.EOF {
		return n, err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		// net/http reports a body the upstream cut off (a chunked stream
		// without its last chunk) as io.ErrUnexpectedEOF, which says
		// nothing of who cut it. Name it: it is a network failure, and
		// the flow and the client should say so.
		err = errTruncated
	}
	return n, failure(b.ctx, b.op, b.w.firedWhat(), err)
}

// errTruncated replaces io.ErrUnexpectedEOF from an upstream body.
var errTruncated = errors.New("the upstream closed the connection in the middle of the response")

// Close releases the connection and cancels the request.
func (b *streamBody) Close() error {
	b.closeMu.Do(func() {
		b.w.disarm()
		b.closeErr = b.rc.Close()
		b.cancel(context.Canceled)
	})
	return b.closeErr
}
