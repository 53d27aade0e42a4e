// Package duration provides a time.Duration that reads and writes as a
// human string ("90s", "10m") in TOML and JSON, because go-toml decodes a
// bare time.Duration only from an integer of nanoseconds.
package duration

import (
	"fmt"
	"time"
)

// Duration is a time.Duration that (un)marshals as text such as "1m30s".
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d as time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes d as "1m30s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses "1m30s", "0" or "" (zero).
func (d *Duration) UnmarshalText(b []byte) error {
	if len(b) == 0 || string(b) == "0" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: use a number with a unit, like 30s or 10m", b)
	}
	if v < 0 {
		return fmt.Errorf("duration %q: must not be negative", b)
	}
	*d = Duration(v)
	return nil
}
