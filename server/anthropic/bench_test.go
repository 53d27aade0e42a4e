package anthropic

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkDecodeClaudeCode decodes Claude Code's first request (12 tools)
// with its tool descriptions grown back to the real request's ~50 KB: the
// first CPU cost of every Claude Code request through kirobar.
func BenchmarkDecodeClaudeCode(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "kiro", "payload", "testdata", "requests", "claude_code_first.json"))
	if err != nil {
		b.Fatal(err)
	}
	var req map[string]any
	if err := json.Unmarshal(raw, &req); err != nil {
		b.Fatal(err)
	}
	para := "Prefer the dedicated tool over a shell pipeline, quote paths with spaces, and report the exact error output when something fails.\n"
	for _, t := range req["tools"].([]any) {
		tool := t.(map[string]any)
		tool["description"] = tool["description"].(string) + "\n\n" + strings.Repeat(para, 26)
	}
	body, err := json.Marshal(req)
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
