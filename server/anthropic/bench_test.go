package anthropic

import (
	"github.com/kirobar/kirobar/internal/testkit/fixtures"
	"testing"
)

// BenchmarkDecodeClaudeCode decodes Claude Code's first request (12 tools)
// with its tool descriptions grown back to the real request's ~50 KB: the
// first CPU cost of every Claude Code request through kirobar.
func BenchmarkDecodeClaudeCode(b *testing.B) {
	body, err := fixtures.ClaudeCode(50 << 10)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(body); err != nil {
			b.Fatal(err)
		}
	}
}
