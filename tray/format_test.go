package tray

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func TestCountdown(t *testing.T) {
	for _, tc := range []struct {
		in   time.Duration
		want string
		next time.Duration // from now until the label changes; 0 for never
	}{
		{-time.Second, "", 0},
		{0, "", 0},
		{time.Second, "1s", time.Second},
		{45*time.Second + 300*time.Millisecond, "46s", 300 * time.Millisecond},
		{time.Minute, "1m", time.Second},
		{61 * time.Second, "1m 10s", time.Second},
		{4*time.Minute + 31*time.Second, "4m 40s", time.Second},
		{4*time.Minute + 40*time.Second, "4m 40s", 10 * time.Second},
		{5 * time.Minute, "5m", 10 * time.Second},
		{5*time.Minute + time.Second, "6m", time.Second},
		{23*time.Minute + 10*time.Second, "24m", 10 * time.Second},
		{time.Hour, "1h", time.Minute},
		{3*time.Hour + 4*time.Minute + 1*time.Second, "3h 5m", time.Second},
		{10*time.Hour + time.Minute, "11h", time.Minute},
		{17 * time.Hour, "17h", time.Hour},
		{48 * time.Hour, "2d", time.Hour},
		{2*24*time.Hour + time.Hour, "3d", time.Hour},
		{3 * 24 * time.Hour, "3d", 24 * time.Hour},
	} {
		t.Run(tc.in.String(), func(t *testing.T) {
			at := t0.Add(tc.in)
			if got := Countdown(t0, at); got != tc.want {
				t.Errorf("Countdown = %q, want %q", got, tc.want)
			}
			next := nextCountdownChange(t0, at)
			if tc.next == 0 {
				if !next.IsZero() {
					t.Errorf("next change %v, want never", next)
				}
				return
			}
			if got := next.Sub(t0); got != tc.next {
				t.Fatalf("next change in %v, want %v", got, tc.next)
			}
			// Just before the change the label is the same; at it, another.
			if before := Countdown(next.Add(-time.Nanosecond), at); before != tc.want {
				t.Errorf("just before the change: %q, want %q", before, tc.want)
			}
			if after := Countdown(next, at); after == tc.want {
				t.Errorf("at the change still %q", after)
			}
		})
	}
}

func TestClip(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"short", "short"},
		{"listen tcp\n127.0.0.1:8999:   address already in use", "listen tcp 127.0.0.1:8999: address…"},
	} {
		if got := clip(tc.in, 35); got != tc.want {
			t.Errorf("clip(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
