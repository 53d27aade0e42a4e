package tray

import "time"

// limiter lets one notification per subject through per interval, so a
// flapping account does not flood the desktop.
type limiter struct {
	every time.Duration
	last  map[string]time.Time
}

func newLimiter(every time.Duration) *limiter {
	return &limiter{every: every, last: make(map[string]time.Time)}
}

// allow reports whether a notification on key may go out at now, and if
// so remembers it.
func (l *limiter) allow(key string, now time.Time) bool {
	if t, ok := l.last[key]; ok && now.Sub(t) < l.every {
		return false
	}
	l.last[key] = now
	return true
}
