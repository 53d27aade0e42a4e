//go:build race

package flows_test

// raceEnabled is set when tests run with the race detector, which makes
// the long replays many times slower; they then replay shorter sessions.
const raceEnabled = true
