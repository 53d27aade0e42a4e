package flows

import (
	"encoding/json"
	"fmt"
	"github.com/kirobar/kirobar/internal/testkit/fixtures"
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
	// With no writer draining it, the queue fills its byte bound
	// (queueMaxBytes) and later flows lose their details by design; none
	// may lose its index row.
	if _, rows := r.Dropped(); rows > 0 {
		b.Fatalf("dropped %d index rows with room for all", rows)
	}
}

// claudeCodeFlow returns a flow the size of a Claude Code turn: its first
// request (12 tools) grown back to ~50 KB as the client body and as the
// upstream body, a streamed answer and its upstream events.
func claudeCodeFlow(b *testing.B) *Flow {
	b.Helper()
	body, err := fixtures.ClaudeCode(50 << 10)
	if err != nil {
		b.Fatal(err)
	}
	f := sampleFlow(0, time.Now())
	f.ClientRequest = body
	f.UpstreamRequest = append([]byte(`{"conversationState":{"currentMessage":{"userInputMessage":`), body...)
	f.UpstreamRequest = append(f.UpstreamRequest, `}},"profileArn":"arn:aws:codewhisperer:us-east-1:123456789012:profile/ABCDEF"}`...)
	var sse, events = []byte{}, []Event{}
	for i := range 30 {
		chunk := fmt.Sprintf(`{"content":"a streamed answer, part %d of thirty, with some text "}`, i)
		events = append(events, Event{Type: "assistantResponseEvent", Payload: json.RawMessage(chunk), At: time.Duration(i) * time.Millisecond})
		sse = fmt.Appendf(sse, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"a streamed answer, part %d of thirty \"}}\n\n", i)
	}
	f.Response, f.UpstreamEvents = sse, events
	return f
}

// BenchmarkDetails measures the writer's CPU per flow outside the
// database: redaction, capping and encoding of one details line.
func BenchmarkDetails(b *testing.B) {
	rd := newRedactor([]string{"aoaAAAAAGhpZGRlbi1hY2Nlc3MtdG9rZW4tMDAx", "kb-live-6f1d2c3b4a5e", "eyJraWQiOiJjbGllbnQtc2VjcmV0LTAwMyJ9"})
	for _, tc := range []struct {
		name string
		f    *Flow
	}{
		{"small", sampleFlow(0, time.Now())},
		{"claude-code-50kb", claudeCodeFlow(b)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.f.ClientRequest) + len(tc.f.UpstreamRequest) + len(tc.f.Response)))
			b.ReportAllocs()
			var sc scratch
			for b.Loop() {
				d := buildDetails(tc.f.ID, tc.f, rd, 1<<20, &sc)
				line, err := appendDetailsLine(sc.line[:0], &d, rd)
				if err != nil {
					b.Fatal(err)
				}
				sc.line = line
			}
		})
	}
}

// BenchmarkWriter measures the whole writer per flow: details lines, the
// file write and the index rows in batches, as a steady load leaves them.
func BenchmarkWriter(b *testing.B) {
	for _, tc := range []struct {
		name  string
		proto func() *Flow
	}{
		{"small", func() *Flow { return sampleFlow(0, time.Now()) }},
		{"claude-code-50kb", func() *Flow { return claudeCodeFlow(b) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			gdb, home := openDB(b)
			r := newTestRecorder(b, gdb, home, DefaultConfig(), options{})
			proto := tc.proto()
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				f := *proto
				f.ID = ""
				r.Record(&f)
				if n++; n%64 == 0 {
					r.drain()
				}
			}
			r.drain()
			b.StopTimer()
			if err := r.Close(); err != nil {
				b.Fatal(err)
			}
			if details, rows := r.Dropped(); details+rows > 0 {
				b.Fatalf("dropped %d details, %d rows", details, rows)
			}
		})
	}
}
