//go:build unix

package server_test

import (
	"bufio"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BenchmarkQueuedOnOneAccount measures what waiting for an account costs
// a request: one account serves 4 streams at a time (max_concurrent = 4);
// with 4 clients nobody waits, with 64 clients 60 wait in line. Both run
// at the account's pace, so the process's CPU time per request
// (cpu-ns/op: server, fake and clients) differs by the cost of the wait.
// The paced cases also limit the account to 50 starts a second on
// average (min_spacing = 20ms, bursts of spacing_burst).
func BenchmarkQueuedOnOneAccount(b *testing.B) {
	small := []byte(`{"model":"claude-sonnet-4-5","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"Write a haiku about loopback proxies."}]}`)
	for _, bc := range []struct {
		name    string
		clients int
		spacing time.Duration
	}{
		{"4-clients-unqueued", 4, 0},
		{"64-clients", 64, 0},
		{"paced/4-clients", 4, 20 * time.Millisecond},
		{"paced/64-clients", 64, 20 * time.Millisecond},
	} {
		clients := bc.clients
		b.Run(bc.name, func(b *testing.B) {
			r := newBenchRigLimited(b, false, 4, bc.spacing)
			work := make(chan struct{}, b.N)
			for range b.N {
				work <- struct{}{}
			}
			close(work)
			cpu0 := processCPU(b)
			b.ResetTimer()
			var wg sync.WaitGroup
			for range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					br := bufio.NewReaderSize(nil, 32<<10)
					for range work {
						r.stream(b, small, br)
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is this process's user plus system CPU time.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
