package openai

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/openai/openai-go"
	"github.com/openai/openai-go/packages/ssestream"

	"github.com/kirobar/kirobar/canon"
)

func newTestChatStream() *ChatStream {
	return NewChatStream("chatcmpl-kb1", "claude-sonnet-4.5", 1760000000, testChatOptions())
}

func TestChatStreamGolden(t *testing.T) {
	for _, tc := range streamCases() {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, "chat_stream_"+tc.name+".sse", encodeAll(newTestChatStream(), tc.events))
		})
	}
}

// chatParse reads a stream the way an openai-go client does.
type chatParse struct {
	acc       openai.ChatCompletionAccumulator
	reasoning strings.Builder
	chunks    int
	usageOnly int // chunks with no choices (the include_usage chunk)
	err       error
}

func parseChat(t *testing.T, body []byte) chatParse {
	t.Helper()
	var p chatParse
	stream := ssestream.NewStream[openai.ChatCompletionChunk](ssestream.NewDecoder(sseResponse(body)), nil)
	for stream.Next() {
		chunk := stream.Current()
		p.chunks++
		if !p.acc.AddChunk(chunk) {
			t.Fatalf("accumulator rejected chunk %d: %s", p.chunks, chunk.RawJSON())
		}
		if len(chunk.Choices) == 0 {
			p.usageOnly++
			continue
		}
		if f, ok := chunk.Choices[0].Delta.JSON.ExtraFields["reasoning_content"]; ok {
			var s string
			if err := json.Unmarshal([]byte(f.Raw()), &s); err != nil {
				t.Fatalf("reasoning_content %s: %v", f.Raw(), err)
			}
			p.reasoning.WriteString(s)
		}
	}
	p.err = stream.Err()
	return p
}

func TestChatStreamParsesWithSDK(t *testing.T) {
	for _, tc := range []struct {
		name      string
		content   string
		reasoning string
		finish    string
		tools     []string // name:arguments
		errText   string
	}{
		{name: "text", content: "Hello, \"world\" <3\n", finish: "stop"},
		{name: "tools", content: "I'll look.", finish: "tool_calls", tools: []string{
			`tooluse_A1 exec_command {"cmd":"ls -la"}`, `tooluse_B2 spawn_agent {"message":"audit"}`,
		}},
		{name: "thinking", content: "Hi!", reasoning: "The user wants a greeting.", finish: "stop"},
		{name: "max_tokens", content: "Once upon a", finish: "length"},
		{name: "failure", content: "Partial", errText: "upstream stream ended without messageStopEvent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var events []canon.Event
			for _, c := range streamCases() {
				if c.name == tc.name {
					events = c.events
				}
			}
			p := parseChat(t, encodeAll(newTestChatStream(), events))
			if tc.errText != "" {
				if p.err == nil || !strings.Contains(p.err.Error(), tc.errText) {
					t.Fatalf("stream error = %v, want one containing %q", p.err, tc.errText)
				}
			} else if p.err != nil {
				t.Fatalf("stream error: %v", p.err)
			}
			if len(p.acc.Choices) != 1 {
				t.Fatalf("choices = %d", len(p.acc.Choices))
			}
			ch := p.acc.Choices[0]
			if ch.Message.Content != tc.content {
				t.Errorf("content = %q, want %q", ch.Message.Content, tc.content)
			}
			if ch.Message.Role != "assistant" {
				t.Errorf("role = %q", ch.Message.Role)
			}
			if got := p.reasoning.String(); got != tc.reasoning {
				t.Errorf("reasoning = %q, want %q", got, tc.reasoning)
			}
			if string(ch.FinishReason) != tc.finish {
				t.Errorf("finish_reason = %q, want %q", ch.FinishReason, tc.finish)
			}
			var tools []string
			for _, c := range ch.Message.ToolCalls {
				tools = append(tools, c.ID+" "+c.Function.Name+" "+c.Function.Arguments)
			}
			if strings.Join(tools, "|") != strings.Join(tc.tools, "|") {
				t.Errorf("tool calls = %q, want %q", tools, tc.tools)
			}
			if tc.errText == "" {
				if p.usageOnly != 1 {
					t.Errorf("usage chunks = %d, want 1", p.usageOnly)
				}
				u := p.acc.Usage
				if u.PromptTokens != 120 || u.CompletionTokens != 17 || u.TotalTokens != 137 {
					t.Errorf("usage = %+v", u)
				}
			}
		})
	}
}

func TestChatStreamShape(t *testing.T) {
	events := streamCases()[1].events // text then two tool calls
	out := string(encodeAll(NewChatStream("id", "m", 1, ChatOptions{}), events))
	lines := strings.Split(strings.TrimSuffix(out, "\n\n"), "\n\n")
	if lines[0] != `data: {"id":"id","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}` {
		t.Errorf("first chunk = %s", lines[0])
	}
	if last := lines[len(lines)-1]; last != "data: [DONE]" {
		t.Errorf("last line = %q", last)
	}
	if strings.Contains(out, `"usage"`) {
		t.Error("usage sent without stream_options.include_usage")
	}
	// The id, type and name of a call come once, in its first chunk.
	if n := strings.Count(out, `"id":"tooluse_A1"`); n != 1 {
		t.Errorf("tool id sent %d times", n)
	}
	if !strings.Contains(out, `{"tool_calls":[{"index":1,"id":"tooluse_B2","type":"function","function":{"name":"spawn_agent","arguments":""}}]}`) {
		t.Error("second tool call does not start at index 1 with its id and name")
	}
	if !strings.Contains(out, `{"tool_calls":[{"index":0,"function":{"arguments":"\"ls -la\"}"}}]}`) {
		t.Error("argument fragment not sent by index")
	}
}

func TestChatStreamAfterEnd(t *testing.T) {
	s := newTestChatStream()
	out := s.Event(nil, canon.Event{Kind: canon.MessageStop, StopReason: canon.StopEndTurn})
	if !strings.HasSuffix(string(out), "data: [DONE]\n\n") {
		t.Fatalf("stop did not end with [DONE]: %s", out)
	}
	for _, ev := range []canon.Event{
		{Kind: canon.BlockDelta, Index: 0, Delta: "late"},
		{Kind: canon.MessageStop},
		{Kind: canon.Error, Err: &canon.StreamError{Type: "api_error", Message: "x"}},
	} {
		if got := s.Event(nil, ev); len(got) != 0 {
			t.Errorf("event %v after the end wrote %s", ev.Kind, got)
		}
	}
	if got := s.Fail(nil, nil); len(got) != 0 {
		t.Errorf("Fail after the end wrote %s", got)
	}
}

func TestChatStreamFailTypes(t *testing.T) {
	for _, tc := range []struct {
		err  *canon.StreamError
		want string
	}{
		{&canon.StreamError{Type: "overloaded_error", Message: "busy"}, `data: {"error":{"message":"busy","type":"server_error","param":null,"code":null}}`},
		{&canon.StreamError{Type: "invalid_request_error", Message: "bad"}, `data: {"error":{"message":"bad","type":"invalid_request_error","param":null,"code":null}}`},
		{nil, `data: {"error":{"message":"upstream failed mid-stream","type":"server_error","param":null,"code":null}}`},
	} {
		got := string(newTestChatStream().Fail(nil, tc.err))
		if got != tc.want+"\n\ndata: [DONE]\n\n" {
			t.Errorf("Fail(%v) = %q", tc.err, got)
		}
	}
}

func BenchmarkChatStream(b *testing.B) {
	events := streamCases()[1].events
	buf := make([]byte, 0, 8192)
	b.ReportAllocs()
	for b.Loop() {
		s := NewChatStream("chatcmpl-kb1", "claude-sonnet-4.5", 1760000000, ChatOptions{IncludeUsage: true})
		buf = s.Begin(buf[:0])
		for _, ev := range events {
			buf = s.Event(buf[:0], ev)
		}
	}
}

func TestChatStreamIgnoresStrayEvents(t *testing.T) {
	s := newTestChatStream()
	for _, ev := range []canon.Event{
		{Kind: canon.BlockDelta, Index: 2, Block: canon.TextBlock, Delta: "no start"},
		{Kind: canon.BlockDelta, Index: -1, Block: canon.TextBlock, Delta: "negative"},
		{Kind: canon.BlockStart, Index: -1, Block: canon.ToolUseBlock, ID: "x", Name: "f"},
		{Kind: canon.BlockStop, Index: 9},
		{Kind: canon.BlockStart, Index: 0, Block: canon.TextBlock},
		{Kind: canon.BlockDelta, Index: 0, Block: canon.TextBlock},
	} {
		if got := s.Event(nil, ev); len(got) != 0 {
			t.Errorf("event %+v wrote %s", ev, got)
		}
	}
	// A delta is routed by the block it belongs to, whatever it claims.
	s.Event(nil, canon.Event{Kind: canon.BlockStart, Index: 1, Block: canon.ThinkingBlock})
	got := string(s.Event(nil, canon.Event{Kind: canon.BlockDelta, Index: 1, Delta: "hmm"}))
	if !strings.Contains(got, `"delta":{"reasoning_content":"hmm"}`) {
		t.Errorf("thinking delta = %s", got)
	}
}
