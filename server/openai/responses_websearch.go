package openai

import (
	"encoding/json"
	"strings"

	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/internal/jsonw"
)

// The Responses API's hosted web_search tool is served like the Messages
// API's web search server tool (server/websearch.go runs the searches):
// it decodes into that canonical tool, each search comes out as a
// web_search_call item (in_progress, searching, completed or failed), and
// links to results in the answer become url_citation annotations of the
// message text. Codex declares {"type":"web_search","external_web_access":
// false} by default and true with web_search = "live"; Kiro's search is a
// search engine's results either way, so both are served.

// webSearchTypes are the Responses tool types of the hosted web search.
var webSearchTypes = map[string]bool{
	"web_search": true, "web_search_2025_08_26": true,
	"web_search_preview": true, "web_search_preview_2025_03_11": true,
}

// includeSearchSources asks for the sources of a web_search_call's action.
const includeSearchSources = "web_search_call.action.sources"

// webSearchTool is the canonical web search tool of a Responses web_search
// tool: its allowed domains and user location carry over.
func webSearchTool(t responsesTool) canon.Tool {
	out := canon.Tool{Type: canon.WebSearchType, Name: canon.WebSearchName, UserLocation: t.UserLocation}
	if t.Filters != nil {
		out.AllowedDomains = t.Filters.AllowedDomains
	}
	return out
}

// webSearchCall is the history block of a web_search_call input item: the
// search the model made, whose results the Responses API does not send
// back.
func webSearchCall(it responsesItem) canon.Block {
	var a struct {
		Type    string   `json:"type"`
		Query   string   `json:"query"`
		Queries []string `json:"queries"`
	}
	_ = json.Unmarshal(it.Action, &a) // an item without a readable action still records a search
	q := a.Query
	if q == "" && len(a.Queries) > 0 {
		q = strings.Join(a.Queries, "; ")
	}
	input, _ := json.Marshal(map[string]string{"query": q}) // a map of strings always marshals
	return canon.Block{Type: canon.BlockServerToolUse, ID: it.ID, Name: canon.WebSearchName, Input: input}
}

// searchQueryOf reads the query of a server tool use's input JSON.
func searchQueryOf(input []byte) string {
	var in struct {
		Query string `json:"query"`
	}
	_ = json.Unmarshal(input, &in) // a call without a query shows an empty one
	return in.Query
}

// findSearch is the position of the web_search_call item of server tool
// use id, -1 if none.
func (r *responseState) findSearch(id string) int {
	for i := range r.items {
		if r.items[i].kind == canon.ServerToolUseBlock && r.items[i].callID == id {
			return i
		}
	}
	return -1
}

// setResult records a search's outcome on its web_search_call item.
func (it *outItem) setResult(o *canon.SearchOutcome) {
	it.done = true
	if o == nil || o.ErrorCode != "" {
		it.failed = true
		return
	}
	for _, h := range o.Results {
		it.sources = append(it.sources, h.URL)
	}
}

// announce adds a web_search_call item to the output once its query is
// known (Codex shows the query of an item as it starts), or when it ends
// without one: output_item.added and web_search_call.in_progress.
func (s *ResponsesStream) announce(dst []byte, it *outItem, pos int) []byte {
	if it.announced {
		return dst
	}
	it.announced = true
	dst = s.itemAdded(dst, it, pos)
	dst = s.itemHead(dst, "response.web_search_call.in_progress", it, pos)
	return s.tail(dst)
}

// searchQuery takes the query of a web_search_call, announces the item and
// says it is searching.
func (s *ResponsesStream) searchQuery(dst []byte, it *outItem, pos int, delta string) []byte {
	it.text = append(it.text, delta...)
	it.query = searchQueryOf(it.text)
	dst = s.announce(dst, it, pos)
	dst = s.itemHead(dst, "response.web_search_call.searching", it, pos)
	return s.tail(dst)
}

// searchResult finishes the web_search_call item of a search result block.
func (s *ResponsesStream) searchResult(dst []byte, ev canon.Event) []byte {
	pos := s.resp.findSearch(ev.ID)
	if pos < 0 || s.resp.items[pos].done {
		return dst
	}
	for len(s.byIndex) <= ev.Index {
		s.byIndex = append(s.byIndex, 0)
	}
	s.byIndex[ev.Index] = pos + 1
	it := &s.resp.items[pos]
	dst = s.announce(dst, it, pos)
	it.setResult(ev.Search)
	if !it.failed {
		dst = s.itemHead(dst, "response.web_search_call.completed", it, pos)
		dst = s.tail(dst)
	}
	return s.itemDone(dst, it, pos)
}

// itemDone appends response.output_item.done.
func (s *ResponsesStream) itemDone(dst []byte, it *outItem, pos int) []byte {
	dst = s.head(dst, "response.output_item.done")
	dst = append(dst, `,"output_index":`...)
	dst = jsonw.Int(dst, pos)
	dst = append(dst, `,"item":`...)
	dst = appendItem(dst, it)
	return s.tail(dst)
}

// annotate adds a citation of a message's text as a url_citation
// annotation.
func (s *ResponsesStream) annotate(dst []byte, ev canon.Event) []byte {
	it, pos := s.item(ev.Index)
	if it == nil || it.done || it.kind != canon.TextBlock {
		return dst
	}
	it.annotations = append(it.annotations, *ev.Citation)
	dst = s.itemHead(dst, "response.output_text.annotation.added", it, pos)
	dst = append(dst, `,"content_index":0,"annotation_index":`...)
	dst = jsonw.Int(dst, len(it.annotations)-1)
	dst = append(dst, `,"annotation":`...)
	dst = appendAnnotation(dst, ev.Citation)
	return s.tail(dst)
}

func appendAnnotation(dst []byte, c *canon.Citation) []byte {
	dst = append(dst, `{"type":"url_citation","start_index":`...)
	dst = jsonw.Int(dst, c.Start)
	dst = append(dst, `,"end_index":`...)
	dst = jsonw.Int(dst, c.End)
	dst = append(dst, `,"url":`...)
	dst = jsonw.String(dst, c.URL)
	dst = append(dst, `,"title":`...)
	dst = jsonw.String(dst, c.Title)
	return append(dst, '}')
}

func appendAnnotations(dst []byte, list []canon.Citation) []byte {
	dst = append(dst, '[')
	for i := range list {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendAnnotation(dst, &list[i])
	}
	return append(dst, ']')
}

// appendSearchItem appends a web_search_call item; with sources, its
// action lists the URLs found (what include web_search_call.action.sources
// asks for).
func appendSearchItem(dst []byte, it *outItem) []byte {
	dst = append(dst, `,"type":"web_search_call","status":`...)
	status := "in_progress"
	switch {
	case it.done && it.failed:
		status = "failed"
	case it.done:
		status = statusCompleted
	}
	dst = jsonw.String(dst, status)
	dst = append(dst, `,"action":{"type":"search","query":`...)
	dst = jsonw.String(dst, it.query)
	if it.withSources && it.done {
		dst = append(dst, `,"sources":[`...)
		for i, u := range it.sources {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"type":"url","url":`...)
			dst = jsonw.String(dst, u)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	return append(dst, "}}"...)
}

// collectSearch adds the web search blocks of a whole response to the
// state; ok is false for other blocks.
func (r *responseState) collectSearch(b canon.Block) bool {
	switch b.Type {
	case canon.BlockServerToolUse:
		pos := r.newItem(canon.ServerToolUseBlock, b.ID, b.Name)
		r.items[pos].text = append([]byte(nil), b.Input...)
		r.items[pos].query = searchQueryOf(b.Input)
		return true
	case canon.BlockWebSearchToolResult:
		pos := r.findSearch(b.ToolUseID)
		if pos < 0 {
			return true
		}
		var o canon.SearchOutcome
		for _, c := range b.Content {
			if c.WebFields == nil {
				continue
			}
			if c.Type == canon.BlockWebSearchToolResultError {
				o.ErrorCode = c.ErrorCode
				break
			}
			o.Results = append(o.Results, canon.SearchHit{URL: c.URL})
		}
		r.items[pos].setResult(&o)
		return true
	}
	return false
}
