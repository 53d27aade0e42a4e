package kirofake

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"
	"unicode/utf8"
)

// Reply is what one generation call answers. A zero Status streams Events
// with status 200; any other Status sends Body as an error response.
type Reply struct {
	Status         int
	Body           string
	Header         map[string]string
	Events         []Event
	FirstByteDelay time.Duration // stall before the status line and headers
}

// Event is one frame of a generation stream, or a scripted disturbance.
type Event struct {
	// Type is the :event-type (assistantResponseEvent, toolUseEvent,
	// reasoningContentEvent, meteringEvent, contextUsageEvent,
	// messageMetadataEvent, followupPromptEvent, ...).
	Type string
	// Payload is marshalled to JSON as the frame payload.
	Payload any
	// Exception, when set, makes the frame an exception frame
	// (:message-type exception) with this :exception-type.
	Exception string
	// Raw, when set, is written verbatim instead of an encoded frame: corrupt
	// frames, garbage, or hand-built frames.
	Raw []byte
	// Delay stalls before this event is written.
	Delay time.Duration
	// Gate, when non-nil, holds this event back until the channel is closed,
	// so a test can observe the stream between two frames without timing.
	Gate <-chan struct{}
	// CloseAfter resets the connection right after this event is written.
	CloseAfter bool
}

// Encode returns the bytes the fake writes for e: Raw verbatim, else one
// event-stream frame.
func (e Event) Encode() ([]byte, error) {
	if e.Raw != nil {
		return e.Raw, nil
	}
	payload, err := json.Marshal(e.Payload)
	if err != nil {
		return nil, fmt.Errorf("encode %s payload: %w", e.Type, err)
	}
	if e.Exception != "" {
		return EncodeFrame([]Header{
			{Name: ":exception-type", Value: e.Exception},
			{Name: ":content-type", Value: "application/json"},
			{Name: ":message-type", Value: "exception"},
		}, payload)
	}
	return EncodeFrame([]Header{
		{Name: ":event-type", Value: e.Type},
		{Name: ":content-type", Value: "application/json"},
		{Name: ":message-type", Value: "event"},
	}, payload)
}

// Payload types. Field order matches what the service sends; JSON key order
// is not part of the contract, but a stable order keeps test bytes stable.

type textPayload struct {
	Content string `json:"content"`
}

type toolUsePayload struct {
	Name      string  `json:"name"`
	ToolUseID string  `json:"toolUseId"`
	Input     *string `json:"input,omitempty"`
	Stop      bool    `json:"stop,omitempty"`
}

type meteringPayload struct {
	Unit       string  `json:"unit"`
	UnitPlural string  `json:"unitPlural"`
	Usage      float64 `json:"usage"`
}

type contextUsagePayload struct {
	ContextUsagePercentage float64 `json:"contextUsagePercentage"`
}

type reasoningPayload struct {
	Text string `json:"text"`
}

type tokenUsage struct {
	OutputTokens          int `json:"outputTokens"`
	UncachedInputTokens   int `json:"uncachedInputTokens"`
	CacheReadInputTokens  int `json:"cacheReadInputTokens"`
	CacheWriteInputTokens int `json:"cacheWriteInputTokens"`
}

type metadataPayload struct {
	TokenUsage tokenUsage `json:"tokenUsage"`
}

// tokenUsageFull is the official TokenUsage (aws/amazon-q-developer-cli:
// crates/amzn-codewhisperer-streaming-client/src/types/_token_usage.rs).
type tokenUsageFull struct {
	UncachedInputTokens   int  `json:"uncachedInputTokens"`
	OutputTokens          int  `json:"outputTokens"`
	TotalTokens           int  `json:"totalTokens"`
	CacheReadInputTokens  *int `json:"cacheReadInputTokens,omitempty"`
	CacheWriteInputTokens *int `json:"cacheWriteInputTokens,omitempty"`
}

// finalMetadataPayload is the official MetadataEvent{tokenUsage,
// stopReason, stopDetails} (_metadata_event.rs, _stop_reason.rs,
// _stop_details.rs).
type finalMetadataPayload struct {
	TokenUsage  *tokenUsageFull `json:"tokenUsage,omitempty"`
	StopReason  string          `json:"stopReason,omitempty"`
	StopDetails *stopDetails    `json:"stopDetails,omitempty"`
}

type stopDetails struct {
	Refusal *refusalDetails `json:"refusal,omitempty"`
}

type refusalDetails struct {
	Category         string `json:"category,omitempty"`
	Explanation      string `json:"explanation,omitempty"`
	RecommendedModel string `json:"recommendedModel,omitempty"`
}

type invalidStatePayload struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

type initialResponsePayload struct {
	ConversationID string `json:"conversationId"`
}

type messagePayload struct {
	Message string `json:"message"`
}

// Text splits s into chunks assistantResponseEvents (at rune boundaries, so
// each payload is valid UTF-8), the way the model's answer streams.
func Text(s string, chunks int) []Event {
	parts := split(s, chunks)
	events := make([]Event, 0, len(parts))
	for _, p := range parts {
		events = append(events, Event{Type: "assistantResponseEvent", Payload: textPayload{Content: p}})
	}
	return events
}

// ToolCall streams one complete tool call like the service: a first frame
// with input "", the input JSON in fragments, and a last frame with
// "stop":true.
func ToolCall(id, name, inputJSON string, fragments int) []Event {
	events := TruncatedToolCall(id, name, inputJSON, fragments)
	return append(events, Event{Type: "toolUseEvent", Payload: toolUsePayload{Name: name, ToolUseID: id, Stop: true}})
}

// TruncatedToolCall streams a tool call that the service cut off: the first
// frame and the fragments of inputJSON (pass a prefix of the real input), but
// no "stop":true frame. Replies built with it should end without any end
// event (metadataEvent, meteringEvent, contextUsageEvent), as truncated
// upstream streams do (jwadow/kiro-gateway#56).
func TruncatedToolCall(id, name, inputJSON string, fragments int) []Event {
	empty := ""
	events := []Event{{Type: "toolUseEvent", Payload: toolUsePayload{Name: name, ToolUseID: id, Input: &empty}}}
	if inputJSON == "" {
		return events
	}
	for _, p := range split(inputJSON, fragments) {
		events = append(events, Event{Type: "toolUseEvent", Payload: toolUsePayload{Name: name, ToolUseID: id, Input: &p}})
	}
	return events
}

// Thinking streams an answer the way the model writes emulated reasoning:
// "<thinking>thought</thinking>\n\nanswer" in assistantResponseEvents, split
// so that the tags straddle frames.
func Thinking(thought, answer string) []Event {
	full := "<thinking>" + thought + "</thinking>\n\n" + answer
	chunks := max(4, utf8.RuneCountInString(full)/8)
	return Text(full, chunks)
}

// Reasoning is a native reasoningContentEvent with the {"text":...} payload.
// For the {"content":...} variant some sources report, build the Event by
// hand with a map payload.
func Reasoning(text string) Event {
	return Event{Type: "reasoningContentEvent", Payload: reasoningPayload{Text: text}}
}

// Metering is the meteringEvent that reports the credits a call spent. The
// fake adds the credits to the account's usage as the event is sent.
func Metering(credits float64) Event {
	return Event{Type: "meteringEvent", Payload: meteringPayload{Unit: "credit", UnitPlural: "credits", Usage: credits}}
}

// ContextUsage is the contextUsageEvent that, with meteringEvent, ends a
// complete stream.
func ContextUsage(pct float64) Event {
	return Event{Type: "contextUsageEvent", Payload: contextUsagePayload{ContextUsagePercentage: pct}}
}

// MessageMetadata is a messageMetadataEvent carrying real token counts.
func MessageMetadata(inputTokens, outputTokens int) Event {
	return Event{Type: "messageMetadataEvent", Payload: metadataPayload{TokenUsage: tokenUsage{
		OutputTokens:        outputTokens,
		UncachedInputTokens: inputTokens,
	}}}
}

// Metadata is the metadataEvent that ends a complete stream on most
// accounts, with the model's stop reason: END_TURN, TOOL_USE, MAX_TOKENS,
// MODEL_CONTEXT_WINDOW_EXCEEDED, PAUSE_TURN, CONTENT_FILTERED or UNKNOWN
// (crates/amzn-codewhisperer-streaming-client/src/types/_stop_reason.rs).
func Metadata(stopReason string) Event {
	return Event{Type: "metadataEvent", Payload: finalMetadataPayload{StopReason: stopReason}}
}

// MetadataUsage is Metadata with the token counts the service reports.
func MetadataUsage(stopReason string, uncachedInput, output int) Event {
	return Event{Type: "metadataEvent", Payload: finalMetadataPayload{
		StopReason: stopReason,
		TokenUsage: &tokenUsageFull{UncachedInputTokens: uncachedInput, OutputTokens: output, TotalTokens: uncachedInput + output},
	}}
}

// Refusal is the metadataEvent of an answer stopped by the content policy:
// CONTENT_FILTERED with the refusal details.
func Refusal(category, explanation, recommendedModel string) Event {
	return Event{Type: "metadataEvent", Payload: finalMetadataPayload{
		StopReason:  "CONTENT_FILTERED",
		StopDetails: &stopDetails{Refusal: &refusalDetails{Category: category, Explanation: explanation, RecommendedModel: recommendedModel}},
	}}
}

// InvalidState is an invalidStateEvent (reason INVALID_TASK_ASSIST_PLAN in
// the official model, _invalid_state_event.rs).
func InvalidState(reason, message string) Event {
	return Event{Type: "invalidStateEvent", Payload: invalidStatePayload{Reason: reason, Message: message}}
}

// InitialResponse is the first frame of an awsJson event stream, carrying
// the operation's output members; the fake sends it on every runtime-style
// stream by itself.
func InitialResponse(conversationID string) Event {
	return Event{Type: "initial-response", Payload: initialResponsePayload{ConversationID: conversationID}}
}

// Exception is an in-stream exception frame with payload {"message":msg}
// (for example ContentLengthExceededException, ThrottlingException).
func Exception(typ, msg string) Event {
	return Event{Exception: typ, Payload: messagePayload{Message: msg}}
}

// ErrorFrame is an in-stream frame with :message-type error, :error-code
// and :error-message headers and an empty payload.
func ErrorFrame(code, msg string) Event {
	b, err := EncodeFrame([]Header{
		{Name: ":error-code", Value: code},
		{Name: ":error-message", Value: msg},
		{Name: ":message-type", Value: "error"},
	}, nil)
	if err != nil {
		// Only absurdly long codes or messages fail; send them as garbage so
		// the stream still shows something is wrong.
		return Garbage(32)
	}
	return Event{Raw: b}
}

// CorruptCRC returns ev encoded with a wrong message CRC, keeping its Delay,
// Gate and CloseAfter. A decoder must reject the frame, not deliver it.
func CorruptCRC(ev Event) Event {
	b, err := ev.Encode()
	if err != nil || len(b) < messageCRCLen {
		return Event{Raw: Garbage(32).Raw, Delay: ev.Delay, Gate: ev.Gate, CloseAfter: ev.CloseAfter}
	}
	b = append([]byte(nil), b...)
	b[len(b)-1] ^= 0xff
	return Event{Raw: b, Delay: ev.Delay, Gate: ev.Gate, CloseAfter: ev.CloseAfter}
}

// Garbage is n bytes that are not a frame. They are deterministic and
// include '{' and '"' so that text-scanning parsers are tempted.
func Garbage(n int) Event {
	r := rand.New(rand.NewPCG(0x6b69726f, uint64(n)))
	b := make([]byte, n)
	for i := range b {
		if i%7 == 3 {
			b[i] = "{\"}"[i%3]
			continue
		}
		b[i] = byte(r.Uint32())
	}
	return Event{Raw: b}
}

// split cuts s into at most n pieces of near-equal rune count, never
// splitting a rune. It returns at least one piece.
func split(s string, n int) []string {
	runes := utf8.RuneCountInString(s)
	if n < 1 {
		n = 1
	}
	if n > runes {
		n = max(runes, 1)
	}
	parts := make([]string, 0, n)
	per, extra := runes/n, runes%n
	rest := s
	for i := range n {
		want := per
		if i < extra {
			want++
		}
		cut := 0
		for k := 0; k < want && cut < len(rest); k++ {
			_, size := utf8.DecodeRuneInString(rest[cut:])
			cut += size
		}
		if i == n-1 {
			cut = len(rest)
		}
		parts = append(parts, rest[:cut])
		rest = rest[cut:]
	}
	return parts
}
