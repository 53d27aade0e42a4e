package openai

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/kirobar/kirobar/canon"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden %s (run go test -update to create it): %v", path, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file (run go test -update after checking the change)\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

// sseResponse wraps a stream body as the HTTP response an SDK would read.
func sseResponse(body []byte) *http.Response {
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"text/event-stream"}},
		Body:       io.NopCloser(bytes.NewReader(body)),
	}
}

// asRequestError asserts err is a *RequestError.
func asRequestError(t *testing.T, err error) *RequestError {
	t.Helper()
	var re *RequestError
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T) is not a *RequestError", err, err)
	}
	return re
}

// streamCase is a canonical event sequence the stream encoders must render.
type streamCase struct {
	name   string
	events []canon.Event
}

// pingEvent marks where the tests call Ping inside a sequence.
var pingEvent = canon.Event{Kind: 0}

func streamCases() []streamCase {
	usage := canon.Usage{InputTokens: 120, OutputTokens: 17, InputExact: true}
	return []streamCase{
		{name: "text", events: []canon.Event{
			{Kind: canon.BlockStart, Index: 0, Block: canon.TextBlock},
			{Kind: canon.BlockDelta, Index: 0, Block: canon.TextBlock, Delta: "Hello"},
			pingEvent,
			{Kind: canon.BlockDelta, Index: 0, Block: canon.TextBlock, Delta: ", \"world\" <3\n"},
			{Kind: canon.BlockStop, Index: 0, Block: canon.TextBlock},
			{Kind: canon.MessageStop, StopReason: canon.StopEndTurn, Usage: usage},
		}},
		{name: "tools", events: []canon.Event{
			{Kind: canon.BlockStart, Index: 0, Block: canon.TextBlock},
			{Kind: canon.BlockDelta, Index: 0, Block: canon.TextBlock, Delta: "I'll look."},
			{Kind: canon.BlockStop, Index: 0, Block: canon.TextBlock},
			{Kind: canon.BlockStart, Index: 1, Block: canon.ToolUseBlock, ID: "tooluse_A1", Name: "exec_command"},
			{Kind: canon.BlockDelta, Index: 1, Block: canon.ToolUseBlock, Delta: `{"cmd":`},
			{Kind: canon.BlockDelta, Index: 1, Block: canon.ToolUseBlock, Delta: `"ls -la"}`},
			{Kind: canon.BlockStop, Index: 1, Block: canon.ToolUseBlock},
			{Kind: canon.BlockStart, Index: 2, Block: canon.ToolUseBlock, ID: "tooluse_B2", Name: "spawn_agent"},
			{Kind: canon.BlockDelta, Index: 2, Block: canon.ToolUseBlock, Delta: `{"message":"audit"}`},
			{Kind: canon.BlockStop, Index: 2, Block: canon.ToolUseBlock},
			{Kind: canon.MessageStop, StopReason: canon.StopToolUse, Usage: usage},
		}},
		{name: "thinking", events: []canon.Event{
			{Kind: canon.BlockStart, Index: 0, Block: canon.ThinkingBlock},
			{Kind: canon.BlockDelta, Index: 0, Block: canon.ThinkingBlock, Delta: "The user wants "},
			{Kind: canon.BlockDelta, Index: 0, Block: canon.ThinkingBlock, Delta: "a greeting."},
			{Kind: canon.BlockStop, Index: 0, Block: canon.ThinkingBlock, Signature: "sig_0123"},
			{Kind: canon.BlockStart, Index: 1, Block: canon.TextBlock},
			{Kind: canon.BlockDelta, Index: 1, Block: canon.TextBlock, Delta: "Hi!"},
			{Kind: canon.BlockStop, Index: 1, Block: canon.TextBlock},
			{Kind: canon.MessageStop, StopReason: canon.StopEndTurn, Usage: usage},
		}},
		// Codex's code mode: a custom (free-form) tool call to exec in the
		// functions namespace, then a namespaced function call.
		{name: "custom", events: []canon.Event{
			{Kind: canon.BlockStart, Index: 0, Block: canon.TextBlock},
			{Kind: canon.BlockDelta, Index: 0, Block: canon.TextBlock, Delta: "Running a script."},
			{Kind: canon.BlockStop, Index: 0, Block: canon.TextBlock},
			{Kind: canon.BlockStart, Index: 1, Block: canon.ToolUseBlock, ID: "tooluse_C3", Name: "exec"},
			{Kind: canon.BlockDelta, Index: 1, Block: canon.ToolUseBlock, Delta: `{"input":"const r = await tools.exec_command({cmd: \"ls\"});\n`},
			{Kind: canon.BlockDelta, Index: 1, Block: canon.ToolUseBlock, Delta: `text(r.output);"}`},
			{Kind: canon.BlockStop, Index: 1, Block: canon.ToolUseBlock},
			{Kind: canon.BlockStart, Index: 2, Block: canon.ToolUseBlock, ID: "tooluse_D4", Name: "sleep"},
			{Kind: canon.BlockDelta, Index: 2, Block: canon.ToolUseBlock, Delta: `{"duration_ms":10}`},
			{Kind: canon.BlockStop, Index: 2, Block: canon.ToolUseBlock},
			{Kind: canon.MessageStop, StopReason: canon.StopToolUse, Usage: usage},
		}},
		{name: "max_tokens", events: []canon.Event{
			{Kind: canon.BlockStart, Index: 0, Block: canon.TextBlock},
			{Kind: canon.BlockDelta, Index: 0, Block: canon.TextBlock, Delta: "Once upon a"},
			{Kind: canon.BlockStop, Index: 0, Block: canon.TextBlock},
			{Kind: canon.MessageStop, StopReason: canon.StopMaxTokens, Usage: usage},
		}},
		{name: "failure", events: []canon.Event{
			{Kind: canon.BlockStart, Index: 0, Block: canon.TextBlock},
			{Kind: canon.BlockDelta, Index: 0, Block: canon.TextBlock, Delta: "Partial"},
			{Kind: canon.Error, Err: &canon.StreamError{Type: "api_error", Message: "upstream stream ended without messageStopEvent"}},
		}},
	}
}

// customScript is the free-form input of the custom case's exec call.
const customScript = "const r = await tools.exec_command({cmd: \"ls\"});\ntext(r.output);"

// testChatOptions declares exec as a custom tool, as the custom case needs.
func testChatOptions() ChatOptions {
	return ChatOptions{Stream: true, IncludeUsage: true, N: 1, Custom: map[string]bool{"exec": true}}
}

// encoder is what both stream encoders offer.
type encoder interface {
	Begin(dst []byte) []byte
	Event(dst []byte, ev canon.Event) []byte
	Ping(dst []byte) []byte
}

// encodeAll renders a sequence, calling Ping where the case marks it.
func encodeAll(enc encoder, events []canon.Event) []byte {
	out := enc.Begin(nil)
	for _, ev := range events {
		if ev.Kind == 0 {
			out = enc.Ping(out)
			continue
		}
		out = enc.Event(out, ev)
	}
	return out
}
