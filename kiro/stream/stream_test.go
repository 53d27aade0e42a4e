package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"

	"github.com/kirobar/kirobar/canon"
)

// TestFirstBlockAndUsage checks that no block starts before content (the
// server commits the response status only at the first block) and that
// Usage reports estimates and exact values as they arrive.
func TestFirstBlockAndUsage(t *testing.T) {
	c := New(Options{InputEstimate: 42, ContextWindow: 1000})
	evs := c.Feed(nil, eventMsg(t, "meteringEvent", map[string]any{"usage": 0.5}))
	if len(evs) != 0 {
		t.Fatalf("metering produced %d events", len(evs))
	}
	if u := c.Usage(); u.InputTokens != 42 || u.InputExact || u.Credits != 0.5 {
		t.Fatalf("usage before context event = %+v", u)
	}
	// A tool call is buffered until stop:true: nothing is started yet.
	evs = c.Feed(evs, eventMsg(t, "toolUseEvent", map[string]any{"name": "Read", "toolUseId": "t1", "input": `{"a":1}`}))
	if len(evs) != 0 {
		t.Fatalf("unfinished tool call produced %d events", len(evs))
	}
	evs = c.Feed(evs, eventMsg(t, "toolUseEvent", map[string]any{"name": "Read", "toolUseId": "t1", "stop": true}))
	if len(evs) != 3 || evs[0].Kind != canon.BlockStart {
		t.Fatalf("finished tool call produced %v", evs)
	}
	c.Feed(evs, eventMsg(t, "contextUsageEvent", map[string]any{"contextUsagePercentage": 50}))
	if u := c.Usage(); u.InputTokens != 500 || !u.InputExact || u.ContextPercent != 50 || u.OutputTokens != 2 {
		t.Fatalf("usage after context event = %+v", u)
	}
}

// TestThinkingChunkingInvariant feeds the same answer split at every rune
// boundary pair and checks the thinking and text come out the same as when
// it arrives in one piece.
func TestThinkingChunkingInvariant(t *testing.T) {
	for _, text := range []string{
		"<thinking>\nPlan: `</thinking>` is a tag.\nDone.</thinking>\n\nAnswer 日本 ok",
		"  <thinking>a</thinking>\n\n",
		"<thinking>x </thinking> y\n</thinking>\n\nz",
		"<thinkin>not a tag",
		"<thinking>\n\"</thinking>\"\n\n</thinking>",
	} {
		want := splitResult(t, []string{text})
		var cuts []int
		for i := range text {
			cuts = append(cuts, i)
		}
		cuts = append(cuts, len(text))
		for _, a := range cuts {
			for _, b := range cuts {
				if b < a {
					continue
				}
				got := splitResult(t, []string{text[:a], text[a:b], text[b:]})
				if got != want {
					t.Fatalf("text %q cut at %d,%d:\ngot  %s\nwant %s", text, a, b, got, want)
				}
			}
		}
	}
}

// splitResult converts chunks with thinking on and describes the result as
// "kind:text" per block.
func splitResult(t *testing.T, chunks []string) string {
	t.Helper()
	c := New(Options{Thinking: true})
	var evs []canon.Event
	for _, s := range chunks {
		evs = c.Feed(evs, eventMsg(t, "assistantResponseEvent", map[string]any{"content": s}))
	}
	evs = c.Finish(evs, nil)
	if err := wellFormed(evs); err != nil {
		t.Fatalf("chunks %q: %v", chunks, err)
	}
	var col canon.Collector
	for _, ev := range evs {
		if ev.Kind == canon.BlockDelta && !utf8.ValidString(ev.Delta) {
			t.Fatalf("chunks %q: delta %q is not valid UTF-8", chunks, ev.Delta)
		}
		col.Add(ev)
	}
	var sb strings.Builder
	for _, b := range col.Response().Content {
		fmt.Fprintf(&sb, "%s:%q ", b.Type, b.Text+b.Thinking)
	}
	return sb.String() + col.Response().StopReason
}

func TestStreamError(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"deadline", fmt.Errorf("read: %w", context.DeadlineExceeded), "went silent"},
		{"net timeout", &net.OpError{Op: "read", Net: "tcp", Err: timeoutError{}}, "went silent"},
		{"canceled", context.Canceled, "canceled"},
		{"reset", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, "connection dropped"},
		{"short body", fmt.Errorf("decode frame: %w", io.ErrUnexpectedEOF), "connection dropped"},
		{"decode", errors.New("eventstream: prelude crc mismatch"), "stream was corrupt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			se := streamError(tc.err)
			if se.Type != "api_error" || !strings.Contains(se.Message, tc.want) {
				t.Fatalf("streamError(%v) = %+v, want api_error containing %q", tc.err, se, tc.want)
			}
			if len(se.Message) > maxErrorMessage+len("…") {
				t.Fatalf("message is %d bytes", len(se.Message))
			}
		})
	}
}

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdef", 3, "abc…"},
		{"日本語", 4, "日…"},
		{"日本語", 6, "日本…"},
	} {
		if got := clip(tc.in, tc.n); got != tc.want {
			t.Errorf("clip(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestEstimate(t *testing.T) {
	for _, tc := range []struct {
		text string
		tool int
		want int
	}{
		{"", 0, 0},
		{"abcd", 0, 1},
		{"abcde", 0, 2},
		{"日本語", 0, 2},   // ceil(3×2/3)
		{"日本語です", 0, 4}, // ceil(5×2/3)
		{"ab日本", 0, 3},  // ceil(2/4) + ceil(2×2/3)
		{"", 5, 2},      // (5+3)/4
	} {
		var e estimate
		e.addText(tc.text)
		if tc.tool > 0 {
			e.addTool(tc.tool)
		}
		if got := e.tokens(); got != tc.want {
			t.Errorf("estimate(%q, tool %d) = %d, want %d", tc.text, tc.tool, got, tc.want)
		}
	}
}

func TestSignatureDeterministic(t *testing.T) {
	a, b := fnvAdd(fnvOffset, "same thought"), fnvAdd(fnvOffset, "same thought")
	if signature(a) != signature(b) || !strings.HasPrefix(signature(a), "kirobar-") || len(signature(a)) != len("kirobar-")+16 {
		t.Fatalf("signature = %q / %q", signature(a), signature(b))
	}
	if signature(a) == signature(fnvAdd(fnvOffset, "other thought")) {
		t.Fatal("different thinking got the same signature")
	}
}

// TestNotes checks what the converter tells the flow record: a cut stream,
// a refusal with its explanation, an invalid state; and nothing for a
// stream that ended normally.
func TestNotes(t *testing.T) {
	text := func(s string) map[string]any { return map[string]any{"content": s} }
	for _, tc := range []struct {
		name   string
		frames [][2]any // event type, payload
		count  int      // notes expected
		want   []string // substrings of the notes
	}{
		{"complete", [][2]any{{"assistantResponseEvent", text("hi")}, {"metadataEvent", map[string]any{"stopReason": "END_TURN"}}}, 0, nil},
		{"builder id end", [][2]any{{"assistantResponseEvent", text("hi")}, {"contextUsageEvent", map[string]any{"contextUsagePercentage": 1}}}, 0, nil},
		{"cut text", [][2]any{{"assistantResponseEvent", text("hi")}}, 1, []string{"stream cut", "answer is incomplete"}},
		{"cut tool", [][2]any{{"toolUseEvent", map[string]any{"name": "Write", "toolUseId": "t1", "input": `{"a":`}}}, 1, []string{"stream cut", "tool call"}},
		{"empty", nil, 1, []string{"without sending anything"}},
		{"refusal", [][2]any{{"assistantResponseEvent", text("no")}, {"metadataEvent", map[string]any{
			"stopReason":  "CONTENT_FILTERED",
			"stopDetails": map[string]any{"refusal": map[string]any{"category": "bio", "explanation": "Not allowed.", "recommendedModel": "m2"}},
		}}}, 1, []string{"content policy (category bio): Not allowed.; it recommends the model m2"}},
		{"invalid state", [][2]any{{"invalidStateEvent", map[string]any{"reason": "INVALID_TASK_ASSIST_PLAN", "message": "bad plan"}},
			{"assistantResponseEvent", text("ok")}, {"meteringEvent", map[string]any{"usage": 0.1}}},
			1, []string{"invalid conversation state (INVALID_TASK_ASSIST_PLAN: bad plan)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New(Options{})
			var evs []canon.Event
			for _, f := range tc.frames {
				evs = c.Feed(evs, eventMsg(t, f[0].(string), f[1]))
			}
			c.Finish(evs, nil)
			notes := c.Notes()
			if len(notes) != tc.count {
				t.Fatalf("notes %q, want %d", notes, tc.count)
			}
			all := strings.Join(notes, "|")
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("notes %q do not contain %q", notes, w)
				}
			}
		})
	}
}
