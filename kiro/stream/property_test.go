package stream

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/kiro/eventstream"
)

// textPieces are fragments chosen to hit the thinking splitter's edges: tags
// split anywhere, quoted tags, newlines, multi-byte characters.
var textPieces = []string{
	"<thinking>", "<think", "ing>", "\n", "\n\n", "</thinking>", "</thin", "king>", "`</thinking>`",
	"\"</thinking>\"", "hello ", "world", "日本語", "é", "  ", "<", ">", "</", "A long chunk that Kiro may well send twice in a row, and both count.",
}

var toolPieces = []string{`{"path":`, `"a.go"}`, `{`, `}`, `"x"`, `:`, `,`, `{"k":[1,2,{"z":null}]}`, ``, `\`, `"\u00e9"`}

// randomFrames builds a random but plausible upstream sequence.
func randomFrames(tb testing.TB, r *rand.Rand) []eventstream.Message {
	n := r.IntN(30)
	var frames []eventstream.Message
	ids := []string{"tooluse_a", "tooluse_b", "tooluse_c", ""}
	for range n {
		switch r.IntN(15) {
		case 0, 1, 2, 3:
			frames = append(frames, eventMsg(tb, "assistantResponseEvent", map[string]any{"content": textPieces[r.IntN(len(textPieces))]}))
		case 4, 5, 6:
			p := map[string]any{"name": []string{"Read", "Write", ""}[r.IntN(3)], "toolUseId": ids[r.IntN(len(ids))]}
			switch r.IntN(4) {
			case 0:
				p["input"] = map[string]any{}
			case 1:
				p["input"] = map[string]any{"q": r.IntN(9)}
			default:
				p["input"] = toolPieces[r.IntN(len(toolPieces))]
			}
			if r.IntN(3) == 0 {
				p["stop"] = true
			}
			frames = append(frames, eventMsg(tb, "toolUseEvent", p))
		case 7:
			frames = append(frames, eventMsg(tb, "reasoningContentEvent", map[string]any{"text": textPieces[r.IntN(len(textPieces))]}))
		case 8:
			frames = append(frames, eventMsg(tb, "meteringEvent", map[string]any{"usage": r.Float64()}))
		case 9:
			frames = append(frames, eventMsg(tb, "contextUsageEvent", map[string]any{"contextUsagePercentage": r.Float64() * 120}))
		case 10:
			types := []string{"ContentLengthExceededException", "ThrottlingException", "InternalServerException"}
			frames = append(frames, eventstream.Message{
				Headers: eventstream.Headers{
					{Name: eventstream.HeaderMessageType, Value: "exception"},
					{Name: eventstream.HeaderExceptionType, Value: types[r.IntN(len(types))]},
				},
				Payload: []byte(`{"message":"m"}`),
			})
		case 12:
			stops := []string{"END_TURN", "TOOL_USE", "MAX_TOKENS", "MODEL_CONTEXT_WINDOW_EXCEEDED", "PAUSE_TURN", "CONTENT_FILTERED", "UNKNOWN", ""}
			frames = append(frames, eventMsg(tb, "metadataEvent", map[string]any{
				"tokenUsage": map[string]any{"uncachedInputTokens": r.IntN(5000), "outputTokens": r.IntN(500)},
				"stopReason": stops[r.IntN(len(stops))],
			}))
		case 13:
			frames = append(frames, eventMsg(tb, []string{"initial-response", "invalidStateEvent", "codeReferenceEvent"}[r.IntN(3)],
				map[string]any{"reason": "INVALID_TASK_ASSIST_PLAN", "message": "m"}))
		default:
			frames = append(frames, eventstream.Message{
				Headers: eventstream.Headers{{Name: eventstream.HeaderEventType, Value: "assistantResponseEvent"}},
				Payload: []byte(`{"content":"` + strconv.Itoa(r.IntN(100)) + `"`), // truncated JSON
			})
		}
	}
	return frames
}

func eventMsg(tb testing.TB, eventType string, payload any) eventstream.Message {
	tb.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		tb.Fatalf("marshal %s payload: %v", eventType, err)
	}
	return eventstream.Message{
		Headers: eventstream.Headers{
			{Name: eventstream.HeaderMessageType, Value: "event"},
			{Name: eventstream.HeaderEventType, Value: eventType},
		},
		Payload: b,
	}
}

// TestPropertyWellFormed runs thousands of random frame sequences, with and
// without thinking and with clean and failed ends, and checks every output
// is a well-formed canonical stream that the Collector can assemble.
func TestPropertyWellFormed(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	causes := []error{nil, nil, timeoutError{}, errors.New("eventstream: bad prelude")}
	for i := range 5000 {
		frames := randomFrames(t, r)
		opt := Options{Thinking: r.IntN(2) == 0, InputEstimate: 10, ContextWindow: 200000}
		cause := causes[r.IntN(len(causes))]
		evs, c := run(opt, frames, cause)
		if err := wellFormed(evs); err != nil {
			t.Fatalf("case %d: %v\nframes: %s\nevents:\n%s", i, err, framesString(frames), dump(evs))
		}
		var col canon.Collector
		for _, ev := range evs {
			col.Add(ev)
		}
		for _, b := range col.Response().Content {
			if b.Type == canon.BlockToolUse && !json.Valid(b.Input) {
				t.Fatalf("case %d: collected tool input %q invalid", i, b.Input)
			}
		}
		// Nothing may follow the terminal event.
		if more := c.Feed(nil, eventMsg(t, "assistantResponseEvent", map[string]any{"content": "late"})); len(more) != 0 {
			t.Fatalf("case %d: Feed after Finish produced %d events", i, len(more))
		}
		if more := c.Finish(nil, nil); len(more) != 0 {
			t.Fatalf("case %d: second Finish produced %d events", i, len(more))
		}
	}
}

// TestPropertyNoCleanEndWhenCut checks the stream-end rule on random
// sequences that end cleanly: a stream ends with end_turn only when an end
// event came (metadataEvent, meteringEvent, contextUsageEvent, or
// ContentLengthExceededException) or its last content was a tool call's
// stop:true. A cut stream never looks finished to the client.
func TestPropertyNoCleanEndWhenCut(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 5000 {
		frames := randomFrames(t, r)
		evs, _ := run(Options{Thinking: r.IntN(2) == 0, ContextWindow: 200000}, frames, nil)
		last := evs[len(evs)-1]
		if last.Kind != canon.MessageStop || last.StopReason != canon.StopEndTurn {
			continue
		}
		if !completeEvidence(frames) {
			t.Fatalf("case %d: end_turn without an end event\nframes: %s\nevents:\n%s", i, framesString(frames), dump(evs))
		}
	}
}

// completeEvidence reports whether frames carry what makes a stream
// complete (kiro-protocol.md §11.10).
func completeEvidence(frames []eventstream.Message) bool {
	toolEnded := false
	for _, m := range frames {
		if m.Headers.Get(eventstream.HeaderExceptionType) == "ContentLengthExceededException" {
			return true
		}
		switch m.Headers.Get(eventstream.HeaderEventType) {
		case "metadataEvent", "meteringEvent", "contextUsageEvent":
			return true
		case "assistantResponseEvent", "reasoningContentEvent":
			toolEnded = false
		case "toolUseEvent":
			var p struct {
				Stop bool `json:"stop"`
			}
			_ = json.Unmarshal(m.Payload, &p)
			toolEnded = p.Stop
		}
	}
	return toolEnded
}

// TestPropertyEveryDeltaDelivered checks that without thinking every text
// content reaches the client in order, repeats included: Kiro's events are
// pure deltas (kiro-protocol.md §11.10).
func TestPropertyEveryDeltaDelivered(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 2000 {
		var frames []eventstream.Message
		var want string
		for range r.IntN(20) {
			piece := textPieces[r.IntN(len(textPieces))]
			for range 1 + r.IntN(3) { // the same content up to three times in a row
				frames = append(frames, eventMsg(t, "assistantResponseEvent", map[string]any{"content": piece}))
				want += piece
			}
		}
		frames = append(frames, eventMsg(t, "contextUsageEvent", map[string]any{"contextUsagePercentage": 1}))
		evs, _ := run(Options{ContextWindow: 200000}, frames, nil)
		var col canon.Collector
		for _, ev := range evs {
			col.Add(ev)
		}
		got := ""
		for _, b := range col.Response().Content {
			got += b.Text
		}
		if got != want {
			t.Fatalf("case %d: text %q, want %q", i, got, want)
		}
	}
}

func framesString(frames []eventstream.Message) string {
	var s string
	for _, m := range frames {
		s += m.Headers.Get(eventstream.HeaderEventType) + m.Headers.Get(eventstream.HeaderExceptionType) + " " + string(m.Payload) + "\n"
	}
	return s
}
