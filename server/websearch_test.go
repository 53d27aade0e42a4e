package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/packages/ssestream"
	"github.com/openai/openai-go/responses"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/flows"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
)

// searchParams is a request declaring the web search tool, as Claude
// Code's WebSearch sends it.
func searchParams(tool sdk.WebSearchTool20250305Param, prompt string) sdk.MessageNewParams {
	return sdk.MessageNewParams{
		Model: "claude-sonnet-4-5", MaxTokens: 1024,
		System:   []sdk.TextBlockParam{{Text: "You are an assistant for performing a web search tool use"}},
		Messages: []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock(prompt))},
		Tools:    []sdk.ToolUnionParam{{OfWebSearchTool20250305: &tool}},
	}
}

// bothWays sends params streamed and not, each with a fresh responder from
// newResponder, and returns the two answers.
func bothWays(t *testing.T, h *harness, params sdk.MessageNewParams, newResponder func() func(*kirofake.Request) kirofake.Reply) map[string]sdk.Message {
	t.Helper()
	out := map[string]sdk.Message{}
	h.fake.SetResponder(newResponder())
	out["stream"] = streamMessage(t, sdkClient(h), context.Background(), params)
	h.fake.SetResponder(newResponder())
	msg, err := sdkClient(h).Messages.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	out["body"] = *msg
	return out
}

// blockTypes lists the content block types of a message.
func blockTypes(m sdk.Message) string {
	var ts []string
	for _, b := range m.Content {
		ts = append(ts, b.Type)
	}
	return strings.Join(ts, " ")
}

// waitFlows waits until the recorder has written at least n flows (or a
// generous bound passed) and returns them.
func waitFlows(t *testing.T, h *harness, n int, ok func([]flows.Row) bool) []flows.Row {
	t.Helper()
	store := flows.NewStore(h.db, h.home)
	deadline := time.Now().Add(10 * time.Second)
	for {
		rows, err := store.List(context.Background(), flows.Filter{Limit: -1})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) >= n && (ok == nil || ok(rows)) || time.Now().After(deadline) {
			return rows
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// searchEvents returns the web search records of the flows, waiting until
// there are want of them.
func searchEvents(t *testing.T, h *harness, want int) []map[string]any {
	t.Helper()
	store := flows.NewStore(h.db, h.home)
	var out []map[string]any
	waitFlows(t, h, 1, func(rows []flows.Row) bool {
		out = out[:0]
		for _, r := range rows {
			_, d, err := store.Get(context.Background(), r.ID)
			if err != nil {
				continue
			}
			for _, e := range d.UpstreamEvents {
				if e.Type != "kirobar.webSearch" {
					continue
				}
				var p map[string]any
				if err := json.Unmarshal(e.Payload, &p); err != nil {
					t.Fatal(err)
				}
				out = append(out, p)
			}
		}
		return len(out) >= want
	})
	return out
}

// TestWebSearchAnswers: a search the model asks for runs through Kiro's
// web search on the lease's account and the client gets Anthropic's blocks,
// streamed and not; the follow-up turn that sends them back is accepted.
func TestWebSearchAnswers(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	params := searchParams(sdk.WebSearchTool20250305Param{MaxUses: sdk.Int(8)}, "Perform a web search for the query: kiro web search")
	got := bothWays(t, h, params, func() func(*kirofake.Request) kirofake.Reply {
		return kirofake.WebSearchRoundTrip("kiro web search", "Kiro searches the web.")
	})
	for way, msg := range got {
		if blockTypes(msg) != "text server_tool_use web_search_tool_result text" || msg.StopReason != "end_turn" {
			t.Fatalf("%s: blocks %s, stop %s", way, blockTypes(msg), msg.StopReason)
		}
		use := msg.Content[1].AsServerToolUse()
		if in, _ := json.Marshal(use.Input); string(in) != `{"query":"kiro web search"}` || !strings.HasPrefix(use.ID, "srvtoolu_") {
			t.Fatalf("%s: server tool use %+v", way, use)
		}
		res := msg.Content[2].AsWebSearchToolResult()
		hits := res.Content.OfWebSearchResultBlockArray
		if res.ToolUseID != use.ID || len(hits) != 3 || hits[0].URL != "https://docs.example.com/kiro-web-search" ||
			hits[0].Title != "kiro web search - docs.example.com" || hits[0].PageAge != "January 15, 2026" || hits[0].EncryptedContent == "" {
			t.Fatalf("%s: result %+v", way, res)
		}
		text := msg.Content[3].AsText()
		if !strings.HasPrefix(text.Text, "Kiro searches the web. See [the source](https://docs.example.com/kiro-web-search)") || len(text.Citations) != 1 {
			t.Fatalf("%s: text %+v", way, text)
		}
		if c := text.Citations[0].AsWebSearchResultLocation(); c.URL != hits[0].URL || c.Title != hits[0].Title || !strings.Contains(c.CitedText, "says about kiro web search") {
			t.Fatalf("%s: citation %+v", way, c)
		}
		if msg.Usage.ServerToolUse.WebSearchRequests != 1 {
			t.Fatalf("%s: usage %+v", way, msg.Usage)
		}
	}
	calls := h.fake.SearchCalls()
	if len(calls) != 2 || calls[0].Account != "accta" || calls[0].ProfileARN != kirofake.DefaultProfileARN || calls[0].Query != "kiro web search" {
		t.Fatalf("searches = %+v", calls)
	}
	reqs := h.fake.Requests()
	if len(reqs) != 4 || reqs[0].Account != reqs[1].Account {
		t.Fatalf("%d generations", len(reqs))
	}
	second := reqs[1]
	if len(second.ToolResults) != 1 || second.ToolResults[0].ToolUseID != "tooluse_search_1" ||
		!strings.Contains(second.ToolResults[0].Text(), "URL: https://blog.example.org/kiro-web-search") {
		t.Fatalf("the results did not reach the model: %+v", second.ToolResults)
	}
	if reqs[0].Payload.ConversationState.ConversationID != second.Payload.ConversationState.ConversationID {
		t.Fatal("the loop's second request started another conversation")
	}

	// The client sends the answer back: Kiro gets the search as text.
	h.fake.SetResponder(func(r *kirofake.Request) kirofake.Reply { return kirofake.TextReply("Sure.") })
	params.Messages = append(params.Messages, got["stream"].ToParam(), sdk.NewUserMessage(sdk.NewTextBlock("Summarise the first result.")))
	next := streamMessage(t, sdkClient(h), context.Background(), params)
	if blockTypes(next) != "text" {
		t.Fatalf("follow-up blocks %s", blockTypes(next))
	}
	last := h.fake.Requests()[len(h.fake.Requests())-1]
	history, _ := json.Marshal(last.Payload.ConversationState.History)
	for _, want := range []string{`[searched the web for \"kiro web search\"]`, "What docs.example.com says about kiro web search"} {
		if !strings.Contains(string(history), want) {
			t.Fatalf("history lacks %q: %s", want, history)
		}
	}

	recs := searchEvents(t, h, 2)
	if len(recs) != 2 || recs[0]["query"] != "kiro web search" || recs[0]["results"] != 3.0 || recs[0]["round"] != 1.0 || recs[0]["round_credits"] != 0.02 {
		t.Fatalf("flow records = %v", recs)
	}
}

// countingSearch calls web_search with a new query each time, n times,
// then answers.
func countingSearch(n int) func() func(*kirofake.Request) kirofake.Reply {
	return func() func(*kirofake.Request) kirofake.Reply {
		var mu sync.Mutex
		calls := 0
		return func(r *kirofake.Request) kirofake.Reply {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if calls > n {
				return kirofake.TextReply("Done searching.")
			}
			return kirofake.ToolReply(fmt.Sprintf("tooluse_s%d", calls), "web_search", fmt.Sprintf(`{"query":"topic %d"}`, calls))
		}
	}
}

// TestWebSearchMaxUses: past max_uses, a call gets max_uses_exceeded
// without a search, the model is told, and only the searches run count.
func TestWebSearchMaxUses(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	got := bothWays(t, h, searchParams(sdk.WebSearchTool20250305Param{MaxUses: sdk.Int(2)}, "research"), countingSearch(3))
	for way, msg := range got {
		want := "text server_tool_use web_search_tool_result text server_tool_use web_search_tool_result text server_tool_use web_search_tool_result text"
		if blockTypes(msg) != want {
			t.Fatalf("%s: %s", way, blockTypes(msg))
		}
		if n := len(msg.Content[5].AsWebSearchToolResult().Content.OfWebSearchResultBlockArray); n != 3 {
			t.Fatalf("%s: second search has %d results", way, n)
		}
		if e := msg.Content[8].AsWebSearchToolResult().Content; e.ErrorCode != "max_uses_exceeded" {
			t.Fatalf("%s: third search = %+v", way, e)
		}
		if msg.Usage.ServerToolUse.WebSearchRequests != 2 || msg.StopReason != "end_turn" {
			t.Fatalf("%s: usage %+v stop %s", way, msg.Usage.ServerToolUse, msg.StopReason)
		}
	}
	if n := len(h.fake.SearchCalls()); n != 4 {
		t.Fatalf("%d searches reached Kiro, want 2 per answer", n)
	}
	reqs := h.fake.Requests()
	told := reqs[3].ToolResults[0]
	if !strings.Contains(told.Text(), "limit of 2 searches") || told.Status != "error" {
		t.Fatalf("the model was told %+v", told)
	}
}

// TestWebSearchPauseTurn: a model that keeps searching is stopped after
// one request's worth of responses with pause_turn.
func TestWebSearchPauseTurn(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.fake.SetResponder(countingSearch(1000)())
	msg := streamMessage(t, sdkClient(h), context.Background(), searchParams(sdk.WebSearchTool20250305Param{}, "research forever"))
	if msg.StopReason != "pause_turn" || strings.Count(blockTypes(msg), "server_tool_use") != 10 {
		t.Fatalf("stop %s, blocks %s", msg.StopReason, blockTypes(msg))
	}
	if n := len(h.fake.Requests()); n != 10 {
		t.Fatalf("%d generations", n)
	}
}

// TestWebSearchDomains: allowed_domains and blocked_domains go to Kiro as
// site: terms and filter the results.
func TestWebSearchDomains(t *testing.T) {
	for _, tc := range []struct {
		name string
		tool sdk.WebSearchTool20250305Param
		sent string
		kept []string
	}{
		{"allowed", sdk.WebSearchTool20250305Param{AllowedDomains: []string{"go.dev"}}, "golang site:go.dev", []string{"https://go.dev/doc", "https://pkg.go.dev/net/http"}},
		{"blocked", sdk.WebSearchTool20250305Param{BlockedDomains: []string{"spam.example"}}, "golang -site:spam.example", []string{"https://go.dev/doc", "https://pkg.go.dev/net/http", "https://blog.example.org/go"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{})
			h.fake.SetSearchResponder(func(q string) []kirofake.SearchResult {
				// A search engine that ignores the operators.
				var out []kirofake.SearchResult
				for _, u := range []string{"https://go.dev/doc", "https://spam.example/go", "https://pkg.go.dev/net/http", "https://blog.example.org/go"} {
					out = append(out, kirofake.SearchResult{Title: u, URL: u, Snippet: "about go"})
				}
				return out
			})
			h.fake.SetResponder(kirofake.WebSearchRoundTrip("golang", "Go."))
			msg := streamMessage(t, sdkClient(h), context.Background(), searchParams(tc.tool, "go"))
			var urls []string
			for _, hit := range msg.Content[2].AsWebSearchToolResult().Content.OfWebSearchResultBlockArray {
				urls = append(urls, hit.URL)
			}
			if strings.Join(urls, " ") != strings.Join(tc.kept, " ") {
				t.Fatalf("results %v, want %v", urls, tc.kept)
			}
			if calls := h.fake.SearchCalls(); len(calls) != 1 || calls[0].Query != tc.sent {
				t.Fatalf("sent %+v", calls)
			}
			if rec := searchEvents(t, h, 1); len(rec) != 1 || rec[0]["found"] != 4.0 || rec[0]["sent_query"] != tc.sent {
				t.Fatalf("flow record %v", rec)
			}
		})
	}
}

// TestWebSearchRefusedBySearch: a search Kiro refuses ends as the
// Messages API's error code in a 200 answer, the model is told why and
// answers anyway.
func TestWebSearchRefusedBySearch(t *testing.T) {
	for _, tc := range []struct {
		name, code, told string
		setup            func(*kirofake.Server)
	}{
		{"plan without web search", "unavailable", "not allowed to search the web", func(f *kirofake.Server) { f.DenySearches("accta", true) }},
		{"throttled", "too_many_requests", "rate limited", func(f *kirofake.Server) { f.ThrottleSearches("accta", 5) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{})
			tc.setup(h.fake)
			h.fake.SetResponder(kirofake.WebSearchRoundTrip("kiro", "No luck."))
			msg := streamMessage(t, sdkClient(h), context.Background(), searchParams(sdk.WebSearchTool20250305Param{}, "search kiro"))
			if e := msg.Content[2].AsWebSearchToolResult().Content; e.Type != "web_search_tool_result_error" || string(e.ErrorCode) != tc.code {
				t.Fatalf("result %+v", e)
			}
			if msg.StopReason != "end_turn" || msg.Usage.ServerToolUse.WebSearchRequests != 0 {
				t.Fatalf("stop %s usage %+v", msg.StopReason, msg.Usage.ServerToolUse)
			}
			reqs := h.fake.Requests()
			if len(reqs) != 2 || !strings.Contains(reqs[1].ToolResults[0].Text(), tc.told) {
				t.Fatalf("the model was told %q", reqs[len(reqs)-1].ToolResults)
			}
			if rec := searchEvents(t, h, 1); len(rec) != 1 || rec[0]["error_code"] != tc.code {
				t.Fatalf("flow record %v", rec)
			}
		})
	}
}

// TestWebSearchWithoutProfile: an account without a Kiro profile (a
// Builder ID whose placeholder profile the runtime host refused, so it is
// served on the q host without one) answers, but its searches say it cannot
// search; nothing is sent.
func TestWebSearchWithoutProfile(t *testing.T) {
	h := newHarness(t, harnessOptions{
		fake: kirofake.Options{RefuseBuilderIDPlaceholder: true, Style: kirofake.StyleAny},
	})
	ctx := context.Background()
	for _, v := range h.mgr.List() {
		if err := h.mgr.SetEnabled(v.ID, false); err != nil {
			t.Fatal(err)
		}
	}
	token := "aorAAAAA" + strings.Repeat("b", 120)
	h.fake.AddAccount(kirofake.Account{ID: "builder", BuilderID: true, RefreshToken: token, ClientID: "client-1", ClientSecret: "secret-" + strings.Repeat("s", 40)})
	if _, err := h.mgr.AddRefreshToken(ctx, accounts.AddRequest{RefreshToken: token, AuthMethod: "idc", ClientID: "client-1", ClientSecret: "secret-" + strings.Repeat("s", 40)}); err != nil {
		t.Fatal(err)
	}
	h.fake.SetResponder(kirofake.WebSearchRoundTrip("kiro", "Answering without search."))
	msg := streamMessage(t, sdkClient(h), ctx, searchParams(sdk.WebSearchTool20250305Param{}, "search kiro"))
	if e := msg.Content[2].AsWebSearchToolResult().Content; e.ErrorCode != "unavailable" {
		t.Fatalf("result %+v", e)
	}
	// The runtime host refuses the placeholder first; the account moves to
	// the q host, answers, and the model is told it cannot search.
	reqs := h.fake.Requests()
	if len(reqs) != 3 || reqs[0].Account != "builder" || reqs[0].Status != 403 || !strings.Contains(reqs[2].ToolResults[0].Text(), "has no Kiro profile") {
		t.Fatalf("requests %d, told %v", len(reqs), reqs[len(reqs)-1].ToolResults)
	}
	if n := len(h.fake.SearchCalls()); n != 0 {
		t.Fatalf("%d searches were sent for an account without a profile", n)
	}
}

// TestWebSearchWithClientTool: a response that searches and calls a client
// tool ends there: the client runs its tool, and the search is in the
// answer it sends back.
func TestWebSearchWithClientTool(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	events := kirofake.Text("Searching and listing.", 1)
	events = append(events, kirofake.ToolCall("tooluse_ws", "web_search", `{"query":"kiro"}`, 2)...)
	events = append(events, kirofake.ToolCall("tooluse_ls", "Bash", `{"command":"ls"}`, 2)...)
	h.fake.Enqueue(kirofake.Reply{Events: append(events, kirofake.Metering(0.02), kirofake.ContextUsage(1))})
	params := searchParams(sdk.WebSearchTool20250305Param{}, "search kiro and list files")
	params.Tools = append(params.Tools, sdk.ToolUnionParam{OfTool: &sdk.ToolParam{Name: "Bash", InputSchema: sdk.ToolInputSchemaParam{Properties: map[string]any{"command": map[string]any{"type": "string"}}}}})
	first := streamMessage(t, sdkClient(h), context.Background(), params)
	if blockTypes(first) != "text server_tool_use web_search_tool_result tool_use" || first.StopReason != "tool_use" {
		t.Fatalf("blocks %s stop %s", blockTypes(first), first.StopReason)
	}
	if len(h.fake.Requests()) != 1 || first.Usage.ServerToolUse.WebSearchRequests != 1 {
		t.Fatalf("%d generations, usage %+v", len(h.fake.Requests()), first.Usage.ServerToolUse)
	}
	h.fake.SetResponder(func(r *kirofake.Request) kirofake.Reply { return kirofake.TextReply("Listed.") })
	params.Messages = append(params.Messages, first.ToParam(), sdk.NewUserMessage(sdk.NewToolResultBlock("tooluse_ls", "a.go b.go", false)))
	second := streamMessage(t, sdkClient(h), context.Background(), params)
	if blockTypes(second) != "text" {
		t.Fatalf("second answer %s", blockTypes(second))
	}
	last := h.fake.Requests()[1]
	if len(last.ToolResults) != 1 || last.ToolResults[0].ToolUseID != "tooluse_ls" {
		t.Fatalf("tool results %+v", last.ToolResults)
	}
	if history, _ := json.Marshal(last.Payload.ConversationState.History); !strings.Contains(string(history), "kiro - docs.example.com") {
		t.Fatalf("the search is not in the history: %s", history)
	}
}

// TestWebSearchLaterResponseFails: when the response after a search fails,
// the stream that already carries the search ends with an error event, and
// the flow says so.
func TestWebSearchLaterResponseFails(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.fake.Enqueue(kirofake.ToolReply("tooluse_s1", "web_search", `{"query":"kiro"}`), kirofake.ErrorReply(http.StatusInternalServerError, `{"message":"Internal error"}`))
	stream := sdkClient(h).Messages.NewStreaming(context.Background(), searchParams(sdk.WebSearchTool20250305Param{}, "search kiro"))
	defer stream.Close()
	var msg sdk.Message
	for stream.Next() {
		if err := msg.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if stream.Err() == nil || !strings.Contains(stream.Err().Error(), "web search loop failed") {
		t.Fatalf("stream error %v, blocks %s", stream.Err(), blockTypes(msg))
	}
	if blockTypes(msg) != "text server_tool_use web_search_tool_result" {
		t.Fatalf("blocks before the failure: %s", blockTypes(msg))
	}
	// Not streamed, nothing was sent before the failure: it is an error.
	h.fake.Enqueue(kirofake.ToolReply("tooluse_s1", "web_search", `{"query":"kiro"}`), kirofake.ErrorReply(http.StatusInternalServerError, `{"message":"Internal error"}`))
	_, err := sdkClient(h).Messages.New(context.Background(), searchParams(sdk.WebSearchTool20250305Param{}, "search kiro"))
	var apiErr *sdk.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadGateway || !strings.Contains(apiErr.Error(), "web search loop failed") {
		t.Fatalf("non-streamed answer: %v", err)
	}
	rows := waitFlows(t, h, 2, nil)
	if len(rows) != 2 {
		t.Fatalf("%d flows", len(rows))
	}
	for _, r := range rows {
		if r.Status != flows.StatusFailed || !strings.Contains(r.ErrorMessage, "HTTP 500") {
			t.Fatalf("flow %+v", r)
		}
	}
}

// TestWebSearchRequestErrors: a web search tool the Messages API would
// refuse is refused the same way.
func TestWebSearchRequestErrors(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	resp := h.post("/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"x"}],
	  "tools":[{"type":"web_search_20250305","name":"web_search","allowed_domains":["a.com"],"blocked_domains":["b.com"]}]}`, nil)
	body := readAll(t, resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(body, `"type":"invalid_request_error"`) || !strings.Contains(body, "cannot be used together") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if len(h.fake.Requests()) != 0 {
		t.Fatal("a refused request reached Kiro")
	}
}

// TestWebSearchResponsesAPI: the Responses API's web_search tool runs the
// same loop; the client sees web_search_call items and url_citation
// annotations, streamed and not.
func TestWebSearchResponsesAPI(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	hc := &http.Client{}
	t.Cleanup(hc.CloseIdleConnections)
	for _, stream := range []bool{true, false} {
		h.fake.SetResponder(kirofake.WebSearchRoundTrip("kiro web search", "Kiro searches."))
		body := fmt.Sprintf(`{"model":"gpt-5","stream":%t,"include":["web_search_call.action.sources"],
		  "tools":[{"type":"web_search","external_web_access":true}],"input":"search the web for kiro web search"}`, stream)
		req, _ := http.NewRequest(http.MethodPost, h.url+"/v1/responses", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var final responses.Response
		if stream {
			s := ssestream.NewStream[responses.ResponseStreamEventUnion](ssestream.NewDecoder(resp), nil)
			defer s.Close()
			for s.Next() {
				if ev := s.Current(); ev.Type == "response.completed" {
					final = ev.AsResponseCompleted().Response
				}
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
		} else if err := json.Unmarshal([]byte(readAll(t, resp.Body)), &final); err != nil {
			t.Fatal(err)
		}
		if len(final.Output) != 3 {
			t.Fatalf("stream %v: output %s", stream, final.RawJSON())
		}
		ws := final.Output[1].AsWebSearchCall()
		if ws.Status != "completed" || ws.Action.Query != "kiro web search" || !strings.Contains(final.Output[1].RawJSON(), `"url":"https://docs.example.com/kiro-web-search"`) {
			t.Fatalf("stream %v: search %s", stream, final.Output[1].RawJSON())
		}
		msg := final.Output[2].AsMessage()
		if len(msg.Content) != 1 || len(msg.Content[0].Annotations) != 1 || msg.Content[0].Annotations[0].URL != "https://docs.example.com/kiro-web-search" {
			t.Fatalf("stream %v: message %s", stream, final.Output[2].RawJSON())
		}
	}
}
