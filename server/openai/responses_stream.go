package openai

import (
	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/internal/jsonw"
)

// ResponsesStream encodes canonical stream events as Responses API events
// (event: response.output_text.delta / data: {...}), in the order and with
// the fields OpenAI sends and Codex reads: response.created and
// response.in_progress, then per output item output_item.added, its part
// and delta events, their .done events and output_item.done, and finally
// response.completed (or response.incomplete / response.failed) carrying
// the whole response with usage. Every event has a type and a
// sequence_number counting from 0.
//
// Methods append to dst and return it. A ResponsesStream is not safe for
// concurrent use.
type ResponsesStream struct {
	resp responseState
	seq  int
	// byIndex maps a canonical block index to its item position plus one.
	byIndex  []int
	finished bool
}

// NewResponsesStream starts an encoder for one response. id is the
// response id (resp_...), model the name to report, created a Unix time.
func NewResponsesStream(id, model string, created int64, opt ResponsesOptions) *ResponsesStream {
	return &ResponsesStream{resp: newResponseState(id, model, created, opt)}
}

// Begin appends response.created and response.in_progress.
func (s *ResponsesStream) Begin(dst []byte) []byte {
	for _, typ := range []string{"response.created", "response.in_progress"} {
		dst = s.head(dst, typ)
		dst = append(dst, `,"response":`...)
		dst = s.resp.appendResponse(dst, responseEnd{status: statusInProgress})
		dst = s.tail(dst)
	}
	return dst
}

// Event appends the events for one canonical event.
func (s *ResponsesStream) Event(dst []byte, ev canon.Event) []byte {
	if s.finished {
		return dst
	}
	switch ev.Kind {
	case canon.BlockStart:
		return s.start(dst, ev)
	case canon.BlockDelta:
		return s.delta(dst, ev)
	case canon.BlockStop:
		if it, _ := s.item(ev.Index); it != nil && it.kind == canon.ServerToolUseBlock {
			return dst // searching: its result block finishes it
		}
		return s.stop(dst, ev.Index)
	case canon.MessageStop:
		for i := range s.byIndex {
			dst = s.stop(dst, i)
		}
		s.finished = true
		end := endFor(ev.StopReason, ev.Usage)
		typ := "response.completed"
		switch end.status {
		case statusIncomplete:
			typ = "response.incomplete"
		case statusFailed:
			typ = "response.failed"
		}
		return s.final(dst, typ, end)
	case canon.Error:
		return s.Fail(dst, ev.Err)
	}
	return dst
}

// Ping appends an SSE comment line that keeps the connection alive.
func (s *ResponsesStream) Ping(dst []byte) []byte {
	return append(dst, ": ping\n"...)
}

// Fail appends response.failed with the error; items that were finished
// stay in its output. Codex reads error.code and retries unless the code
// says the request itself cannot succeed.
func (s *ResponsesStream) Fail(dst []byte, e *canon.StreamError) []byte {
	if s.finished {
		return dst
	}
	s.finished = true
	return s.final(dst, "response.failed", failEnd(e))
}

func (s *ResponsesStream) final(dst []byte, typ string, end responseEnd) []byte {
	dst = s.head(dst, typ)
	dst = append(dst, `,"response":`...)
	dst = s.resp.appendResponse(dst, end)
	return s.tail(dst)
}

// item is the open item of a canonical block, nil if none.
func (s *ResponsesStream) item(index int) (*outItem, int) {
	if index < 0 || index >= len(s.byIndex) || s.byIndex[index] == 0 {
		return nil, 0
	}
	pos := s.byIndex[index] - 1
	return &s.resp.items[pos], pos
}

func (s *ResponsesStream) start(dst []byte, ev canon.Event) []byte {
	if ev.Index < 0 {
		return dst
	}
	if it, _ := s.item(ev.Index); it != nil {
		return dst
	}
	if ev.Block == canon.WebSearchResultBlock {
		return s.searchResult(dst, ev)
	}
	for len(s.byIndex) <= ev.Index {
		s.byIndex = append(s.byIndex, 0)
	}
	pos := s.resp.newItem(ev.Block, ev.ID, ev.Name)
	s.byIndex[ev.Index] = pos + 1
	it := &s.resp.items[pos]
	if it.kind == canon.ServerToolUseBlock {
		return dst // announced with its query (responses_websearch.go)
	}

	dst = s.itemAdded(dst, it, pos)
	switch it.kind {
	case canon.TextBlock:
		dst = s.itemHead(dst, "response.content_part.added", it, pos)
		dst = append(dst, `,"content_index":0,"part":`...)
		dst = appendTextPart(dst, nil, nil)
		dst = s.tail(dst)
	case canon.ThinkingBlock:
		dst = s.itemHead(dst, "response.reasoning_summary_part.added", it, pos)
		dst = append(dst, `,"summary_index":0,"part":`...)
		dst = appendSummaryPart(dst, nil)
		dst = s.tail(dst)
	}
	return dst
}

func (s *ResponsesStream) delta(dst []byte, ev canon.Event) []byte {
	if ev.Citation != nil {
		return s.annotate(dst, ev)
	}
	it, pos := s.item(ev.Index)
	if it == nil || it.done || ev.Delta == "" {
		return dst
	}
	if it.kind == canon.ServerToolUseBlock {
		return s.searchQuery(dst, it, pos, ev.Delta)
	}
	it.text = append(it.text, ev.Delta...)
	if it.custom {
		return dst // the free-form input is sent whole once the call is complete
	}
	switch it.kind {
	case canon.TextBlock:
		dst = s.itemHead(dst, "response.output_text.delta", it, pos)
		dst = append(dst, `,"content_index":0,"delta":`...)
		dst = jsonw.String(dst, ev.Delta)
		dst = append(dst, `,"logprobs":[]`...)
	case canon.ThinkingBlock:
		dst = s.itemHead(dst, "response.reasoning_summary_text.delta", it, pos)
		dst = append(dst, `,"summary_index":0,"delta":`...)
		dst = jsonw.String(dst, ev.Delta)
	default:
		dst = s.itemHead(dst, "response.function_call_arguments.delta", it, pos)
		dst = append(dst, `,"delta":`...)
		dst = jsonw.String(dst, ev.Delta)
	}
	return s.tail(dst)
}

func (s *ResponsesStream) stop(dst []byte, index int) []byte {
	it, pos := s.item(index)
	if it == nil || it.done {
		return dst
	}
	it.done = true
	switch it.kind {
	case canon.TextBlock:
		dst = s.itemHead(dst, "response.output_text.done", it, pos)
		dst = append(dst, `,"content_index":0,"text":`...)
		dst = jsonw.String(dst, string(it.text))
		dst = append(dst, `,"logprobs":[]`...)
		dst = s.tail(dst)
		dst = s.itemHead(dst, "response.content_part.done", it, pos)
		dst = append(dst, `,"content_index":0,"part":`...)
		dst = appendTextPart(dst, it.text, it.annotations)
		dst = s.tail(dst)
	case canon.ServerToolUseBlock:
		it.failed = true // the response ended before its result
		dst = s.announce(dst, it, pos)
		return s.itemDone(dst, it, pos)
	case canon.ThinkingBlock:
		dst = s.itemHead(dst, "response.reasoning_summary_text.done", it, pos)
		dst = append(dst, `,"summary_index":0,"text":`...)
		dst = jsonw.String(dst, string(it.text))
		dst = s.tail(dst)
		dst = s.itemHead(dst, "response.reasoning_summary_part.done", it, pos)
		dst = append(dst, `,"summary_index":0,"part":`...)
		dst = appendSummaryPart(dst, it.text)
		dst = s.tail(dst)
	default:
		if it.custom {
			dst = s.customInputDone(dst, it, pos)
			break
		}
		dst = s.itemHead(dst, "response.function_call_arguments.done", it, pos)
		dst = append(dst, `,"name":`...)
		dst = jsonw.String(dst, it.name)
		dst = append(dst, `,"arguments":`...)
		dst = jsonw.String(dst, arguments(it.text))
		dst = s.tail(dst)
	}
	dst = s.head(dst, "response.output_item.done")
	dst = append(dst, `,"output_index":`...)
	dst = jsonw.Int(dst, pos)
	dst = append(dst, `,"item":`...)
	dst = appendItem(dst, it)
	return s.tail(dst)
}

// itemAdded appends response.output_item.added.
func (s *ResponsesStream) itemAdded(dst []byte, it *outItem, pos int) []byte {
	dst = s.head(dst, "response.output_item.added")
	dst = append(dst, `,"output_index":`...)
	dst = jsonw.Int(dst, pos)
	dst = append(dst, `,"item":`...)
	dst = appendItem(dst, it)
	return s.tail(dst)
}

// head opens an event: its SSE event line and the start of its data with
// type and sequence_number.
func (s *ResponsesStream) head(dst []byte, typ string) []byte {
	dst = append(dst, "event: "...)
	dst = append(dst, typ...)
	dst = append(dst, "\ndata: {\"type\":\""...)
	dst = append(dst, typ...)
	dst = append(dst, `","sequence_number":`...)
	dst = jsonw.Int(dst, s.seq)
	s.seq++
	return dst
}

// itemHead opens an event about an item: head, item_id and output_index.
func (s *ResponsesStream) itemHead(dst []byte, typ string, it *outItem, pos int) []byte {
	dst = s.head(dst, typ)
	dst = append(dst, `,"item_id":`...)
	dst = jsonw.String(dst, it.id)
	dst = append(dst, `,"output_index":`...)
	return jsonw.Int(dst, pos)
}

func (s *ResponsesStream) tail(dst []byte) []byte {
	return append(dst, "}\n\n"...)
}
