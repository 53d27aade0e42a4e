package stream

import (
	"strings"
	"testing"

	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/kiro/eventstream"
)

// benchFrames is a long text answer in 200 frames followed by one tool call
// in 20 fragments and the closing metering and context events.
func benchFrames(b *testing.B) []eventstream.Message {
	var frames []eventstream.Message
	for i := range 200 {
		frames = append(frames, eventMsg(b, "assistantResponseEvent", map[string]any{
			"content": strings.Repeat("word ", 4) + string(rune('a'+i%26)) + "\n",
		}))
	}
	frames = append(frames, eventMsg(b, "toolUseEvent", map[string]any{"name": "Write", "toolUseId": "tooluse_bench", "input": ""}))
	frames = append(frames, eventMsg(b, "toolUseEvent", map[string]any{"name": "Write", "toolUseId": "tooluse_bench", "input": `{"path":"out.txt","content":"`}))
	for range 18 {
		frames = append(frames, eventMsg(b, "toolUseEvent", map[string]any{"name": "Write", "toolUseId": "tooluse_bench", "input": `line of file content\n`}))
	}
	frames = append(frames, eventMsg(b, "toolUseEvent", map[string]any{"name": "Write", "toolUseId": "tooluse_bench", "input": `"}`, "stop": true}))
	frames = append(frames, eventMsg(b, "meteringEvent", map[string]any{"unit": "credit", "usage": 0.5}))
	frames = append(frames, eventMsg(b, "contextUsageEvent", map[string]any{"contextUsagePercentage": 3.5}))
	return frames
}

func BenchmarkConvert(b *testing.B) {
	for _, thinking := range []bool{false, true} {
		name := "plain"
		if thinking {
			name = "thinking"
		}
		b.Run(name, func(b *testing.B) {
			frames := benchFrames(b)
			if thinking {
				frames[0] = eventMsg(b, "assistantResponseEvent", map[string]any{"content": "<thinking>\nplan the answer</thinking>\n\n"})
			}
			evs := make([]canon.Event, 0, 512)
			b.ReportAllocs()
			for b.Loop() {
				c := New(Options{Thinking: thinking, ContextWindow: 200000})
				evs = evs[:0]
				for _, m := range frames {
					evs = c.Feed(evs, m)
				}
				evs = c.Finish(evs, nil)
			}
			if err := wellFormed(evs); err != nil {
				b.Fatal(err)
			}
		})
	}
}
