package flows

import (
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkRecord measures what recording costs the request path: a
// queue hand-off, with redaction, encoding and disk on the writer.
func BenchmarkRecord(b *testing.B) {
	gdb, home := openDB(b)
	cfg := DefaultConfig()
	cfg.QueueSize = 4096
	r := newTestRecorder(b, gdb, home, cfg, options{})
	stop := runRecorder(b, r)
	defer stop()
	proto := sampleFlow(0, time.Now())
	flows := make([]Flow, b.N)
	for i := range flows {
		flows[i] = *proto
		flows[i].ID = ""
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range flows {
		r.Record(&flows[i])
	}
	b.StopTimer()
	details, rows := r.Dropped()
	b.ReportMetric(float64(details)/float64(b.N), "details-dropped/op")
	b.ReportMetric(float64(rows)/float64(b.N), "rows-dropped/op")
}

// BenchmarkRecordParallel measures the hand-off alone, from many request
// goroutines at once: no writer runs and the queue has room for every
// flow, so nothing but Record itself is timed.
func BenchmarkRecordParallel(b *testing.B) {
	gdb, home := openDB(b)
	cfg := DefaultConfig()
	cfg.QueueSize = b.N
	r := newTestRecorder(b, gdb, home, cfg, options{})
	proto := sampleFlow(0, time.Now())
	flows := make([]Flow, b.N)
	for i := range flows {
		flows[i] = *proto
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Record(&flows[next.Add(1)-1])
		}
	})
	b.StopTimer()
	if details, rows := r.Dropped(); details+rows > 0 {
		b.Fatalf("dropped %d details, %d rows with room for all", details, rows)
	}
}
