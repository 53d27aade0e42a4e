package stream

import (
	"bytes"
	"errors"
	"testing"

	"github.com/kirobar/kirobar/kiro/eventstream"
)

// fuzzEventTypes are the event types a fuzzed frame can carry; the last
// entries exercise exception and error frames.
var fuzzEventTypes = []string{
	"assistantResponseEvent", "toolUseEvent", "reasoningContentEvent", "meteringEvent",
	"contextUsageEvent", "messageMetadataEvent", "metadataEvent", "followupPromptEvent", "unknownEvent",
	"!exception", "!error", "invalidStateEvent", "initial-response",
}

// fuzzFrames decodes fuzz input: frames separated by 0x00, the first byte of
// each selecting the event type, the rest being the payload.
func fuzzFrames(data []byte) []eventstream.Message {
	var frames []eventstream.Message
	for part := range bytes.SplitSeq(data, []byte{0}) {
		if len(part) == 0 {
			continue
		}
		typ := fuzzEventTypes[int(part[0])%len(fuzzEventTypes)]
		h := eventstream.Headers{{Name: eventstream.HeaderMessageType, Value: "event"}, {Name: eventstream.HeaderEventType, Value: typ}}
		switch typ {
		case "!exception":
			h = eventstream.Headers{{Name: eventstream.HeaderMessageType, Value: "exception"}, {Name: eventstream.HeaderExceptionType, Value: "ThrottlingException"}}
		case "!error":
			h = eventstream.Headers{{Name: eventstream.HeaderMessageType, Value: "error"}, {Name: eventstream.HeaderErrorCode, Value: "InternalFailure"}}
		}
		frames = append(frames, eventstream.Message{Headers: h, Payload: part[1:]})
	}
	return frames
}

func fuzzSeed(frames ...string) []byte {
	var b []byte
	for _, f := range frames {
		b = append(b, f...)
		b = append(b, 0)
	}
	return b
}

// FuzzConverter feeds arbitrary payload bytes under every event type and
// checks the output stays a well-formed canonical stream.
func FuzzConverter(f *testing.F) {
	f.Add(fuzzSeed("\x00{\"content\":\"I'll read the file.\"}", "\x01{\"name\":\"Read\",\"toolUseId\":\"t1\",\"input\":\"{\\\"a\\\":\"}",
		"\x01{\"name\":\"Read\",\"toolUseId\":\"t1\",\"input\":\"1}\",\"stop\":true}", "\x03{\"usage\":0.3}", "\x04{\"contextUsagePercentage\":12.5}"), false, uint8(0))
	f.Add(fuzzSeed("\x00{\"content\":\"<thinking>\\nhm\"}", "\x00{\"content\":\"</thinking>\\n\\nok\"}"), true, uint8(0))
	f.Add(fuzzSeed("\x01{\"name\":\"W\",\"toolUseId\":\"t\",\"input\":{}}", "\x01{\"name\":\"W\",\"toolUseId\":\"t\",\"input\":\"{\\\"x\\\":\\\"aaa\"}"), false, uint8(1))
	f.Add(fuzzSeed("\x00{\"content\":\"hi\"}", "\x09{\"message\":\"slow down\"}"), true, uint8(2))
	f.Add(fuzzSeed("\x05{\"tokenUsage\":{\"outputTokens\":3,\"uncachedInputTokens\":9}}", "\x02{\"text\":\"why\"}"), false, uint8(0))
	f.Add(fuzzSeed("\x00{\"__type\":\"x#ValidationException\",\"message\":\"bad\"}"), false, uint8(0))
	f.Add(fuzzSeed("\x0c{\"conversationId\":\"c\"}", "\x00{\"content\":\"a\"}", "\x00{\"content\":\"a\"}",
		"\x06{\"tokenUsage\":{\"outputTokens\":2.0},\"stopReason\":\"CONTENT_FILTERED\",\"stopDetails\":{\"refusal\":{\"category\":\"cyber\"}}}"), false, uint8(0))
	f.Add(fuzzSeed("\x0b{\"reason\":\"INVALID_TASK_ASSIST_PLAN\",\"message\":\"m\"}"), true, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, thinking bool, cause uint8) {
		var err error
		switch cause % 3 {
		case 1:
			err = timeoutError{}
		case 2:
			err = errors.New("eventstream: corrupt frame")
		}
		evs, _ := run(Options{Thinking: thinking, ContextWindow: 200000}, fuzzFrames(data), err)
		if werr := wellFormed(evs); werr != nil {
			t.Fatalf("malformed: %v\n%s", werr, dump(evs))
		}
	})
}
