package server_test

import (
	"encoding/json"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kirobar/kirobar/internal/testkit/kirofake"
)

// TestClaudeCodeWebSearch runs the real Claude Code through a WebSearch:
// the model loads the deferred WebSearch tool and calls it; Claude Code
// sends its search request with the web_search server tool; kirobar runs
// the search with Kiro's web search and answers with Anthropic's blocks;
// Claude Code turns them into the tool result ("Links: [...]") the model
// answers from, and counts the search.
func TestClaudeCodeWebSearch(t *testing.T) {
	claude := clientBin(t, "claude")
	h := newHarness(t, harnessOptions{})
	const query = "kiro web search"
	var sawSearchRequest atomic.Bool
	h.fake.SetResponder(func(r *kirofake.Request) kirofake.Reply {
		switch {
		case slices.Contains(r.Tools, "web_search"):
			// Claude Code's search request: only the server tool.
			if strings.Contains(r.CurrentContent, "Perform a web search for the query: "+query) {
				sawSearchRequest.Store(true)
			}
			return kirofake.WebSearchRoundTrip(query, "Kiro web search is Kiro's own search engine.")(r)
		case len(r.ToolResults) > 0 && r.ToolResults[0].ToolUseID == "tooluse_ws_1":
			return kirofake.TextReply("Done: " + r.ToolResults[0].Text())
		case slices.Contains(r.Tools, "WebSearch"):
			return kirofake.ToolReply("tooluse_ws_1", "WebSearch", `{"query":"`+query+`"}`)
		default:
			// WebSearch is deferred: the model fetches its schema first.
			return kirofake.ToolReply("tooluse_ts_1", "ToolSearch", `{"query":"select:WebSearch","max_results":1}`)
		}
	})
	out, err := runClient(t, t.TempDir(), clientEnv(t.TempDir(),
		"ANTHROPIC_BASE_URL="+h.url, "ANTHROPIC_API_KEY="+testKey,
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "DISABLE_AUTOUPDATER=1", "IS_SANDBOX=1",
	), claude, "-p", "Search the web: what is kiro web search?", "--output-format", "json", "--dangerously-skip-permissions")
	if err != nil {
		t.Fatalf("claude failed: %v\n%s", err, out)
	}
	var result struct {
		IsError    bool   `json:"is_error"`
		Result     string `json:"result"`
		ModelUsage map[string]struct {
			WebSearchRequests int `json:"webSearchRequests"`
		} `json:"modelUsage"`
	}
	if err := json.Unmarshal(lastJSONLine(out), &result); err != nil {
		t.Fatalf("claude output is not JSON: %v\n%s", err, out)
	}
	if !sawSearchRequest.Load() {
		t.Fatalf("Claude Code's search request never reached the model with the web_search tool\n%s", out)
	}
	// What Claude Code's WebSearch tool printed, passed on by the model:
	// the results kirobar got from Kiro's search, and the cited answer.
	for _, want := range []string{
		`Web search results for query: "kiro web search"`,
		`Links: [{"title":"kiro web search - docs.example.com","url":"https://docs.example.com/kiro-web-search"}`,
		`{"title":"kiro web search - news.example.net","url":"https://news.example.net/kiro-web-search"}`,
		"Kiro web search is Kiro's own search engine. See [the source](https://docs.example.com/kiro-web-search).",
	} {
		if result.IsError || !strings.Contains(result.Result, want) {
			t.Fatalf("claude's result lacks %q:\n%s", want, result.Result)
		}
	}
	searches := 0
	for _, u := range result.ModelUsage {
		searches += u.WebSearchRequests
	}
	if searches != 1 {
		t.Fatalf("Claude Code counted %d web searches: %s", searches, lastJSONLine(out))
	}
	if calls := h.fake.SearchCalls(); len(calls) != 1 || calls[0].Query != query || calls[0].Status != 200 {
		t.Fatalf("Kiro's web search saw %+v", calls)
	}
	if rec := searchEvents(t, h, 1); len(rec) != 1 || rec[0]["query"] != query || rec[0]["results"] != 3.0 {
		t.Fatalf("the flow does not show the search: %v", rec)
	}
}
