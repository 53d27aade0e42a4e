package payload

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kirobar/kirobar/canon"
)

// TestWebSearchDeclared: the web search server tool reaches the model as a
// web_search tool with Kiro CLI's schema, its settings in the description.
func TestWebSearchDeclared(t *testing.T) {
	for _, tc := range []struct {
		name, tool string
		want, not  []string
	}{
		{"claude code's", `{"type":"web_search_20250305","name":"web_search","max_uses":8}`,
			[]string{"Search the web", "markdown links", "at most 8 times"}, []string{"located", "domains"}},
		{"location and allowed domains", `{"type":"web_search_20250305","name":"web_search","allowed_domains":["go.dev","pkg.go.dev"],
			"user_location":{"type":"approximate","city":"Berlin","country":"DE","timezone":"Europe/Berlin"}}`,
			[]string{"located in Berlin, DE (time zone Europe/Berlin)", "Only results from these domains are returned: go.dev, pkg.go.dev"}, []string{"at most 8"}},
		{"blocked domains", `{"type":"web_search_20250305","name":"web_search","blocked_domains":["spam.example"]}`,
			[]string{"never returned: spam.example"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := decodeRequest(t, `{"tools":[`+bashTool+`,`+tc.tool+`],"messages":[{"role":"user","content":"Perform a web search for the query: go"}]}`)
			_, s := build(t, req, Options{})
			tools := s.CurrentMessage.UserInputMessage.Context.Tools
			if len(tools) != 2 || tools[1].ToolSpecification.Name != "web_search" {
				t.Fatalf("tools = %v", toolNamesOf(s))
			}
			spec := tools[1].ToolSpecification
			if string(spec.InputSchema.JSON) != webSearchSchema || !json.Valid(spec.InputSchema.JSON) {
				t.Fatalf("schema = %s", spec.InputSchema.JSON)
			}
			for _, w := range tc.want {
				if !strings.Contains(spec.Description, w) {
					t.Errorf("description lacks %q:\n%s", w, spec.Description)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(spec.Description, w) {
					t.Errorf("description has %q:\n%s", w, spec.Description)
				}
			}
		})
	}
}

// TestWebSearchLoopHistory: the conversation a web search loop continues,
// a web_search tool use answered by its result, is one Kiro accepts.
func TestWebSearchLoopHistory(t *testing.T) {
	req := decodeRequest(t, `{"tools":[{"type":"web_search_20250305","name":"web_search"}],"messages":[
	  {"role":"user","content":"Perform a web search for the query: go"},
	  {"role":"assistant","content":[{"type":"text","text":"Searching."},{"type":"tool_use","id":"tooluse_1","name":"web_search","input":{"query":"go"}}]},
	  {"role":"user","content":[{"type":"tool_result","tool_use_id":"tooluse_1","content":[{"type":"text","text":"Web search results for \"go\": ..."}]}]}]}`)
	res, s := build(t, req, Options{ConversationID: "9c0e0d4b-4b8e-4c4f-9a39-2a8f3f3c4b7e"})
	if res.ConversationID != "9c0e0d4b-4b8e-4c4f-9a39-2a8f3f3c4b7e" || s.ConversationID != res.ConversationID {
		t.Fatalf("conversation id %q / %q", res.ConversationID, s.ConversationID)
	}
	if rs := resultsOf(s.CurrentMessage.UserInputMessage); len(rs) != 1 || rs[0].ToolUseID != "tooluse_1" {
		t.Fatalf("results = %+v", rs)
	}
}

// TestSearchHistoryText: server tool blocks an earlier answer carried reach
// the model as text of that assistant turn, snippets included.
func TestSearchHistoryText(t *testing.T) {
	content := canon.EncodeSearchContent("Go 1.26 arrives in February.")
	req := decodeRequest(t, `{"messages":[
	  {"role":"user","content":"what is new in go?"},
	  {"role":"assistant","content":[
	    {"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"go 1.26"}},
	    {"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[
	      {"type":"web_search_result","title":"Go 1.26 Release Notes","url":"https://go.dev/doc/go1.26","encrypted_content":"`+content+`","page_age":"February 11, 2026"},
	      {"type":"web_search_result","title":"Anthropic's own","url":"https://example.com","encrypted_content":"EqgfCioIARgB"}]},
	    {"type":"server_tool_use","id":"srvtoolu_2","name":"web_search","input":{"query":"go 1.27"}},
	    {"type":"web_search_tool_result","tool_use_id":"srvtoolu_2","content":{"type":"web_search_tool_result_error","error_code":"max_uses_exceeded"}},
	    {"type":"text","text":"Go 1.26 is out.","citations":[{"type":"web_search_result_location","url":"https://go.dev/doc/go1.26","cited_text":"x","encrypted_index":"y"}]}]},
	  {"role":"user","content":"and 1.27?"}]}`)
	_, s := build(t, req, Options{})
	var got string
	for _, e := range s.History {
		if e.Assistant != nil {
			got = e.Assistant.Content
		}
	}
	for _, want := range []string{
		`[searched the web for "go 1.26"]`,
		"[1] Go 1.26 Release Notes - https://go.dev/doc/go1.26 (February 11, 2026)\nGo 1.26 arrives in February.",
		"[2] Anthropic's own - https://example.com",
		`[searched the web for "go 1.27"]`,
		"[the web search failed: max_uses_exceeded]",
		"Go 1.26 is out.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("assistant turn lacks %q:\n%s", want, got)
		}
	}
	if len(toolNamesOf(s)) != 0 {
		t.Errorf("history searches declared tools %v", toolNamesOf(s))
	}
}

func TestSearchResultsText(t *testing.T) {
	got := SearchResultsText("go", []SearchHit{
		{Title: "Go\n1.26", URL: "https://go.dev/doc/go1.26", Snippet: " Released. ", Published: "2026-02-11"},
		{Title: "Blog", URL: "https://go.dev/blog"},
	}, 30)
	want := "Web search results for \"go\":\n\n[1] Go 1.26\nURL: https://go.dev/doc/go1.26\nPublished: 2026-02-11\nReleased.\n\n[2] Blog\nURL: https://go.dev/blog\n\n" +
		"Cite the results you use as markdown links with their exact URL. Quote at most 30 consecutive words of any one result; paraphrase the rest."
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	if none := SearchResultsText("zzz", nil, 0); !strings.Contains(none, "No results") {
		t.Fatalf("no results: %s", none)
	}
	if e := SearchErrorText("go", "the account has no Kiro profile."); !strings.Contains(e, `"go" did not return results: the account has no Kiro profile.`) {
		t.Fatalf("error text: %s", e)
	}
}
