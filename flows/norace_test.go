//go:build !race

package flows_test

// raceEnabled is set when tests run with the race detector; see
// race_test.go.
const raceEnabled = false
