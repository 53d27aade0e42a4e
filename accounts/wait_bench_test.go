//go:build unix

package accounts

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kirobar/kirobar/internal/testkit/kirofake"
)

// BenchmarkAcquireRelease measures the pool's cost per request (one
// Acquire and one Release around a lease held for a millisecond, as a
// stream holds it) on one account that serves 4 requests at a time: with
// 4 clients nobody waits (unqueued); with 64, 60 wait in line. Both run at
// the same rate, so the process's CPU time per request (cpu-ns/op) differs
// by what waiting costs, which must stay close to nothing.
func BenchmarkAcquireRelease(b *testing.B) {
	for _, bc := range []struct {
		name    string
		clients int
	}{{"unqueued-4-clients", 4}, {"64-clients", 64}} {
		b.Run(bc.name, func(b *testing.B) {
			e := newEnv(b, kirofake.Options{}, true)
			cfg := testConfig()
			cfg.MaxConcurrent = 4
			m := e.manager(cfg, time.Hour)
			e.add(m, "a", time.Hour)
			clients := bc.clients
			work := make(chan struct{}, b.N)
			for range b.N {
				work <- struct{}{}
			}
			close(work)
			cpu0 := cpuTime(b)
			b.ResetTimer()
			var wg sync.WaitGroup
			for range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range work {
						l, err := m.Acquire(context.Background(), AcquireRequest{Session: "bench"})
						if err != nil {
							b.Error(err)
							return
						}
						time.Sleep(time.Millisecond)
						m.Release(l, Outcome{})
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is this process's user plus system CPU time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
