package server_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves a goroutine behind: a
// stream whose upstream was not released, a connection kirobar did not
// close, a pump that never ended.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// fasthttp refreshes its cached Date header once a second from a
		// process-wide goroutine it starts on first use and never stops.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		// Each fasthttp.Server's worker-pool cleaner notices a stop only
		// after its current sleep (MaxIdleWorkerDuration, 10s). A server
		// kirobar forgot to stop is still caught: its Serve goroutine
		// (started by server.Start) stays blocked in Accept.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
	)
}
