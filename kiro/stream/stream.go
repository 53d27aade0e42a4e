// Package stream converts Kiro's upstream event-stream frames into kirobar's
// canonical stream events (canon), which every client surface then
// encodes in its own wire format.
//
// The Converter is a pure state machine: Feed and Finish do no I/O and never
// block, so the server can drive it from its read loop and tests can drive it
// from literal frames.
//
// Decisions that differ between the public proxies, and the one taken here:
//
//   - Tool calls are buffered until their stop:true frame and delivered as
//     one start, one delta with the complete input JSON, one stop. Only
//     validated JSON objects reach the client; a tool call the upstream cut
//     off becomes a plain text notice and stop reason max_tokens (see
//     Converter.Finish), never a tool_use with broken or empty input.
//   - Identical consecutive assistantResponseEvent contents are all
//     delivered: Kiro sends pure deltas and the official client concatenates
//     them (kiro-protocol.md §11.10), so a repeat is real text.
//   - A stream is complete when a metadataEvent, a meteringEvent or a
//     contextUsageEvent arrived, or when its last content was a tool call
//     closed by stop:true (kiro-protocol.md §11.10: accounts differ in which
//     of these they send). A stream with content that ends without any of
//     them was cut: it ends with an Error, or with max_tokens and a notice
//     when a tool call was cut off, never with a clean end_turn.
//   - Tool calls are deduplicated by toolUseId only: two calls with the same
//     name and arguments but distinct ids are two calls the model meant.
//   - Thinking blocks get a placeholder signature (see signature): Kiro gives
//     none, and no verifiable one can exist.
package stream

import (
	"bytes"

	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/kiro/eventstream"
)

// Options configures one conversion; they come from the request that was sent
// upstream.
type Options struct {
	// Thinking says thinking tags were injected into the request: the model
	// then writes <thinking>…</thinking> at the start of its text, which is
	// split into a thinking block. Without it, text passes through verbatim.
	Thinking bool
	// ToolNames maps a Kiro tool name to the client's original name (names
	// longer than Kiro allows are shortened on the way up).
	ToolNames map[string]string
	// InputEstimate is kirobar's estimate of the input tokens, used when the
	// upstream reports neither contextUsagePercentage nor token counts.
	InputEstimate int
	// ContextWindow is the model's context window in tokens, used to turn
	// contextUsagePercentage into input tokens.
	ContextWindow int
}

// Converter turns the frames of one upstream response into canonical events.
// It is not safe for concurrent use; one response is read by one goroutine.
type Converter struct {
	opt Options

	next      int // index of the next block
	open      bool
	openKind  canon.BlockKind
	openIndex int
	done      bool // MessageStop or Error was emitted

	sawText     bool // a text block was emitted
	sawThinking bool // a thinking block was emitted
	thinkHash   uint64

	think   thinkState
	scratch []byte // decoded strings of the current frame
	idBuf   []byte // decoded toolUseId of the current frame

	tools    []*toolCall         // buffered calls without stop:true, in arrival order
	finished map[string]struct{} // toolUseIds delivered or given up, for dedupe
	nTools   int                 // tool_use blocks delivered
	nAnon    int                 // tool calls that arrived without a toolUseId

	stopOverride string // max_tokens after truncation or ContentLengthExceeded
	upstreamStop string // metadataEvent's stop reason, mapped; "" when none or unknown

	// End-of-stream evidence (kiro-protocol.md §11.10).
	sawContent bool   // a text, reasoning or tool frame arrived
	ended      bool   // metadataEvent, meteringEvent or contextUsageEvent arrived
	toolEnded  bool   // the last content frame was a tool call's stop:true
	invalid    string // the invalidStateEvent's reason and message; "" when none came
	notes      []string

	usage       canon.Usage
	outputExact bool
	inputFromMD bool // input tokens came from messageMetadataEvent
	est         estimate
}

// New returns a Converter for one upstream response.
func New(opt Options) *Converter {
	return &Converter{opt: opt}
}

// Usage returns the usage as known so far: exact counts where the upstream
// sent them, estimates otherwise.
func (c *Converter) Usage() canon.Usage {
	u := c.usage
	if !c.outputExact {
		u.OutputTokens = c.est.tokens()
	}
	if !u.InputExact {
		u.InputTokens = c.opt.InputEstimate
	}
	return u
}

// Feed converts one upstream frame into zero or more canonical events,
// appended to dst. Frames after the stream ended (an Error was emitted or
// Finish was called) are ignored.
func (c *Converter) Feed(dst []canon.Event, m eventstream.Message) []canon.Event {
	if c.done {
		return dst
	}
	switch m.Headers.Get(eventstream.HeaderMessageType) {
	case "exception":
		return c.exceptionFrame(dst, m.Headers.Get(eventstream.HeaderExceptionType), m)
	case "error":
		return c.exceptionFrame(dst, m.Headers.Get(eventstream.HeaderErrorCode), m)
	}
	if isValidationPayload(m.Payload) {
		return c.exceptionFrame(dst, "", m)
	}
	switch m.Headers.Get(eventstream.HeaderEventType) {
	case "assistantResponseEvent":
		return c.assistantResponse(dst, m.Payload)
	case "toolUseEvent":
		return c.toolUse(dst, m.Payload)
	case "reasoningContentEvent":
		return c.reasoning(dst, m.Payload)
	case "meteringEvent":
		c.metering(m.Payload)
	case "contextUsageEvent":
		c.contextUsage(m.Payload)
	case "metadataEvent":
		c.metadata(m.Payload, true)
	case "messageMetadataEvent":
		// Officially {conversationId, utteranceId}, sent before the
		// answer; some deployments put tokenUsage in it. It ends nothing.
		c.metadata(m.Payload, false)
	case "invalidStateEvent":
		c.invalidState(m.Payload)
	case "initial-response":
		// awsJson streams (the runtime host) open with the operation's
		// initial response, {"conversationId":…}; it carries no answer.
	}
	// Other event types (codeReferenceEvent, citationEvent, …) carry no
	// answer text and are ignored, as the official client does for the
	// events it does not show.
	return dst
}

// Finish ends the stream. cause is nil at a clean end of the upstream body,
// else the read or decode error.
//
// At a clean end of a complete stream it closes open blocks in order and
// settles the buffered tool calls: a call whose stop:true never came is
// still delivered when its input is a complete, valid JSON object (the
// upstream just omitted the stop frame); otherwise the client gets a text
// block saying the upstream cut off the call after N bytes of arguments and
// that it was not run, and the stop reason becomes max_tokens, so the model
// retries in smaller pieces instead of running a tool with broken or empty
// input.
//
// A clean end without the end events of a complete stream (see the package
// comment) means the upstream cut it. With a tool call cut off it ends as
// above (max_tokens and the notice); otherwise it ends with an Error saying
// the answer is incomplete, and an empty stream ends with an Error too, so
// the server can try another account. Notes records the cut for the flow.
//
// The stop reason is, in order: the metadataEvent's MAX_TOKENS,
// MODEL_CONTEXT_WINDOW_EXCEEDED, PAUSE_TURN or CONTENT_FILTERED (refusal);
// max_tokens after a truncation, ContentLengthExceededException or a
// thinking block that never ended; model_context_window_exceeded when
// contextUsagePercentage reached 100 and no stop reason came; tool_use when
// a tool call was delivered; else end_turn.
//
// With a non-nil cause it closes open blocks, delivers only tool calls whose
// input is complete, and appends an Error instead of MessageStop.
func (c *Converter) Finish(dst []canon.Event, cause error) []canon.Event {
	if c.done {
		return dst
	}
	if cause != nil {
		return c.fail(dst, streamError(cause))
	}
	switch {
	case !c.sawContent && c.invalid != "":
		// The official client only logs an invalidStateEvent, but a stream
		// that brought nothing else has no answer to give.
		return c.fail(dst, &canon.StreamError{Type: "api_error", Message: "the upstream reported an invalid conversation state and sent no answer (" + c.invalid + ")"})
	case c.ended || c.toolEnded:
	case !c.sawContent:
		c.note("stream cut: the upstream ended the response without sending anything")
		return c.fail(dst, &canon.StreamError{Type: "api_error", Message: "the upstream ended the response without sending anything; please retry"})
	case c.toolCut():
		c.note("stream cut: the upstream ended the stream in the middle of a tool call, without metadataEvent, meteringEvent or contextUsageEvent")
	default:
		c.note("stream cut: the upstream ended the stream without metadataEvent, meteringEvent or contextUsageEvent; the answer is incomplete")
		return c.fail(dst, &canon.StreamError{Type: "api_error", Message: "the upstream cut the stream before the answer was complete; please retry"})
	}
	dst = c.flushThinking(dst, true)
	dst = c.settleTools(dst, true)
	if c.sawThinking && !c.sawText && c.nTools == 0 {
		// A response of only a thinking block is rejected or shown empty by
		// clients; one space keeps it a valid message.
		dst = c.emitPlain(dst, canon.TextBlock, " ")
	}
	dst = c.closeBlock(dst)
	c.done = true
	return append(dst, canon.Event{
		Kind:       canon.MessageStop,
		StopReason: c.stopReason(),
		Usage:      c.Usage(),
	})
}

// exceptionFrame handles an exception or error frame. One that does not end
// the stream (ContentLengthExceededException: the output reached Kiro's
// limit) is the upstream saying why the answer stops, so it counts as an
// end event.
func (c *Converter) exceptionFrame(dst []canon.Event, kind string, m eventstream.Message) []canon.Event {
	dst = c.exception(dst, kind, m)
	if !c.done {
		c.ended = true
	}
	return dst
}

// Notes returns what the flow record should say about the stream beyond
// its events: that the upstream cut it, refused under its content policy,
// or reported an invalid state.
func (c *Converter) Notes() []string { return c.notes }

func (c *Converter) note(s string) { c.notes = append(c.notes, s) }

// toolCut reports whether a buffered tool call's arguments are incomplete:
// the stream was cut in the middle of the call.
func (c *Converter) toolCut() bool {
	for _, tc := range c.tools {
		args := bytes.TrimSpace(tc.input)
		if len(args) == 0 || !validInput(args) {
			return true
		}
	}
	return false
}

// fail ends the stream with an Error after closing what is open. Buffered
// tool calls are delivered only when their input is already complete.
func (c *Converter) fail(dst []canon.Event, se *canon.StreamError) []canon.Event {
	dst = c.flushThinking(dst, false)
	dst = c.settleTools(dst, false)
	dst = c.closeBlock(dst)
	c.done = true
	return append(dst, canon.Event{Kind: canon.Error, Err: se})
}

func (c *Converter) stopReason() string {
	switch c.upstreamStop {
	case canon.StopMaxTokens, canon.StopContextWindow, canon.StopPauseTurn, canon.StopRefusal:
		// The model's own account of why it stopped wins over inference.
		return c.upstreamStop
	}
	switch {
	case c.stopOverride != "":
		return c.stopOverride
	case c.think.cut && c.nTools == 0:
		return canon.StopMaxTokens
	case c.upstreamStop == "" && c.usage.ContextPercent >= 100:
		return canon.StopContextWindow
	case c.nTools > 0:
		// Also when the metadataEvent said END_TURN: the client must run
		// the calls it got. And TOOL_USE without a delivered call (all
		// were cut) is not tool_use for the client.
		return canon.StopToolUse
	}
	return canon.StopEndTurn
}

// openBlock closes the open block, if any, and starts a new one.
func (c *Converter) openBlock(dst []canon.Event, kind canon.BlockKind, id, name string) []canon.Event {
	dst = c.closeBlock(dst)
	c.open, c.openKind, c.openIndex = true, kind, c.next
	c.next++
	switch kind {
	case canon.TextBlock:
		c.sawText = true
	case canon.ThinkingBlock:
		c.sawThinking = true
		c.thinkHash = fnvOffset
	}
	return append(dst, canon.Event{Kind: canon.BlockStart, Index: c.openIndex, Block: kind, ID: id, Name: name})
}

// closeBlock stops the open block, if any.
func (c *Converter) closeBlock(dst []canon.Event) []canon.Event {
	if !c.open {
		return dst
	}
	c.open = false
	ev := canon.Event{Kind: canon.BlockStop, Index: c.openIndex, Block: c.openKind}
	if c.openKind == canon.ThinkingBlock {
		ev.Signature = signature(c.thinkHash)
	}
	return append(dst, ev)
}

// emitPlain appends s to a block of kind, opening one if the open block is of
// another kind. Empty strings produce nothing.
func (c *Converter) emitPlain(dst []canon.Event, kind canon.BlockKind, s string) []canon.Event {
	if s == "" {
		return dst
	}
	if !c.open || c.openKind != kind {
		dst = c.openBlock(dst, kind, "", "")
	}
	if kind == canon.ThinkingBlock {
		c.thinkHash = fnvAdd(c.thinkHash, s)
	}
	return append(dst, canon.Event{Kind: canon.BlockDelta, Index: c.openIndex, Block: kind, Delta: s})
}

// emitModel is emitPlain for text the model wrote: it counts toward the
// output token estimate.
func (c *Converter) emitModel(dst []canon.Event, kind canon.BlockKind, s string) []canon.Event {
	c.est.addText(s)
	return c.emitPlain(dst, kind, s)
}
