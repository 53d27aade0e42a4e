package openai

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/openai/openai-go/packages/ssestream"
	"github.com/openai/openai-go/responses"

	"github.com/kirobar/kirobar/canon"
)

func testResponsesOptions() ResponsesOptions {
	return ResponsesOptions{
		Stream:            true,
		ParallelToolCalls: true,
		ToolChoice:        json.RawMessage(`"auto"`),
		ReasoningSummary:  "auto",
		Namespaced: map[string]NamespacedTool{
			"spawn_agent": {Namespace: "multi_agent_v1", Name: "spawn_agent"},
			"exec":        {Namespace: "functions", Name: "exec"},
			"sleep":       {Namespace: "clock", Name: "sleep"},
		},
		Custom: map[string]bool{"exec": true},
	}
}

func newTestResponsesStream() *ResponsesStream {
	return NewResponsesStream("resp_kb1", "gpt-5", 1760000000, testResponsesOptions())
}

func TestResponsesStreamGolden(t *testing.T) {
	for _, tc := range streamCases() {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, "responses_stream_"+tc.name+".sse", encodeAll(newTestResponsesStream(), tc.events))
		})
	}
}

// responsesParse is what a client learns from a Responses stream.
type responsesParse struct {
	types     []string
	text      strings.Builder
	reasoning strings.Builder
	args      map[string]string // item id -> arguments from the deltas
	done      []responses.ResponseOutputItemUnion
	doneRaw   []string
	final     responses.Response
	finalType string
}

func parseResponses(t *testing.T, body []byte) responsesParse {
	t.Helper()
	p := responsesParse{args: map[string]string{}}
	stream := ssestream.NewStream[responses.ResponseStreamEventUnion](ssestream.NewDecoder(sseResponse(body)), nil)
	for stream.Next() {
		ev := stream.Current()
		if int(ev.SequenceNumber) != len(p.types) {
			t.Fatalf("event %d (%s) has sequence_number %d", len(p.types), ev.Type, ev.SequenceNumber)
		}
		p.types = append(p.types, ev.Type)
		switch ev.Type {
		case "response.output_text.delta":
			p.text.WriteString(ev.AsResponseOutputTextDelta().Delta)
		case "response.reasoning_summary_text.delta":
			p.reasoning.WriteString(ev.AsResponseReasoningSummaryTextDelta().Delta)
		case "response.function_call_arguments.delta":
			d := ev.AsResponseFunctionCallArgumentsDelta()
			p.args[d.ItemID] += d.Delta
		case "response.function_call_arguments.done":
			d := ev.AsResponseFunctionCallArgumentsDone()
			if p.args[d.ItemID] != d.Arguments && !(p.args[d.ItemID] == "" && d.Arguments == "{}") {
				t.Errorf("arguments.done %q != deltas %q", d.Arguments, p.args[d.ItemID])
			}
		case "response.output_item.done":
			item := ev.AsResponseOutputItemDone().Item
			p.done = append(p.done, item)
			p.doneRaw = append(p.doneRaw, item.RawJSON())
		case "response.completed":
			p.final, p.finalType = ev.AsResponseCompleted().Response, ev.Type
		case "response.incomplete":
			p.final, p.finalType = ev.AsResponseIncomplete().Response, ev.Type
		case "response.failed":
			p.final, p.finalType = ev.AsResponseFailed().Response, ev.Type
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream error: %v", err)
	}
	return p
}

func TestResponsesStreamParsesWithSDK(t *testing.T) {
	for _, tc := range []struct {
		name      string
		types     []string
		text      string
		reasoning string
		final     string
		status    string
		errCode   string
		outputs   int
	}{
		{name: "text", types: []string{
			"response.created", "response.in_progress",
			"response.output_item.added", "response.content_part.added",
			"response.output_text.delta", "response.output_text.delta",
			"response.output_text.done", "response.content_part.done", "response.output_item.done",
			"response.completed",
		}, text: "Hello, \"world\" <3\n", final: "response.completed", status: "completed", outputs: 1},
		{name: "tools", types: []string{
			"response.created", "response.in_progress",
			"response.output_item.added", "response.content_part.added", "response.output_text.delta",
			"response.output_text.done", "response.content_part.done", "response.output_item.done",
			"response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
			"response.function_call_arguments.done", "response.output_item.done",
			"response.output_item.added", "response.function_call_arguments.delta",
			"response.function_call_arguments.done", "response.output_item.done",
			"response.completed",
		}, text: "I'll look.", final: "response.completed", status: "completed", outputs: 3},
		{name: "thinking", types: []string{
			"response.created", "response.in_progress",
			"response.output_item.added", "response.reasoning_summary_part.added",
			"response.reasoning_summary_text.delta", "response.reasoning_summary_text.delta",
			"response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done",
			"response.output_item.added", "response.content_part.added", "response.output_text.delta",
			"response.output_text.done", "response.content_part.done", "response.output_item.done",
			"response.completed",
		}, text: "Hi!", reasoning: "The user wants a greeting.", final: "response.completed", status: "completed", outputs: 2},
		{name: "max_tokens", text: "Once upon a", final: "response.incomplete", status: "incomplete", outputs: 1},
		{name: "failure", text: "Partial", final: "response.failed", status: "failed", errCode: "server_error", outputs: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var events []canon.Event
			for _, c := range streamCases() {
				if c.name == tc.name {
					events = c.events
				}
			}
			p := parseResponses(t, encodeAll(newTestResponsesStream(), events))
			if tc.types != nil && strings.Join(p.types, " ") != strings.Join(tc.types, " ") {
				t.Errorf("event order:\n got %v\nwant %v", p.types, tc.types)
			}
			if p.text.String() != tc.text {
				t.Errorf("text = %q, want %q", p.text.String(), tc.text)
			}
			if p.reasoning.String() != tc.reasoning {
				t.Errorf("reasoning = %q, want %q", p.reasoning.String(), tc.reasoning)
			}
			if p.finalType != tc.final || string(p.final.Status) != tc.status {
				t.Fatalf("final = %s status %q, want %s %q", p.finalType, p.final.Status, tc.final, tc.status)
			}
			if p.final.ID != "resp_kb1" || p.final.Model != "gpt-5" {
				t.Errorf("final response id/model = %q %q", p.final.ID, p.final.Model)
			}
			if string(p.final.Error.Code) != tc.errCode {
				t.Errorf("error code = %q, want %q", p.final.Error.Code, tc.errCode)
			}
			if len(p.final.Output) != tc.outputs {
				t.Errorf("final output items = %d, want %d", len(p.final.Output), tc.outputs)
			}
			if tc.status != "failed" {
				u := p.final.Usage
				if u.InputTokens != 120 || u.OutputTokens != 17 || u.TotalTokens != 137 {
					t.Errorf("usage = %+v", u)
				}
				if !p.final.Usage.JSON.InputTokensDetails.Valid() || !p.final.Usage.JSON.OutputTokensDetails.Valid() {
					t.Error("usage lacks the details objects Codex reads")
				}
			}
			if tc.status == "incomplete" && p.final.IncompleteDetails.Reason != "max_output_tokens" {
				t.Errorf("incomplete reason = %q", p.final.IncompleteDetails.Reason)
			}
		})
	}
}

func TestResponsesStreamFunctionCalls(t *testing.T) {
	p := parseResponses(t, encodeAll(newTestResponsesStream(), streamCases()[1].events))
	if len(p.done) != 3 {
		t.Fatalf("items done = %d", len(p.done))
	}
	msg := p.done[0].AsMessage()
	if msg.ID != "msg_kb1_0" || len(msg.Content) != 1 || msg.Content[0].Text != "I'll look." {
		t.Errorf("message item = %s", p.doneRaw[0])
	}
	for i, want := range []struct{ id, callID, name, args, namespace string }{
		{"fc_kb1_1", "tooluse_A1", "exec_command", `{"cmd":"ls -la"}`, ""},
		{"fc_kb1_2", "tooluse_B2", "spawn_agent", `{"message":"audit"}`, "multi_agent_v1"},
	} {
		fc := p.done[i+1].AsFunctionCall()
		if fc.ID != want.id || fc.CallID != want.callID || fc.Name != want.name || fc.Arguments != want.args || fc.Status != "completed" {
			t.Errorf("call %d = %s", i, p.doneRaw[i+1])
		}
		// Codex reads the namespace of a namespaced call from the item.
		var raw struct {
			Namespace string `json:"namespace"`
		}
		if err := json.Unmarshal([]byte(p.doneRaw[i+1]), &raw); err != nil {
			t.Fatal(err)
		}
		if raw.Namespace != want.namespace {
			t.Errorf("call %d namespace = %q, want %q", i, raw.Namespace, want.namespace)
		}
	}
	// The completed response repeats the items with the same ids.
	if len(p.final.Output) != 3 || p.final.Output[2].AsFunctionCall().ID != "fc_kb1_2" {
		t.Errorf("final output = %+v", p.final.Output)
	}
}

func TestResponsesStreamContextWindow(t *testing.T) {
	s := newTestResponsesStream()
	out := s.Begin(nil)
	out = s.Event(out, canon.Event{Kind: canon.MessageStop, StopReason: canon.StopContextWindow})
	p := parseResponses(t, out)
	if p.finalType != "response.failed" || p.final.Error.Code != CodeContextLengthExceeded {
		t.Fatalf("final = %s %q", p.finalType, p.final.Error.Code)
	}
}

func TestResponsesStreamClosesOpenItems(t *testing.T) {
	s := newTestResponsesStream()
	out := s.Begin(nil)
	out = s.Event(out, canon.Event{Kind: canon.BlockStart, Index: 0, Block: canon.ToolUseBlock, ID: "t1", Name: "exec_command"})
	out = s.Event(out, canon.Event{Kind: canon.MessageStop, StopReason: canon.StopToolUse})
	p := parseResponses(t, out)
	if len(p.done) != 1 || p.done[0].AsFunctionCall().Arguments != "{}" {
		t.Fatalf("unclosed call not finished with {} arguments: %v", p.doneRaw)
	}
	if got := s.Event(nil, canon.Event{Kind: canon.BlockDelta, Index: 0, Delta: "x"}); len(got) != 0 {
		t.Errorf("event after the end wrote %s", got)
	}
	if got := s.Fail(nil, nil); len(got) != 0 {
		t.Errorf("Fail after the end wrote %s", got)
	}
}

func TestResponsesStreamIgnoresStrayEvents(t *testing.T) {
	s := newTestResponsesStream()
	for _, ev := range []canon.Event{
		{Kind: canon.BlockDelta, Index: 3, Delta: "no start"},
		{Kind: canon.BlockStop, Index: 7},
		{Kind: canon.BlockStart, Index: -1, Block: canon.TextBlock},
	} {
		if got := s.Event(nil, ev); len(got) != 0 {
			t.Errorf("stray event %+v wrote %s", ev, got)
		}
	}
}

func BenchmarkResponsesStream(b *testing.B) {
	events := streamCases()[1].events
	opt := testResponsesOptions()
	buf := make([]byte, 0, 16384)
	b.ReportAllocs()
	for b.Loop() {
		s := NewResponsesStream("resp_kb1", "gpt-5", 1760000000, opt)
		buf = s.Begin(buf[:0])
		for _, ev := range events {
			buf = s.Event(buf[:0], ev)
		}
	}
}
