package canon

import (
	"strings"
	"testing"

	json "github.com/goccy/go-json"
)

func TestValidateServerTools(t *testing.T) {
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	for _, tc := range []struct {
		name, tools, want string // want "" means valid
	}{
		{"claude code's", `[{"type":"web_search_20250305","name":"web_search","max_uses":8}]`, ""},
		{"later version", `[{"type":"web_search_20260209","name":"web_search","allowed_domains":["go.dev"]}]`, ""},
		{"with client tools", `[{"name":"Bash","input_schema":{}},{"type":"web_search_20250305","name":"web_search"}]`, ""},
		{"other server tool", `[{"type":"code_execution_20250825","name":"code_execution"}]`, ""},
		{"wrong name", `[{"type":"web_search_20250305","name":"search"}]`, `tools.0.name: the web search tool must be named "web_search"`},
		{"twice", `[{"type":"web_search_20250305","name":"web_search"},{"type":"web_search_20260209","name":"web_search"}]`, "tools.1: only one web search tool"},
		{"zero max_uses", `[{"type":"web_search_20250305","name":"web_search","max_uses":0}]`, "tools.0.max_uses: must be at least 1"},
		{"both domain lists", `[{"type":"web_search_20250305","name":"web_search","allowed_domains":["a.com"],"blocked_domains":["b.com"]}]`, "cannot be used together"},
		{"clashing client tool", `[{"type":"web_search_20250305","name":"web_search"},{"name":"web_search","input_schema":{}}]`, "tools.1.name: tool names must be unique"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Request
			if err := json.Unmarshal([]byte(`{"model":"m",`+msgs+`,"tools":`+tc.tools+`}`), &r); err != nil {
				t.Fatal(err)
			}
			err := r.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestDecodeSearchHistory: the blocks of an earlier web search, as a client
// sends them back, decode, including a result that is one error object.
func TestDecodeSearchHistory(t *testing.T) {
	var m Message
	err := json.Unmarshal([]byte(`{"role":"assistant","content":[
	  {"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"go release"}},
	  {"type":"web_search_tool_result","tool_use_id":"srvtoolu_1","content":[
	    {"type":"web_search_result","title":"Go 1.26","url":"https://go.dev/doc/go1.26","encrypted_content":"kb1.R28gMS4yNg","page_age":"February 11, 2026"}]},
	  {"type":"server_tool_use","id":"srvtoolu_2","name":"web_search","input":{"query":"x"}},
	  {"type":"web_search_tool_result","tool_use_id":"srvtoolu_2","content":{"type":"web_search_tool_result_error","error_code":"max_uses_exceeded"}},
	  {"type":"text","text":"Go 1.26 is out.","citations":[{"type":"web_search_result_location","url":"https://go.dev/doc/go1.26","title":"Go 1.26","cited_text":"Go 1.26","encrypted_index":"x"}]}]}`), &m)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Content) != 5 {
		t.Fatalf("%d blocks", len(m.Content))
	}
	res := m.Content[1].Content
	if len(res) != 1 || res[0].URL != "https://go.dev/doc/go1.26" || res[0].PageAge != "February 11, 2026" {
		t.Fatalf("result = %+v", res)
	}
	if snippet, ok := DecodeSearchContent(res[0].EncryptedContent); !ok || snippet != "Go 1.26" {
		t.Fatalf("snippet %q %v", snippet, ok)
	}
	if e := m.Content[3].Content; len(e) != 1 || e[0].Type != BlockWebSearchToolResultError || e[0].ErrorCode != SearchMaxUses {
		t.Fatalf("error result = %+v", e)
	}
	if c := m.Content[4]; c.WebFields == nil || len(c.Citations) != 1 || c.Citations[0].URL != "https://go.dev/doc/go1.26" {
		t.Fatalf("text = %+v", c)
	}
	if m.Content[0].WebFields != nil {
		t.Fatal("a block without web fields allocated them")
	}
}

func TestSearchContentRoundTrip(t *testing.T) {
	for _, s := range []string{"", "plain", "ünïcode — and \"quotes\"\n", strings.Repeat("x", 5000)} {
		got, ok := DecodeSearchContent(EncodeSearchContent(s))
		if !ok || got != s {
			t.Fatalf("round trip of %.20q = %.20q %v", s, got, ok)
		}
	}
	for _, foreign := range []string{"", "EqgfCioIARgBIiQ3YTAwMjY1Mi1mZjM5", "kb1.!!!", "kb1." + "_w"} {
		if s, ok := DecodeSearchContent(foreign); ok {
			t.Fatalf("decoded foreign content %q as %q", foreign, s)
		}
	}
}

func TestCollectSearch(t *testing.T) {
	var c Collector
	for _, ev := range []Event{
		{Kind: BlockStart, Index: 0, Block: ServerToolUseBlock, ID: "srvtoolu_1", Name: WebSearchName},
		{Kind: BlockDelta, Index: 0, Block: ServerToolUseBlock, Delta: `{"query":"go"}`},
		{Kind: BlockStop, Index: 0, Block: ServerToolUseBlock},
		{Kind: BlockStart, Index: 1, Block: WebSearchResultBlock, ID: "srvtoolu_1", Search: &SearchOutcome{Query: "go", Results: []SearchHit{{URL: "https://go.dev", Title: "Go", EncryptedContent: "kb1.x", PageAge: "May 1, 2026"}}}},
		{Kind: BlockStop, Index: 1, Block: WebSearchResultBlock},
		{Kind: BlockStart, Index: 2, Block: WebSearchResultBlock, ID: "srvtoolu_2", Search: &SearchOutcome{ErrorCode: SearchUnavailable}},
		{Kind: BlockStop, Index: 2, Block: WebSearchResultBlock},
		{Kind: BlockStart, Index: 3, Block: TextBlock},
		{Kind: BlockDelta, Index: 3, Block: TextBlock, Delta: "See [Go](https://go.dev)."},
		{Kind: BlockDelta, Index: 3, Block: TextBlock, Citation: &Citation{URL: "https://go.dev", Title: "Go", Start: 4, End: 24}},
		{Kind: BlockStop, Index: 3, Block: TextBlock},
		{Kind: MessageStop, StopReason: StopEndTurn, Usage: Usage{ServerToolUse: &ServerToolUsage{WebSearchRequests: 1}}},
	} {
		c.Add(ev)
	}
	r := c.Response()
	if len(r.Content) != 4 {
		t.Fatalf("%d blocks", len(r.Content))
	}
	if b := r.Content[0]; b.Type != BlockServerToolUse || b.ID != "srvtoolu_1" || string(b.Input) != `{"query":"go"}` {
		t.Fatalf("server tool use = %+v", b)
	}
	if b := r.Content[1]; b.Type != BlockWebSearchToolResult || b.ToolUseID != "srvtoolu_1" || len(b.Content) != 1 || b.Content[0].URL != "https://go.dev" {
		t.Fatalf("result = %+v", b)
	}
	if b := r.Content[2]; len(b.Content) != 1 || b.Content[0].ErrorCode != SearchUnavailable {
		t.Fatalf("error result = %+v", b)
	}
	if b := r.Content[3]; b.Text != "See [Go](https://go.dev)." || b.WebFields == nil || len(b.Citations) != 1 {
		t.Fatalf("text = %+v", b)
	}
	if r.Usage.ServerToolUse == nil || r.Usage.ServerToolUse.WebSearchRequests != 1 {
		t.Fatalf("usage = %+v", r.Usage)
	}
}

func TestUserLocationDescribe(t *testing.T) {
	for _, tc := range []struct {
		loc  *UserLocation
		want string
	}{
		{nil, ""},
		{&UserLocation{Type: "approximate"}, ""},
		{&UserLocation{City: "San Francisco", Region: "California", Country: "US", Timezone: "America/Los_Angeles"}, "San Francisco, California, US (time zone America/Los_Angeles)"},
		{&UserLocation{Country: "DE"}, "DE"},
	} {
		if got := tc.loc.Describe(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.loc, got, tc.want)
		}
	}
}
