package canon

// EventKind says what a stream Event means.
type EventKind uint8

// Stream event kinds. A well-formed stream is a sequence of block triples
// (BlockStart, BlockDelta*, BlockStop) with increasing indexes, then exactly
// one MessageStop. An Error may replace MessageStop when the upstream fails
// mid-stream.
const (
	BlockStart EventKind = iota + 1
	BlockDelta
	BlockStop
	MessageStop
	Error
)

// BlockKind is the type of a content block in the stream.
type BlockKind uint8

// Block kinds in a response stream.
const (
	TextBlock BlockKind = iota + 1
	ThinkingBlock
	ToolUseBlock
)

// Stop reasons, as the Messages API names them. Kiro's metadataEvent
// reports END_TURN, TOOL_USE, MAX_TOKENS, MODEL_CONTEXT_WINDOW_EXCEEDED and
// PAUSE_TURN, which map to the lowercase values, and CONTENT_FILTERED, which
// is the Messages API's "refusal" (aws/amazon-q-developer-cli:
// crates/amzn-codewhisperer-streaming-client/src/types/_stop_reason.rs).
const (
	StopEndTurn       = "end_turn"
	StopToolUse       = "tool_use"
	StopMaxTokens     = "max_tokens"
	StopSequence      = "stop_sequence"
	StopContextWindow = "model_context_window_exceeded"
	// StopPauseTurn: the model paused a long turn; the client sends the
	// response back as is to let it continue.
	StopPauseTurn = "pause_turn"
	// StopRefusal: the answer was stopped by the content policy.
	StopRefusal = "refusal"
)

// Event is one step of a canonical response stream. Surfaces encode it in
// their own wire format (Anthropic SSE, OpenAI chunks, Responses events).
type Event struct {
	Kind  EventKind
	Index int
	Block BlockKind

	// ID and Name are set on the BlockStart of a tool_use block; Name is the
	// client's original tool name (shortened names are mapped back).
	ID   string
	Name string

	// Delta is text, thinking text, or a fragment of tool input JSON.
	Delta string

	// Signature is set on the BlockStop of a thinking block.
	Signature string

	// Search is set on the BlockStart of a WebSearchResultBlock (ID is then
	// the server tool use it answers); Citation on a BlockDelta of a text
	// block that cites a search result (its Delta is empty).
	Search   *SearchOutcome
	Citation *Citation

	// StopReason and Usage are set on MessageStop.
	StopReason string
	Usage      Usage

	// Err is set on Error.
	Err *StreamError
}

// Usage is what the upstream reported, or kirobar estimated, for a response.
type Usage struct {
	InputTokens  int
	OutputTokens int
	// Credits is the sum of meteringEvent usage.
	Credits float64
	// ContextPercent is the last contextUsagePercentage seen, 0 if none.
	ContextPercent float64
	// InputExact is true when InputTokens came from the upstream rather
	// than from kirobar's estimate.
	InputExact bool
	// ServerToolUse counts the server tool calls; nil when the request
	// declared no server tool.
	ServerToolUse *ServerToolUsage `json:",omitempty"`
}

// StreamError is an upstream failure inside the response stream.
type StreamError struct {
	// Type is the Anthropic error type for an in-stream error event:
	// api_error, overloaded_error, invalid_request_error.
	Type    string
	Message string
	// Cause is the classified upstream failure behind it (a *kiro.Error for
	// an exception frame, the read or decode error otherwise), so the
	// request path can fail over and judge the account by what the
	// upstream said rather than by the client-facing type.
	Cause error
}

func (e *StreamError) Error() string { return e.Type + ": " + e.Message }
