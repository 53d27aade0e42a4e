package openai

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/openai/openai-go/responses"

	"github.com/kirobar/kirobar/canon"
)

// searchEvents is a web search answer as the loop streams it: a search
// with results, a failed one, and text citing a result.
var searchEvents = []canon.Event{
	{Kind: canon.BlockStart, Index: 0, Block: canon.ServerToolUseBlock, ID: "srvtoolu_01", Name: canon.WebSearchName},
	{Kind: canon.BlockDelta, Index: 0, Block: canon.ServerToolUseBlock, Delta: `{"query":"go 1.26"}`},
	{Kind: canon.BlockStop, Index: 0, Block: canon.ServerToolUseBlock},
	{Kind: canon.BlockStart, Index: 1, Block: canon.WebSearchResultBlock, ID: "srvtoolu_01", Search: &canon.SearchOutcome{Query: "go 1.26", Results: []canon.SearchHit{
		{URL: "https://go.dev/doc/go1.26", Title: "Go 1.26 Release Notes"}, {URL: "https://go.dev/blog", Title: "Blog"},
	}}},
	{Kind: canon.BlockStop, Index: 1, Block: canon.WebSearchResultBlock},
	{Kind: canon.BlockStart, Index: 2, Block: canon.ServerToolUseBlock, ID: "srvtoolu_02", Name: canon.WebSearchName},
	{Kind: canon.BlockDelta, Index: 2, Block: canon.ServerToolUseBlock, Delta: `{"query":"go 1.27"}`},
	{Kind: canon.BlockStop, Index: 2, Block: canon.ServerToolUseBlock},
	{Kind: canon.BlockStart, Index: 3, Block: canon.WebSearchResultBlock, ID: "srvtoolu_02", Search: &canon.SearchOutcome{Query: "go 1.27", ErrorCode: canon.SearchUnavailable}},
	{Kind: canon.BlockStop, Index: 3, Block: canon.WebSearchResultBlock},
	{Kind: canon.BlockStart, Index: 4, Block: canon.TextBlock},
	{Kind: canon.BlockDelta, Index: 4, Block: canon.TextBlock, Delta: "Go 1.26 is out ([notes](https://go.dev/doc/go1.26))."},
	{Kind: canon.BlockDelta, Index: 4, Block: canon.TextBlock, Citation: &canon.Citation{URL: "https://go.dev/doc/go1.26", Title: "Go 1.26 Release Notes", Start: 16, End: 50}},
	{Kind: canon.BlockStop, Index: 4, Block: canon.TextBlock},
	{Kind: canon.MessageStop, StopReason: canon.StopEndTurn, Usage: canon.Usage{InputTokens: 90, OutputTokens: 9, ServerToolUse: &canon.ServerToolUsage{WebSearchRequests: 1}}},
}

func searchOptions(sources bool) ResponsesOptions {
	opt := testResponsesOptions()
	opt.SearchSources = sources
	return opt
}

func TestResponsesSearchStream(t *testing.T) {
	body := encodeAll(NewResponsesStream("resp_kb1", "gpt-5", 1760000000, searchOptions(true)), searchEvents)
	golden(t, "responses_stream_search.sse", body)
	p := parseResponses(t, body)
	want := []string{
		"response.created", "response.in_progress",
		"response.output_item.added", "response.web_search_call.in_progress", "response.web_search_call.searching",
		"response.web_search_call.completed", "response.output_item.done",
		"response.output_item.added", "response.web_search_call.in_progress", "response.web_search_call.searching",
		"response.output_item.done",
		"response.output_item.added", "response.content_part.added", "response.output_text.delta",
		"response.output_text.annotation.added",
		"response.output_text.done", "response.content_part.done", "response.output_item.done",
		"response.completed",
	}
	if strings.Join(p.types, " ") != strings.Join(want, " ") {
		t.Fatalf("event order:\n got %v\nwant %v", p.types, want)
	}
	checkSearchOutput(t, p.final.Output, true)
	if p.finalType != "response.completed" || p.final.Status != "completed" {
		t.Fatalf("final %s %s", p.finalType, p.final.Status)
	}
	// Codex shows a search as its item starts: the query must be there.
	added := strings.Split(string(body), "event: response.output_item.added\ndata: ")[1]
	if !strings.Contains(added[:strings.Index(added, "\n")], `"query":"go 1.26"`) {
		t.Fatalf("the added web_search_call lacks its query: %.300s", added)
	}
}

func TestResponsesSearchBody(t *testing.T) {
	var c canon.Collector
	for _, ev := range searchEvents {
		c.Add(ev)
	}
	body := ResponsesResponse(c.Response(), "resp_kb1", "gpt-5", 1760000000, searchOptions(false))
	var r responses.Response
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	checkSearchOutput(t, r.Output, false)
}

// checkSearchOutput checks the output items as the SDK reads them.
func checkSearchOutput(t *testing.T, out []responses.ResponseOutputItemUnion, sources bool) {
	t.Helper()
	if len(out) != 3 {
		t.Fatalf("%d output items", len(out))
	}
	ws := out[0].AsWebSearchCall()
	if ws.Type != "web_search_call" || ws.Status != "completed" || !strings.HasPrefix(ws.ID, "ws_") || ws.Action.Query != "go 1.26" || ws.Action.Type != "search" {
		t.Fatalf("search = %s", out[0].RawJSON())
	}
	if got := strings.Contains(out[0].RawJSON(), `"sources":[{"type":"url","url":"https://go.dev/doc/go1.26"},{"type":"url","url":"https://go.dev/blog"}]`); got != sources {
		t.Fatalf("sources listed %v, want %v: %s", got, sources, out[0].RawJSON())
	}
	if failed := out[1].AsWebSearchCall(); failed.Status != "failed" || failed.Action.Query != "go 1.27" {
		t.Fatalf("failed search = %s", out[1].RawJSON())
	}
	msg := out[2].AsMessage()
	if len(msg.Content) != 1 {
		t.Fatalf("message = %s", out[2].RawJSON())
	}
	anns := msg.Content[0].Annotations
	if len(anns) != 1 {
		t.Fatalf("annotations = %s", out[2].RawJSON())
	}
	a := anns[0].AsURLCitation()
	text := []rune(msg.Content[0].Text)
	if a.URL != "https://go.dev/doc/go1.26" || a.Title != "Go 1.26 Release Notes" || string(text[a.StartIndex:a.EndIndex]) != "[notes](https://go.dev/doc/go1.26)" {
		t.Fatalf("annotation = %+v over %q", a, string(text[a.StartIndex:a.EndIndex]))
	}
}

func TestDecodeResponsesWebSearch(t *testing.T) {
	req, opt, err := DecodeResponses([]byte(`{"model":"gpt-5","include":["web_search_call.action.sources","reasoning.encrypted_content"],
	  "tools":[{"type":"function","name":"exec_command","parameters":{"type":"object"}},
	    {"type":"web_search","external_web_access":true,"search_context_size":"low","filters":{"allowed_domains":["go.dev"]},
	     "user_location":{"type":"approximate","city":"Berlin","country":"DE"}},
	    {"type":"web_search_preview"}],
	  "tool_choice":{"type":"web_search"},
	  "input":[{"role":"user","content":"what is new in go?"},
	    {"type":"web_search_call","id":"ws_1","status":"completed","action":{"type":"search","query":"go 1.26","sources":[{"type":"url","url":"https://go.dev"}]}},
	    {"type":"message","role":"assistant","content":[{"type":"output_text","text":"Go 1.26 is out."}]},
	    {"role":"user","content":"and go 1.27?"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	ws := req.WebSearch()
	if ws == nil || ws.Type != canon.WebSearchType || ws.Name != canon.WebSearchName || len(req.Tools) != 2 {
		t.Fatalf("tools = %+v", req.Tools)
	}
	if strings.Join(ws.AllowedDomains, ",") != "go.dev" || ws.UserLocation == nil || ws.UserLocation.City != "Berlin" {
		t.Fatalf("web search tool = %+v", ws)
	}
	if req.ToolChoice == nil || req.ToolChoice.Type != "tool" || req.ToolChoice.Name != canon.WebSearchName {
		t.Fatalf("tool choice = %+v", req.ToolChoice)
	}
	if !opt.SearchSources || strings.Join(opt.IgnoredInclude, ",") != "reasoning.encrypted_content" || len(opt.IgnoredTools) != 0 {
		t.Fatalf("options = %+v", opt)
	}
	// The search and the message after it are two assistant turns, which
	// the request builder merges.
	if len(req.Messages) != 4 || req.Messages[1].Role != "assistant" || len(req.Messages[1].Content) != 1 || req.Messages[2].Role != "assistant" {
		t.Fatalf("messages = %+v", req.Messages)
	}
	use := req.Messages[1].Content[0]
	if use.Type != canon.BlockServerToolUse || use.ID != "ws_1" || string(use.Input) != `{"query":"go 1.26"}` {
		t.Fatalf("search in history = %+v", use)
	}
}
