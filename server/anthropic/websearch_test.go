package anthropic

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	sdk "github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/packages/ssestream"
	"github.com/kirobar/kirobar/canon"
)

// searchTurn is a web search answer as the loop streams it: the model's
// lead-in, a search with two results, a second search refused, and cited
// text.
var searchTurn = []canon.Event{
	{Kind: canon.BlockStart, Index: 0, Block: canon.TextBlock},
	{Kind: canon.BlockDelta, Index: 0, Block: canon.TextBlock, Delta: "I'll search."},
	{Kind: canon.BlockStop, Index: 0, Block: canon.TextBlock},
	{Kind: canon.BlockStart, Index: 1, Block: canon.ServerToolUseBlock, ID: "srvtoolu_01", Name: canon.WebSearchName},
	{Kind: canon.BlockDelta, Index: 1, Block: canon.ServerToolUseBlock, Delta: `{"query":"go 1.26"}`},
	{Kind: canon.BlockStop, Index: 1, Block: canon.ServerToolUseBlock},
	{Kind: canon.BlockStart, Index: 2, Block: canon.WebSearchResultBlock, ID: "srvtoolu_01", Search: &canon.SearchOutcome{Query: "go 1.26", Results: []canon.SearchHit{
		{URL: "https://go.dev/doc/go1.26", Title: "Go 1.26 Release Notes", EncryptedContent: "kb1.R28", PageAge: "February 11, 2026"},
		{URL: "https://go.dev/blog", Title: "The Go Blog", EncryptedContent: "kb1.QmxvZw"},
	}}},
	{Kind: canon.BlockStop, Index: 2, Block: canon.WebSearchResultBlock},
	{Kind: canon.BlockStart, Index: 3, Block: canon.ServerToolUseBlock, ID: "srvtoolu_02", Name: canon.WebSearchName},
	{Kind: canon.BlockDelta, Index: 3, Block: canon.ServerToolUseBlock, Delta: `{"query":"go 1.27"}`},
	{Kind: canon.BlockStop, Index: 3, Block: canon.ServerToolUseBlock},
	{Kind: canon.BlockStart, Index: 4, Block: canon.WebSearchResultBlock, ID: "srvtoolu_02", Search: &canon.SearchOutcome{Query: "go 1.27", ErrorCode: canon.SearchMaxUses}},
	{Kind: canon.BlockStop, Index: 4, Block: canon.WebSearchResultBlock},
	{Kind: canon.BlockStart, Index: 5, Block: canon.TextBlock},
	{Kind: canon.BlockDelta, Index: 5, Block: canon.TextBlock, Delta: "Go 1.26 is out ([notes](https://go.dev/doc/go1.26))."},
	{Kind: canon.BlockDelta, Index: 5, Block: canon.TextBlock, Citation: &canon.Citation{URL: "https://go.dev/doc/go1.26", Title: "Go 1.26 Release Notes", CitedText: "Go 1.26 arrives", EncryptedIndex: "kb1.MA", Start: 16, End: 50}},
	{Kind: canon.BlockStop, Index: 5, Block: canon.TextBlock},
	{Kind: canon.MessageStop, StopReason: canon.StopEndTurn, Usage: canon.Usage{InputTokens: 900, OutputTokens: 40, ServerToolUse: &canon.ServerToolUsage{WebSearchRequests: 1}}},
}

// checkGolden compares got with testdata/name (go test -update rewrites
// it).
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("output differs from %s:\n%s", path, got)
	}
}

func TestSearchStreamGolden(t *testing.T) {
	checkGolden(t, "search_turn.sse", encode(searchTurn))
}

// checkSearchMessage checks a web search answer as the SDK types read it:
// every block's type, the query, the results with the fields Claude Code
// reads (title, url), the error code, the citation and the search count.
func checkSearchMessage(t *testing.T, msg sdk.Message) {
	t.Helper()
	if len(msg.Content) != 6 || msg.StopReason != "end_turn" {
		t.Fatalf("%d blocks, stop %q", len(msg.Content), msg.StopReason)
	}
	use := msg.Content[1].AsServerToolUse()
	if use.ID != "srvtoolu_01" || use.Name != "web_search" || use.Caller.Type != "direct" {
		t.Fatalf("server tool use = %+v", use)
	}
	if in, _ := json.Marshal(use.Input); string(in) != `{"query":"go 1.26"}` {
		t.Fatalf("input = %s", in)
	}
	res := msg.Content[2].AsWebSearchToolResult()
	hits := res.Content.OfWebSearchResultBlockArray
	if res.ToolUseID != "srvtoolu_01" || len(hits) != 2 {
		t.Fatalf("result = %+v", res)
	}
	if hits[0].Title != "Go 1.26 Release Notes" || hits[0].URL != "https://go.dev/doc/go1.26" || hits[0].PageAge != "February 11, 2026" || hits[0].EncryptedContent != "kb1.R28" {
		t.Fatalf("hit = %+v", hits[0])
	}
	if hits[1].PageAge != "" {
		t.Fatalf("unknown page age = %q", hits[1].PageAge)
	}
	if e := msg.Content[4].AsWebSearchToolResult().Content; e.ErrorCode != "max_uses_exceeded" || e.Type != "web_search_tool_result_error" {
		t.Fatalf("error result = %+v", e)
	}
	text := msg.Content[5].AsText()
	if len(text.Citations) != 1 {
		t.Fatalf("citations = %+v", text.Citations)
	}
	c := text.Citations[0].AsWebSearchResultLocation()
	if c.URL != "https://go.dev/doc/go1.26" || c.Title != "Go 1.26 Release Notes" || c.CitedText != "Go 1.26 arrives" || c.EncryptedIndex != "kb1.MA" {
		t.Fatalf("citation = %+v", c)
	}
	if msg.Usage.ServerToolUse.WebSearchRequests != 1 || msg.Usage.OutputTokens != 40 {
		t.Fatalf("usage = %+v", msg.Usage)
	}
}

func TestSearchStreamParsesWithSDK(t *testing.T) {
	res := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Body: io.NopCloser(bytes.NewReader(encode(searchTurn)))}
	stream := ssestream.NewStream[sdk.MessageStreamEventUnion](ssestream.NewDecoder(res), nil)
	var msg sdk.Message
	for stream.Next() {
		if err := msg.Accumulate(stream.Current()); err != nil {
			t.Fatalf("accumulate: %v", err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	checkSearchMessage(t, msg)
}

func TestSearchBodyParsesWithSDK(t *testing.T) {
	var c canon.Collector
	for _, ev := range searchTurn {
		c.Add(ev)
	}
	body := MessageBody(c.Response(), "msg_01", "claude-sonnet-4-5")
	var msg sdk.Message
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatal(err)
	}
	checkSearchMessage(t, msg)
	checkGolden(t, "search_turn.json", body)
}

// TestNoServerToolUsageWithoutSearch: a response to a request without a
// server tool reports no server_tool_use, as before.
func TestNoServerToolUsageWithoutSearch(t *testing.T) {
	if bytes.Contains(encode(toolTurn), []byte("server_tool_use")) {
		t.Fatal("server_tool_use in a stream without a server tool")
	}
}
