package openai

import (
	"strconv"

	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/internal/jsonw"
)

// ChatStream encodes canonical stream events as Chat Completions chunks
// (data: {"object":"chat.completion.chunk",...}), exactly as OpenAI sends
// them: the role first, content and reasoning_content deltas, tool calls by
// index with id, type and name once and argument fragments after, a chunk
// with finish_reason, an optional usage chunk, then data: [DONE].
//
// Methods append to dst and return it, so the server can reuse one buffer.
// A ChatStream is not safe for concurrent use.
type ChatStream struct {
	opt    ChatOptions
	prefix []byte // data: {"id":...,"choices":[
	// blocks describes each started canonical block by index, so deltas
	// are routed by what their block is, not by what they claim to be.
	blocks   []chatBlock
	nTools   int
	finished bool
}

// NewChatStream starts an encoder for one response. id is the completion
// id (chatcmpl-...), model the name to report, created a Unix time.
func NewChatStream(id, model string, created int64, opt ChatOptions) *ChatStream {
	p := make([]byte, 0, 96+len(id)+len(model))
	p = append(p, `data: {"id":`...)
	p = jsonw.String(p, id)
	p = append(p, `,"object":"chat.completion.chunk","created":`...)
	p = strconv.AppendInt(p, created, 10)
	p = append(p, `,"model":`...)
	p = jsonw.String(p, model)
	p = append(p, `,"choices":[`...)
	return &ChatStream{opt: opt, prefix: p}
}

// Begin appends the first chunk, whose delta carries the role.
func (s *ChatStream) Begin(dst []byte) []byte {
	dst = s.open(dst)
	dst = append(dst, `{"role":"assistant","content":""}`...)
	return s.close(dst, "")
}

// Event appends the chunks for one canonical event; events with nothing to
// say on this surface (a text block's start, any block's stop) append
// nothing. After the stream ended it appends nothing.
func (s *ChatStream) Event(dst []byte, ev canon.Event) []byte {
	if s.finished {
		return dst
	}
	switch ev.Kind {
	case canon.BlockStart:
		if ev.Index < 0 {
			return dst
		}
		for len(s.blocks) <= ev.Index {
			s.blocks = append(s.blocks, chatBlock{})
		}
		if ev.Block != canon.ToolUseBlock {
			s.blocks[ev.Index] = chatBlock{kind: ev.Block}
			return dst
		}
		s.nTools++
		s.blocks[ev.Index] = chatBlock{kind: ev.Block, call: s.nTools - 1, custom: s.opt.Custom[ev.Name]}
		if s.blocks[ev.Index].custom {
			return s.customStart(dst, s.nTools-1, ev)
		}
		dst = s.open(dst)
		dst = append(dst, `{"tool_calls":[{"index":`...)
		dst = jsonw.Int(dst, s.nTools-1)
		dst = append(dst, `,"id":`...)
		dst = jsonw.String(dst, ev.ID)
		dst = append(dst, `,"type":"function","function":{"name":`...)
		dst = jsonw.String(dst, ev.Name)
		dst = append(dst, `,"arguments":""}}]}`...)
		return s.close(dst, "")
	case canon.BlockDelta:
		if ev.Delta == "" || ev.Index < 0 || ev.Index >= len(s.blocks) {
			return dst
		}
		b := &s.blocks[ev.Index]
		switch b.kind {
		case canon.ToolUseBlock:
			if b.custom {
				b.input = append(b.input, ev.Delta...)
				return dst
			}
			dst = s.open(dst)
			dst = append(dst, `{"tool_calls":[{"index":`...)
			dst = jsonw.Int(dst, b.call)
			dst = append(dst, `,"function":{"arguments":`...)
			dst = jsonw.String(dst, ev.Delta)
			dst = append(dst, `}}]}`...)
			return s.close(dst, "")
		case canon.ThinkingBlock:
			dst = s.open(dst)
			dst = append(dst, `{"reasoning_content":`...)
		case canon.TextBlock:
			dst = s.open(dst)
			dst = append(dst, `{"content":`...)
		default:
			return dst
		}
		dst = jsonw.String(dst, ev.Delta)
		dst = append(dst, '}')
		return s.close(dst, "")
	case canon.BlockStop:
		return s.customStop(dst, ev.Index)
	case canon.MessageStop:
		for i := range s.blocks {
			dst = s.customStop(dst, i)
		}
		s.finished = true
		dst = s.open(dst)
		dst = append(dst, `{}`...)
		dst = s.close(dst, finishReason(ev.StopReason, s.nTools > 0))
		if s.opt.IncludeUsage {
			dst = append(dst, s.prefix...)
			dst = append(dst, `],"usage":`...)
			dst = appendChatUsage(dst, ev.Usage)
			dst = append(dst, "}\n\n"...)
		}
		return append(dst, "data: [DONE]\n\n"...)
	case canon.Error:
		return s.Fail(dst, ev.Err)
	}
	return dst
}

// Ping appends an SSE comment that keeps the connection alive while the
// upstream is silent. It is a lone comment line, without the blank line
// that would dispatch an (empty) event some SDK decoders choke on.
func (s *ChatStream) Ping(dst []byte) []byte {
	return append(dst, ": ping\n"...)
}

// Fail appends an error mid-stream: a data: {"error":{...}} chunk, which the
// official SDKs raise as an error, then data: [DONE]. No finish_reason is
// sent, so a client cannot mistake the cut-off answer for a complete one.
func (s *ChatStream) Fail(dst []byte, e *canon.StreamError) []byte {
	if s.finished {
		return dst
	}
	s.finished = true
	msg := "upstream failed mid-stream"
	if e != nil && e.Message != "" {
		msg = e.Message
	}
	dst = append(dst, "data: "...)
	dst = appendErrorObject(dst, msg, streamErrorType(e), "", "")
	dst = append(dst, "\n\n"...)
	return append(dst, "data: [DONE]\n\n"...)
}

// chatBlock is a started canonical block; call is its tool call index.
// A custom tool call gathers its input JSON until the block stops.
type chatBlock struct {
	kind   canon.BlockKind
	call   int
	custom bool
	input  []byte
	done   bool
}

func (s *ChatStream) open(dst []byte) []byte {
	dst = append(dst, s.prefix...)
	return append(dst, `{"index":0,"delta":`...)
}

// close ends a chunk opened with open; an empty finish is null.
func (s *ChatStream) close(dst []byte, finish string) []byte {
	dst = append(dst, `,"logprobs":null,"finish_reason":`...)
	dst = appendNullableString(dst, finish)
	dst = append(dst, `}]`...)
	if s.opt.IncludeUsage {
		dst = append(dst, `,"usage":null`...)
	}
	return append(dst, "}\n\n"...)
}

// finishReason maps a canonical stop reason to OpenAI's finish_reason.
func finishReason(stop string, toolCalls bool) string {
	switch stop {
	case canon.StopToolUse:
		return "tool_calls"
	case canon.StopMaxTokens, canon.StopContextWindow:
		return "length"
	case canon.StopRefusal:
		return "content_filter"
	}
	if toolCalls && stop == canon.StopEndTurn {
		return "tool_calls"
	}
	return "stop"
}

// appendChatUsage appends a Chat Completions usage object.
func appendChatUsage(dst []byte, u canon.Usage) []byte {
	dst = append(dst, `{"prompt_tokens":`...)
	dst = jsonw.Int(dst, u.InputTokens)
	dst = append(dst, `,"completion_tokens":`...)
	dst = jsonw.Int(dst, u.OutputTokens)
	dst = append(dst, `,"total_tokens":`...)
	dst = jsonw.Int(dst, u.InputTokens+u.OutputTokens)
	return append(dst, `,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}`...)
}
