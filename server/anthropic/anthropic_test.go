package anthropic

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sdk "github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/packages/ssestream"

	"github.com/kirobar/kirobar/canon"
)

var update = flag.Bool("update", false, "rewrite golden files")

// toolTurn is the canonical stream of kiro-protocol.md Appendix A.3.
var toolTurn = []canon.Event{
	{Kind: canon.BlockStart, Index: 0, Block: canon.ThinkingBlock},
	{Kind: canon.BlockDelta, Index: 0, Block: canon.ThinkingBlock, Delta: "Need the file."},
	{Kind: canon.BlockStop, Index: 0, Block: canon.ThinkingBlock, Signature: "kirobar-sig"},
	{Kind: canon.BlockStart, Index: 1, Block: canon.TextBlock},
	{Kind: canon.BlockDelta, Index: 1, Block: canon.TextBlock, Delta: "I'll read \"the\" file."},
	{Kind: canon.BlockStop, Index: 1, Block: canon.TextBlock},
	{Kind: canon.BlockStart, Index: 2, Block: canon.ToolUseBlock, ID: "tooluse_Ab12", Name: "Read"},
	{Kind: canon.BlockDelta, Index: 2, Block: canon.ToolUseBlock, Delta: `{"file_path":"/src/main.go"}`},
	{Kind: canon.BlockStop, Index: 2, Block: canon.ToolUseBlock},
	{Kind: canon.MessageStop, StopReason: canon.StopToolUse, Usage: canon.Usage{InputTokens: 25000, OutputTokens: 14}},
}

func encode(events []canon.Event) []byte {
	s := NewStream("msg_01", "claude-opus-5-5", 120)
	out := s.Begin(nil)
	out = s.Ping(out)
	for _, ev := range events {
		out = s.Event(out, ev)
	}
	return out
}

func TestStreamGolden(t *testing.T) {
	got := encode(toolTurn)
	path := filepath.Join("testdata", "tool_turn.sse")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("stream differs from %s:\n%s", path, got)
	}
}

// TestStreamParsesWithSDK feeds the encoded stream to the official SDK's
// decoder and accumulator: what Claude Code's own client library would see.
func TestStreamParsesWithSDK(t *testing.T) {
	res := &http.Response{
		StatusCode: 200,
		Header:     http.Header{"Content-Type": {"text/event-stream"}},
		Body:       io.NopCloser(bytes.NewReader(encode(toolTurn))),
	}
	stream := ssestream.NewStream[sdk.MessageStreamEventUnion](ssestream.NewDecoder(res), nil)
	var msg sdk.Message
	for stream.Next() {
		if err := msg.Accumulate(stream.Current()); err != nil {
			t.Fatalf("accumulate: %v", err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if msg.Model != "claude-opus-5-5" || msg.StopReason != "tool_use" {
		t.Fatalf("model %q stop %q", msg.Model, msg.StopReason)
	}
	if len(msg.Content) != 3 {
		t.Fatalf("content blocks = %d", len(msg.Content))
	}
	if msg.Content[0].Thinking != "Need the file." || msg.Content[0].Signature != "kirobar-sig" {
		t.Fatalf("thinking = %+v", msg.Content[0])
	}
	if msg.Content[1].Text != `I'll read "the" file.` {
		t.Fatalf("text = %q", msg.Content[1].Text)
	}
	tu := msg.Content[2]
	if tu.ID != "tooluse_Ab12" || tu.Name != "Read" || string(tu.Input) != `{"file_path":"/src/main.go"}` {
		t.Fatalf("tool = %+v input %s", tu, tu.Input)
	}
	if msg.Usage.OutputTokens != 14 || msg.Usage.InputTokens != 25000 {
		t.Fatalf("usage = %+v", msg.Usage)
	}
}

func TestFailMidStream(t *testing.T) {
	s := NewStream("msg_1", "m", 1)
	out := s.Fail(s.Begin(nil), &canon.StreamError{Type: "overloaded_error", Message: "upstream went away"})
	if !strings.Contains(string(out), "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"upstream went away\"}}") {
		t.Fatalf("got %s", out)
	}
}

func TestMessageBody(t *testing.T) {
	var c canon.Collector
	for _, ev := range toolTurn {
		c.Add(ev)
	}
	body := MessageBody(c.Response(), "msg_01", "claude-sonnet-4-5")
	var msg sdk.Message
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatal(err)
	}
	if msg.StopReason != "tool_use" || len(msg.Content) != 3 || msg.Content[2].Name != "Read" {
		t.Fatalf("body = %s", body)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"invalid json", `{"model":`, "invalid JSON"},
		{"wrong type", `{"model":"m","max_tokens":"many","messages":[]}`, "max_tokens: expected number"},
		{"no messages", `{"model":"m","max_tokens":5,"messages":[]}`, "messages: at least one message"},
		{"no model", `{"max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, "model: field required"},
		{"bad role", `{"model":"m","messages":[{"role":"tool","content":"hi"}]}`, "unexpected role"},
		{"content type", `{"model":"m","messages":[{"role":"user","content":5}]}`, "expected"},
		{"content object", `{"model":"m","messages":[{"role":"user","content":{"type":"text","text":"hi"}}]}`, "expected"},
		{"url image", `{"model":"m","messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"https://x/y.png"}}]}]}`, "image URLs are not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDecodeClaudeCodeShape(t *testing.T) {
	body := `{"model":"claude-opus-5-5","max_tokens":128000,"stream":true,
	"system":[{"type":"text","text":"You are Claude Code.","cache_control":{"type":"ephemeral"}}],
	"messages":[{"role":"user","content":[{"type":"text","text":"say hi"}]},{"role":"system","content":"env notes"}],
	"thinking":{"type":"adaptive","display":"omitted"},"output_config":{"effort":"medium"},
	"context_management":{"edits":[]},"metadata":{"user_id":"{\"session_id\":\"0b4445e1-f5be-49e1-87ce-62bbc28ad705\"}"},
	"tools":[{"name":"Bash","input_schema":{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object"},"defer_loading":true}]}`
	req, err := Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if !req.Stream || !req.ThinkingEnabled() || req.OutputConfig.Effort != "medium" || len(req.Messages) != 2 || req.System.Text("\n") != "You are Claude Code." || !req.Tools[0].DeferLoading {
		t.Fatalf("decoded %+v", req)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	f.Add([]byte(`{"model":"m","system":[{"type":"text","text":"s"}],"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"1","name":"x","input":{}}]}]}`))
	f.Add([]byte(`{"messages":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := Decode(body)
		if err != nil {
			var re *RequestError
			if !asRequestError(err, &re) {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		if req.Model == "" || len(req.Messages) == 0 {
			t.Fatalf("invalid request accepted: %s", body)
		}
		// The fast decoder must never accept what encoding/json rejects.
		if !json.Valid(body) {
			t.Fatalf("body encoding/json calls invalid was accepted: %q", body)
		}
	})
}

func asRequestError(err error, target **RequestError) bool {
	re, ok := err.(*RequestError)
	*target = re
	return ok
}
