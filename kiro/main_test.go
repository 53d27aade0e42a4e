package kiro

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves goroutines behind: a stream
// whose request was not canceled or whose connection was not released.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
