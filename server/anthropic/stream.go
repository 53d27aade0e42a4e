package anthropic

import (
	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/internal/jsonw"
)

// Stream encodes canonical events as Messages API server-sent events. It
// appends to caller-owned buffers so one buffer serves a whole response.
type Stream struct {
	id, model     string
	inputEstimate int
}

// NewStream returns an encoder for one response. inputEstimate is the
// input token count message_start reports before the upstream has said;
// message_delta carries the final figure.
func NewStream(id, model string, inputEstimate int) *Stream {
	return &Stream{id: id, model: model, inputEstimate: inputEstimate}
}

// Begin appends message_start.
func (s *Stream) Begin(dst []byte) []byte {
	dst = append(dst, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":"...)
	dst = jsonw.String(dst, s.id)
	dst = append(dst, `,"type":"message","role":"assistant","model":`...)
	dst = jsonw.String(dst, s.model)
	dst = append(dst, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":`...)
	dst = jsonw.Int(dst, s.inputEstimate)
	dst = append(dst, `,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}`+"\n\n"...)
	return dst
}

// Event appends the events for one canonical event.
func (s *Stream) Event(dst []byte, ev canon.Event) []byte {
	switch ev.Kind {
	case canon.BlockStart:
		dst = append(dst, "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":"...)
		dst = jsonw.Int(dst, ev.Index)
		switch ev.Block {
		case canon.ThinkingBlock:
			dst = append(dst, `,"content_block":{"type":"thinking","thinking":"","signature":""}}`...)
		case canon.ToolUseBlock:
			dst = append(dst, `,"content_block":{"type":"tool_use","id":`...)
			dst = jsonw.String(dst, ev.ID)
			dst = append(dst, `,"name":`...)
			dst = jsonw.String(dst, ev.Name)
			dst = append(dst, `,"input":{}}}`...)
		case canon.ServerToolUseBlock: // web search (websearch.go)
			dst = appendServerToolUseStart(dst, ev)
		case canon.WebSearchResultBlock:
			dst = appendSearchResultStart(dst, ev)
		default:
			dst = append(dst, `,"content_block":{"type":"text","text":""}}`...)
		}
		return append(dst, "\n\n"...)
	case canon.BlockDelta:
		if ev.Citation != nil {
			return appendCitationDelta(dst, ev.Index, ev.Citation)
		}
		dst = append(dst, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":"...)
		dst = jsonw.Int(dst, ev.Index)
		switch ev.Block {
		case canon.ThinkingBlock:
			dst = append(dst, `,"delta":{"type":"thinking_delta","thinking":`...)
		case canon.ToolUseBlock, canon.ServerToolUseBlock:
			dst = append(dst, `,"delta":{"type":"input_json_delta","partial_json":`...)
		default:
			dst = append(dst, `,"delta":{"type":"text_delta","text":`...)
		}
		dst = jsonw.String(dst, ev.Delta)
		return append(dst, "}}\n\n"...)
	case canon.BlockStop:
		if ev.Block == canon.ThinkingBlock && ev.Signature != "" {
			dst = append(dst, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":"...)
			dst = jsonw.Int(dst, ev.Index)
			dst = append(dst, `,"delta":{"type":"signature_delta","signature":`...)
			dst = jsonw.String(dst, ev.Signature)
			dst = append(dst, "}}\n\n"...)
		}
		dst = append(dst, "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":"...)
		dst = jsonw.Int(dst, ev.Index)
		return append(dst, "}\n\n"...)
	case canon.MessageStop:
		dst = append(dst, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"...)
		dst = jsonw.String(dst, stopReason(ev.StopReason))
		dst = append(dst, `,"stop_sequence":null},"usage":{"input_tokens":`...)
		dst = jsonw.Int(dst, ev.Usage.InputTokens)
		dst = append(dst, `,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":`...)
		dst = jsonw.Int(dst, ev.Usage.OutputTokens)
		dst = appendServerToolUsage(dst, ev.Usage)
		dst = append(dst, "}}\n\n"...)
		return append(dst, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"...)
	case canon.Error:
		return s.Fail(dst, ev.Err)
	}
	return dst
}

// Ping appends a ping event; clients ignore it, and writing it is how
// kirobar notices a client that hung up while the upstream was silent.
func (s *Stream) Ping(dst []byte) []byte {
	return append(dst, "event: ping\ndata: {\"type\":\"ping\"}\n\n"...)
}

// Fail appends an in-stream error event, used once the response has begun.
func (s *Stream) Fail(dst []byte, e *canon.StreamError) []byte {
	typ, msg := "api_error", "the upstream stream failed"
	if e != nil {
		typ, msg = e.Type, e.Message
	}
	dst = append(dst, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"...)
	dst = jsonw.String(dst, typ)
	dst = append(dst, `,"message":`...)
	dst = jsonw.String(dst, msg)
	return append(dst, "}}\n\n"...)
}

func stopReason(r string) string {
	if r == "" {
		return canon.StopEndTurn
	}
	return r
}
