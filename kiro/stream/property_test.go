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
	"\"</thinking>\"", "hello ", "world", "日本語", "é", "  ", "<", ">", "</", "This chunk is long enough to be deduplicated by the rule.",
}

var toolPieces = []string{`{"path":`, `"a.go"}`, `{`, `}`, `"x"`, `:`, `,`, `{"k":[1,2,{"z":null}]}`, ``, `\`, `"\u00e9"`}

// randomFrames builds a random but plausible upstream sequence.
func randomFrames(tb testing.TB, r *rand.Rand) []eventstream.Message {
	n := r.IntN(30)
	var frames []eventstream.Message
	ids := []string{"tooluse_a", "tooluse_b", "tooluse_c", ""}
	for range n {
		switch r.IntN(12) {
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
		if c.Started() != hasBlock(evs) {
			t.Fatalf("case %d: Started() = %v, events have blocks = %v", i, c.Started(), hasBlock(evs))
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

func hasBlock(evs []canon.Event) bool {
	for _, ev := range evs {
		if ev.Kind == canon.BlockStart {
			return true
		}
	}
	return false
}

func framesString(frames []eventstream.Message) string {
	var s string
	for _, m := range frames {
		s += m.Headers.Get(eventstream.HeaderEventType) + m.Headers.Get(eventstream.HeaderExceptionType) + " " + string(m.Payload) + "\n"
	}
	return s
}
