package tray

import (
	"fmt"
	"strings"
	"time"
)

// countdownStep is the resolution a countdown of d is shown with: coarse
// when far off (days, hours), finer as it nears (minutes, then ten
// seconds under five minutes, then seconds under a minute). A coarse label
// changes rarely, and every label change is a DBus signal on Linux.
func countdownStep(d time.Duration) time.Duration {
	switch {
	case d <= time.Minute:
		return time.Second
	case d <= 5*time.Minute:
		return 10 * time.Second
	case d <= 10*time.Hour:
		return time.Minute
	case d <= 48*time.Hour:
		return time.Hour
	default:
		return 24 * time.Hour
	}
}

// ceilStep rounds d up to its step, so "expires in 1m" never shows once the
// last minute has begun less than a full minute ago — it flips to "59s"
// exactly when under a minute is left.
func ceilStep(d time.Duration) (time.Duration, time.Duration) {
	step := countdownStep(d)
	k := (d + step - 1) / step
	return k * step, step
}

// Countdown formats how long until t: "3d", "17h", "3h 5m", "23m",
// "4m 30s", "45s"; "" when t is not in the future.
func Countdown(now, t time.Time) string {
	d := t.Sub(now)
	if t.IsZero() || d <= 0 {
		return ""
	}
	r, _ := ceilStep(d)
	return spell(r)
}

// spell writes a rounded duration with its non-zero units.
func spell(r time.Duration) string {
	units := []struct {
		size time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}}
	var parts []string
	for _, u := range units {
		if n := r / u.size; n > 0 {
			parts = append(parts, fmt.Sprintf("%d%s", n, u.name))
			r -= n * u.size
		}
	}
	return strings.Join(parts, " ")
}

// nextCountdownChange returns when Countdown(now, t) next shows something
// else, or the zero time when it never will.
func nextCountdownChange(now, t time.Time) time.Time {
	d := t.Sub(now)
	if t.IsZero() || d <= 0 {
		return time.Time{}
	}
	r, step := ceilStep(d)
	// The label shows r while the remaining time is in (r-step, r]; it
	// changes the moment r-step is left.
	return t.Add(-(r - step))
}

// plural writes "1 request" or "3 requests".
func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// clip shortens s to at most n runes, ending with "…" when cut, so a long
// error does not widen the whole menu.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
