package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	sdk "github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"

	"github.com/kirobar/kirobar/internal/testkit/kirofake"
)

func sdkClient(h *harness) *sdk.Client {
	c := sdk.NewClient(option.WithBaseURL(h.url), option.WithAPIKey(testKey), option.WithMaxRetries(0))
	return &c
}

// TestSDKStreamingToolRoundTrip drives kirobar with the official Anthropic
// Go SDK: a streamed tool call, the tool result sent back, the final answer.
func TestSDKStreamingToolRoundTrip(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.fake.SetResponder(kirofake.ToolRoundTrip("get_weather", "tooluse_w1", `{"city":"Paris"}`, "Forecast:"))
	client := sdkClient(h)
	ctx := context.Background()
	params := sdk.MessageNewParams{
		Model:     "claude-opus-5-5",
		MaxTokens: 1024,
		Messages:  []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock("What's the weather in Paris?"))},
		Tools: []sdk.ToolUnionParam{{OfTool: &sdk.ToolParam{
			Name:        "get_weather",
			Description: sdk.String("Current weather for a city"),
			InputSchema: sdk.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}, Required: []string{"city"}},
		}}},
	}
	first := streamMessage(t, client, ctx, params)
	if first.StopReason != "tool_use" {
		t.Fatalf("stop reason %q, content %+v", first.StopReason, first.Content)
	}
	var call sdk.ContentBlockUnion
	for _, b := range first.Content {
		if b.Type == "tool_use" {
			call = b
		}
	}
	if call.Name != "get_weather" || call.ID != "tooluse_w1" || string(call.Input) != `{"city":"Paris"}` {
		t.Fatalf("tool call %+v input %s", call, call.Input)
	}
	if first.Model != "claude-opus-5-5" {
		t.Fatalf("model echoed as %q", first.Model)
	}
	if first.Usage.InputTokens <= 0 {
		t.Fatalf("usage %+v", first.Usage)
	}
	params.Messages = append(params.Messages, first.ToParam(),
		sdk.NewUserMessage(sdk.NewToolResultBlock(call.ID, "sunny, 21°C", false)))
	second := streamMessage(t, client, ctx, params)
	text := ""
	for _, b := range second.Content {
		text += b.Text
	}
	if second.StopReason != "end_turn" || !strings.Contains(text, "Forecast: sunny, 21°C") {
		t.Fatalf("final %q stop %q", text, second.StopReason)
	}
	reqs := h.fake.Requests()
	last := reqs[len(reqs)-1]
	if len(last.ToolResults) != 1 || last.ModelID == "" || !strings.HasPrefix(last.ModelID, "claude-opus") {
		t.Fatalf("upstream saw results %+v model %q", last.ToolResults, last.ModelID)
	}
}

func streamMessage(t *testing.T, client *sdk.Client, ctx context.Context, params sdk.MessageNewParams) sdk.Message {
	t.Helper()
	stream := client.Messages.NewStreaming(ctx, params)
	var msg sdk.Message
	for stream.Next() {
		if err := msg.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	return msg
}

func TestNonStreamingText(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.fake.Enqueue(kirofake.Reply{Events: append(kirofake.Text("Hello there, friend.", 4), kirofake.Metering(0.25), kirofake.ContextUsage(1.5))})
	msg, err := sdkClient(h).Messages.New(context.Background(), sdk.MessageNewParams{
		Model: "claude-sonnet-4-5", MaxTokens: 100,
		System:   []sdk.TextBlockParam{{Text: "Be brief."}},
		Messages: []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock("hi"))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text != "Hello there, friend." || msg.StopReason != "end_turn" {
		t.Fatalf("message %+v", msg)
	}
	// 1.5 % of sonnet-4.5's window is exact usage from the upstream.
	if msg.Usage.InputTokens != 3000 {
		t.Fatalf("input tokens %d, want 3000 from contextUsageEvent", msg.Usage.InputTokens)
	}
}

func TestAuthAndHost(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	body := `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	for _, tc := range []struct {
		name   string
		header map[string]string
		status int
		want   string
	}{
		{"no key", map[string]string{"x-api-key": ""}, 401, `"type":"authentication_error"`},
		{"wrong key", map[string]string{"x-api-key": "kb-wrong-key-000000000000"}, 401, `"type":"authentication_error"`},
		{"bearer", map[string]string{"x-api-key": "", "Authorization": "Bearer " + testKey}, 200, `"type":"message"`},
		{"rebinding host", map[string]string{"Host": "evil.example:8999"}, 403, `"type":"permission_error"`},
		{"wrong content type", map[string]string{"Content-Type": "text/plain"}, 415, `"type":"invalid_request_error"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, h.url+"/v1/messages", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("x-api-key", testKey)
			for k, v := range tc.header {
				if k == "Host" {
					req.Host = v
					continue
				}
				if v == "" {
					req.Header.Del(k)
				} else {
					req.Header.Set(k, v)
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got := readAll(t, resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(got, tc.want) {
				t.Fatalf("status %d body %s", resp.StatusCode, got)
			}
			if strings.Contains(got, testKey) {
				t.Fatal("client key echoed in a response")
			}
		})
	}
}

// TestOverLongConversation: Kiro's CONTENT_LENGTH_EXCEEDS_THRESHOLD becomes
// the 400 Claude Code recognises and compacts on, never a 5xx it retries.
func TestOverLongConversation(t *testing.T) {
	h := newHarness(t, harnessOptions{fake: kirofake.Options{ContextLimitTokens: 2000}})
	body := `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"` + strings.Repeat("word ", 4000) + `"}]}`
	resp := h.post("/v1/messages", body, nil)
	got := readAll(t, resp.Body)
	if resp.StatusCode != 400 {
		t.Fatalf("status %d body %s", resp.StatusCode, got)
	}
	var e struct {
		Type  string `json:"type"`
		Error struct{ Type, Message string }
	}
	if err := json.Unmarshal([]byte(got), &e); err != nil {
		t.Fatal(err)
	}
	var n, m int
	if _, err := fmt.Sscanf(e.Error.Message, "prompt is too long: %d tokens > %d maximum", &n, &m); err != nil || n <= m {
		t.Fatalf("message %q does not parse as Claude Code expects (%v)", e.Error.Message, err)
	}
	if e.Type != "error" || e.Error.Type != "invalid_request_error" {
		t.Fatalf("error %s", got)
	}
}

// TestLargeRequest: a 600 KB conversation, the size long agent sessions
// reach, goes through.
func TestLargeRequest(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	var msgs []string
	chunk := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 1500) // ~67 KB
	for i := 0; i < 9; i++ {
		msgs = append(msgs, fmt.Sprintf(`{"role":"user","content":"part %d: %s"}`, i, chunk), fmt.Sprintf(`{"role":"assistant","content":"noted %d"}`, i))
	}
	msgs = append(msgs, `{"role":"user","content":"Summarise."}`)
	body := `{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[` + strings.Join(msgs, ",") + `]}`
	if len(body) < 600_000 {
		t.Fatalf("request is only %d bytes", len(body))
	}
	resp := h.post("/v1/messages", body, nil)
	got := readAll(t, resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(got, "Hello from kirofake.") {
		t.Fatalf("status %d body %.300s", resp.StatusCode, got)
	}
	last := h.fake.Requests()[0]
	if last.CurrentContent != "Summarise." || last.Status != 200 {
		t.Fatalf("upstream saw %q status %d", last.CurrentContent, last.Status)
	}
}

// TestClientDisconnectCancelsUpstream: when the client hangs up mid-stream,
// kirobar notices (at the next write or ping) and cancels the Kiro request.
func TestClientDisconnectCancelsUpstream(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	gate := make(chan struct{})
	defer close(gate)
	events := kirofake.Text("first words", 1)
	stall := kirofake.Text(" never sent", 1)[0]
	stall.Gate = gate
	h.fake.Enqueue(kirofake.Reply{Events: append(events, stall)})
	resp := h.post("/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "first words") {
			break
		}
	}
	resp.Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for h.fake.Canceled() == 0 {
		if ctx.Err() != nil {
			t.Fatal("the upstream request was not cancelled after the client hung up")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestThinkingAndTruncatedToolCall(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.fake.Enqueue(
		kirofake.Reply{Events: append(kirofake.Thinking("Let me think.", "The answer is 4."), kirofake.Metering(0.01), kirofake.Metadata("END_TURN"))},
		kirofake.Reply{Events: kirofake.TruncatedToolCall("tooluse_t1", "Write", `{"file_path":"/a.go","content":"package main`, 3)},
	)
	client := sdkClient(h)
	ctx := context.Background()
	params := sdk.MessageNewParams{
		Model: "claude-opus-4-6", MaxTokens: 4096,
		Thinking: sdk.ThinkingConfigParamUnion{OfEnabled: &sdk.ThinkingConfigEnabledParam{BudgetTokens: 2048}},
		Messages: []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock("2+2?"))},
	}
	msg := streamMessage(t, client, ctx, params)
	if len(msg.Content) != 2 || msg.Content[0].Type != "thinking" || msg.Content[0].Thinking != "Let me think." || msg.Content[1].Text != "The answer is 4." {
		t.Fatalf("content %+v", msg.Content)
	}
	if !strings.Contains(h.fake.Requests()[0].CurrentContent+string(h.fake.Requests()[0].Body), "<thinking_mode>") {
		t.Fatal("thinking was not requested upstream")
	}
	params.Thinking = sdk.ThinkingConfigParamUnion{}
	params.Tools = []sdk.ToolUnionParam{{OfTool: &sdk.ToolParam{Name: "Write", InputSchema: sdk.ToolInputSchemaParam{Properties: map[string]any{}}}}}
	cut := streamMessage(t, client, ctx, params)
	for _, b := range cut.Content {
		if b.Type == "tool_use" {
			t.Fatalf("a cut-off tool call reached the client: %s", b.Input)
		}
	}
	if cut.StopReason != "max_tokens" || !strings.Contains(cut.Content[len(cut.Content)-1].Text, "Write") {
		t.Fatalf("stop %q content %+v", cut.StopReason, cut.Content)
	}
}

func TestUpstreamErrors(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	body := `{"model":"claude-sonnet-4-5","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}`

	// Throttled before the first byte, with no other account: 429 and Retry-After.
	h.fake.Throttle("accta", 1, 7*time.Second)
	resp := h.post("/v1/messages", body, nil)
	got := readAll(t, resp.Body)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(got, "rate_limit_error") {
		t.Fatalf("throttled: status %d retry-after %q body %s", resp.StatusCode, resp.Header.Get("Retry-After"), got)
	}

	// An exception after content: an in-stream error event, status already 200.
	h2 := newHarness(t, harnessOptions{})
	h2.fake.Enqueue(kirofake.Reply{Events: append(kirofake.Text("partial", 1), kirofake.Exception("InternalServerException", "boom"))})
	resp = h2.post("/v1/messages", body, nil)
	got = readAll(t, resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(got, "event: error") || !strings.Contains(got, "partial") {
		t.Fatalf("mid-stream: status %d body %s", resp.StatusCode, got)
	}
}

func TestCountTokensAndHealth(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	resp := h.post("/v1/messages/count_tokens?beta=true", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"`+strings.Repeat("hello ", 400)+`"}]}`, nil)
	got := readAll(t, resp.Body)
	var n struct {
		InputTokens int `json:"input_tokens"`
	}
	if err := json.Unmarshal([]byte(got), &n); err != nil || n.InputTokens < 400 || n.InputTokens > 2000 {
		t.Fatalf("count_tokens %s", got)
	}
	hr, err := http.Get(h.url + "/health")
	if err != nil {
		t.Fatal(err)
	}
	got = readAll(t, hr.Body)
	if hr.StatusCode != 200 || !strings.Contains(got, `"ready":1`) || !strings.Contains(got, `"status":"ok"`) {
		t.Fatalf("health %d %s", hr.StatusCode, got)
	}
}

// TestBearerInvalidForcesOneRefresh: a 403 "bearer token is invalid" makes
// kirobar refresh that account's token once and retry on it; the client
// never sees the failure.
func TestBearerInvalidForcesOneRefresh(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	body := `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	warm := h.post("/v1/messages", body, nil)
	if got := readAll(t, warm.Body); warm.StatusCode != 200 {
		t.Fatalf("warm-up status %d: %s", warm.StatusCode, got)
	}
	before := h.fake.Stats()
	h.fake.InvalidateAccessTokens("accta")
	resp := h.post("/v1/messages", body, nil)
	got := readAll(t, resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d body %s\naccounts %+v\nupstream %+v", resp.StatusCode, got, h.mgr.List(), h.fake.Stats())
	}
	after := h.fake.Stats()
	if after.Refreshes["accta"]-before.Refreshes["accta"] != 1 {
		t.Fatalf("refreshes %v -> %v, want exactly one", before.Refreshes, after.Refreshes)
	}
	reqs := h.fake.Requests()
	if n := len(reqs); n < 3 || reqs[n-2].Status != 403 || reqs[n-1].Status != 200 || reqs[n-1].Account != "accta" {
		t.Fatalf("upstream calls %+v", reqs)
	}
}
