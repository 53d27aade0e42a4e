package server

import (
	"runtime/debug"
	"time"
)

// idleTrimAfter is how long no request may have been running before
// kirobar hands the memory its last burst of requests used back to the OS.
//
// Why: after a burst (256 concurrent 50 KB Claude Code streams in
// kirobench) the heap held 85 MB of requests that had ended, and RSS
// stayed at 184 MB for as long as kirobar then sat idle. Nothing
// allocates once the load stops, so no collection runs to free them (Go
// forces one only every two minutes), and the runtime returns free pages
// to the OS only slowly and only above twice the last live heap. One
// forced collection and release when the burst is over costs a few
// milliseconds of CPU, once, while nothing is waiting for kirobar.
const idleTrimAfter = 3 * time.Second

// armTrimLocked schedules the trim for when the calls have stayed at zero
// for idleTrimAfter; a new call in between makes it a no-op.
func (a *activeCalls) armTrimLocked() {
	if a.trim == nil {
		a.trim = time.AfterFunc(idleTrimAfter, a.trimIfIdle)
		return
	}
	a.trim.Reset(idleTrimAfter)
}

// trimIfIdle collects garbage and returns free memory to the OS, unless a
// call has started since the timer was armed.
func (a *activeCalls) trimIfIdle() {
	a.mu.Lock()
	idle := a.n == 0
	a.mu.Unlock()
	if idle {
		debug.FreeOSMemory()
	}
}

// stopTrim cancels a pending trim (the server is stopping).
func (a *activeCalls) stopTrim() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.trim != nil {
		a.trim.Stop()
	}
}
