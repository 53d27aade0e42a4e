package anthropic

import (
	"encoding/json"

	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/internal/jsonw"
)

// The web search server tool's blocks, in the shapes of the Messages API
// (anthropic-sdk-python: server_tool_use_block.py,
// web_search_tool_result_block.py, web_search_result_block.py,
// web_search_tool_result_error.py, citations_web_search_result_location.py,
// server_tool_usage.py). In a stream, a server_tool_use block starts with
// empty input and gets its query as one input_json_delta; a
// web_search_tool_result block arrives whole in its content_block_start; a
// citation is a citations_delta of the text block that cites.

// directCaller is the caller of a tool the model invoked itself.
const directCaller = `{"type":"direct"}`

// appendServerToolUseStart appends the content_block of a server_tool_use
// start.
func appendServerToolUseStart(dst []byte, ev canon.Event) []byte {
	dst = append(dst, `,"content_block":{"type":"server_tool_use","id":`...)
	dst = jsonw.String(dst, ev.ID)
	dst = append(dst, `,"name":`...)
	dst = jsonw.String(dst, ev.Name)
	return append(dst, `,"input":{},"caller":`+directCaller+`}}`...)
}

// appendSearchResultStart appends the content_block of a
// web_search_tool_result start: the whole result.
func appendSearchResultStart(dst []byte, ev canon.Event) []byte {
	dst = append(dst, `,"content_block":`...)
	dst = appendSearchResult(dst, ev.ID, ev.Search)
	return append(dst, '}')
}

// appendSearchResult appends a web_search_tool_result block.
func appendSearchResult(dst []byte, toolUseID string, o *canon.SearchOutcome) []byte {
	dst = append(dst, `{"type":"web_search_tool_result","tool_use_id":`...)
	dst = jsonw.String(dst, toolUseID)
	dst = append(dst, `,"content":`...)
	switch {
	case o != nil && o.ErrorCode != "":
		dst = append(dst, `{"type":"web_search_tool_result_error","error_code":`...)
		dst = jsonw.String(dst, o.ErrorCode)
		dst = append(dst, '}')
	default:
		dst = append(dst, '[')
		if o != nil {
			for i, h := range o.Results {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = appendSearchHit(dst, h)
			}
		}
		dst = append(dst, ']')
	}
	return append(dst, `,"caller":`+directCaller+`}`...)
}

func appendSearchHit(dst []byte, h canon.SearchHit) []byte {
	dst = append(dst, `{"type":"web_search_result","title":`...)
	dst = jsonw.String(dst, h.Title)
	dst = append(dst, `,"url":`...)
	dst = jsonw.String(dst, h.URL)
	dst = append(dst, `,"encrypted_content":`...)
	dst = jsonw.String(dst, h.EncryptedContent)
	dst = append(dst, `,"page_age":`...)
	if h.PageAge == "" {
		dst = append(dst, "null"...)
	} else {
		dst = jsonw.String(dst, h.PageAge)
	}
	return append(dst, '}')
}

// appendCitationDelta appends a citations_delta event.
func appendCitationDelta(dst []byte, index int, c *canon.Citation) []byte {
	dst = append(dst, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":"...)
	dst = jsonw.Int(dst, index)
	dst = append(dst, `,"delta":{"type":"citations_delta","citation":`...)
	dst = appendCitation(dst, c)
	return append(dst, "}}\n\n"...)
}

func appendCitation(dst []byte, c *canon.Citation) []byte {
	dst = append(dst, `{"type":"web_search_result_location","cited_text":`...)
	dst = jsonw.String(dst, c.CitedText)
	dst = append(dst, `,"url":`...)
	dst = jsonw.String(dst, c.URL)
	dst = append(dst, `,"title":`...)
	dst = jsonw.String(dst, c.Title)
	dst = append(dst, `,"encrypted_index":`...)
	dst = jsonw.String(dst, c.EncryptedIndex)
	return append(dst, '}')
}

// appendServerToolUsage appends the usage's server_tool_use object when the
// request declared a server tool.
func appendServerToolUsage(dst []byte, u canon.Usage) []byte {
	if u.ServerToolUse == nil {
		return dst
	}
	dst = append(dst, `,"server_tool_use":{"web_search_requests":`...)
	dst = jsonw.Int(dst, u.ServerToolUse.WebSearchRequests)
	return append(dst, `,"web_fetch_requests":0}`...)
}

// serverBlockBody is a server tool block of a whole response; ok is false
// for other blocks.
func serverBlockBody(b canon.Block) (json.RawMessage, bool) {
	switch b.Type {
	case canon.BlockServerToolUse:
		in := b.Input
		if !json.Valid(in) {
			in = json.RawMessage("{}")
		}
		dst := append([]byte(nil), `{"type":"server_tool_use","id":`...)
		dst = jsonw.String(dst, b.ID)
		dst = append(dst, `,"name":`...)
		dst = jsonw.String(dst, b.Name)
		dst = append(dst, `,"input":`...)
		dst = append(dst, in...)
		return append(dst, `,"caller":`+directCaller+`}`...), true
	case canon.BlockWebSearchToolResult:
		var o canon.SearchOutcome
		for _, r := range b.Content {
			if r.WebFields == nil {
				continue
			}
			if r.Type == canon.BlockWebSearchToolResultError {
				o.ErrorCode = r.ErrorCode
				break
			}
			o.Results = append(o.Results, canon.SearchHit{URL: r.URL, Title: r.Title, EncryptedContent: r.EncryptedContent, PageAge: r.PageAge})
		}
		return appendSearchResult(nil, b.ToolUseID, &o), true
	}
	return nil, false
}

// citationsBody is a text block's citations, nil when it has none.
func citationsBody(b canon.Block) json.RawMessage {
	if b.WebFields == nil || len(b.Citations) == 0 {
		return nil
	}
	dst := []byte{'['}
	for i := range b.Citations {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendCitation(dst, &b.Citations[i])
	}
	return append(dst, ']')
}
