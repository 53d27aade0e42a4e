package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	oai "github.com/openai/openai-go"
	"github.com/openai/openai-go/option"
	"github.com/openai/openai-go/responses"

	"github.com/kirobar/kirobar/internal/testkit/kirofake"
)

func openAIClient(h *harness) oai.Client {
	return oai.NewClient(option.WithBaseURL(h.url+"/v1"), option.WithAPIKey(testKey), option.WithMaxRetries(0))
}

// TestOpenAIChatStreamingToolRoundTrip drives Chat Completions with the
// official OpenAI Go SDK: streamed tool call, tool result, final answer.
func TestOpenAIChatStreamingToolRoundTrip(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.fake.SetResponder(kirofake.ToolRoundTrip("get_weather", "tooluse_c1", `{"city":"Oslo"}`, "Forecast:"))
	client := openAIClient(h)
	ctx := context.Background()
	params := oai.ChatCompletionNewParams{
		Model:         "gpt-4o",
		Messages:      []oai.ChatCompletionMessageParamUnion{oai.SystemMessage("Be brief."), oai.UserMessage("Weather in Oslo?")},
		StreamOptions: oai.ChatCompletionStreamOptionsParam{IncludeUsage: oai.Bool(true)},
		Tools: []oai.ChatCompletionToolParam{{Function: oai.FunctionDefinitionParam{
			Name:       "get_weather",
			Parameters: oai.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
		}}},
	}
	acc := streamChat(t, client, ctx, params)
	if len(acc.Choices) != 1 || acc.Choices[0].FinishReason != "tool_calls" {
		t.Fatalf("choices %+v", acc.Choices)
	}
	calls := acc.Choices[0].Message.ToolCalls
	if len(calls) != 1 || calls[0].ID != "tooluse_c1" || calls[0].Function.Name != "get_weather" || calls[0].Function.Arguments != `{"city":"Oslo"}` {
		t.Fatalf("tool calls %+v", calls)
	}
	if acc.Usage.PromptTokens == 0 || acc.Usage.CompletionTokens == 0 {
		t.Fatalf("usage chunk missing: %+v", acc.Usage)
	}
	params.Messages = append(params.Messages, acc.Choices[0].Message.ToParam(), oai.ToolMessage("cold, -3°C", calls[0].ID))
	final := streamChat(t, client, ctx, params)
	if got := final.Choices[0].Message.Content; !strings.Contains(got, "Forecast: cold, -3°C") || final.Choices[0].FinishReason != "stop" {
		t.Fatalf("final %q (%s)", got, final.Choices[0].FinishReason)
	}
	if m := h.fake.Requests()[0].ModelID; !strings.HasPrefix(m, "claude-sonnet") {
		t.Fatalf("gpt-4o went upstream as %q", m)
	}
}

func streamChat(t *testing.T, client oai.Client, ctx context.Context, params oai.ChatCompletionNewParams) oai.ChatCompletionAccumulator {
	t.Helper()
	stream := client.Chat.Completions.NewStreaming(ctx, params)
	var acc oai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	return acc
}

func TestOpenAIChatNonStreamAndErrors(t *testing.T) {
	h := newHarness(t, harnessOptions{fake: kirofake.Options{ContextLimitTokens: 1000}})
	client := openAIClient(h)
	ctx := context.Background()
	resp, err := client.Chat.Completions.New(ctx, oai.ChatCompletionNewParams{
		Model: "gpt-4o-mini", Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("hi")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "Hello from kirofake." || resp.Model != "gpt-4o-mini" {
		t.Fatalf("response %+v", resp)
	}
	_, err = client.Chat.Completions.New(ctx, oai.ChatCompletionNewParams{
		Model: "gpt-4o", Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage(strings.Repeat("long ", 3000))},
	})
	var apiErr *oai.Error
	if !asOpenAIError(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "context_length_exceeded" {
		t.Fatalf("over-long: %v", err)
	}
	_, err = client.Chat.Completions.New(ctx, oai.ChatCompletionNewParams{
		Model: "gpt-4o", N: oai.Int(2), Messages: []oai.ChatCompletionMessageParamUnion{oai.UserMessage("hi")},
	})
	if !asOpenAIError(err, &apiErr) || apiErr.StatusCode != 400 {
		t.Fatalf("n=2: %v", err)
	}
}

func asOpenAIError(err error, target **oai.Error) bool {
	e, ok := err.(*oai.Error)
	*target = e
	return ok
}

// TestOpenAIResponsesFunctionCall: the Responses stream Codex reads, parsed
// by the official SDK, carrying a function call and usage.
func TestOpenAIResponsesFunctionCall(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.fake.Enqueue(kirofake.Reply{Events: append(kirofake.Text("Let me look.", 2), kirofake.ToolCall("tooluse_r1", "exec_command", `{"cmd":"ls"}`, 3)...)})
	client := openAIClient(h)
	stream := client.Responses.NewStreaming(context.Background(), responses.ResponseNewParams{
		Model:        "gpt-5",
		Instructions: oai.String("You are a coding agent."),
		Input:        responses.ResponseNewParamsInputUnion{OfString: oai.String("list files")},
		Tools: []responses.ToolUnionParam{{OfFunction: &responses.FunctionToolParam{
			Name: "exec_command", Parameters: map[string]any{"type": "object", "properties": map[string]any{"cmd": map[string]any{"type": "string"}}},
		}}},
	})
	var types []string
	var completed responses.Response
	var args string
	for stream.Next() {
		ev := stream.Current()
		types = append(types, ev.Type)
		switch ev.Type {
		case "response.function_call_arguments.done":
			args = ev.Arguments
		case "response.completed":
			completed = ev.Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if args != `{"cmd":"ls"}` {
		t.Fatalf("arguments %q; events %v", args, types)
	}
	if completed.Status != "completed" || completed.Usage.TotalTokens == 0 {
		t.Fatalf("completed %+v; events %v", completed, types)
	}
	if types[0] != "response.created" || types[1] != "response.in_progress" {
		t.Fatalf("events %v", types)
	}
}

func TestModelsEndpoint(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	client := openAIClient(h)
	page, err := client.Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, m := range page.Data {
		ids[m.ID] = true
	}
	if !ids["claude-sonnet-4.5"] || !ids["gpt-4o"] {
		t.Fatalf("models %v", ids)
	}
	req, _ := http.NewRequest(http.MethodGet, h.url+"/v1/models", nil)
	req.Header.Set("x-api-key", testKey)
	req.Header.Set("anthropic-version", "2023-06-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Data []struct{ ID, Type string } `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list.Data) == 0 || list.Data[0].Type != "model" {
		t.Fatalf("anthropic list %+v %v", list, err)
	}
	resp.Body.Close()
	m, err := client.Models.Get(context.Background(), "claude-opus-4.7")
	if err != nil || m.ID != "claude-opus-4.7" {
		t.Fatalf("get %+v %v", m, err)
	}
	if _, err := client.Models.Get(context.Background(), "nope"); err == nil {
		t.Fatal("unknown model found")
	}
}

// TestCodexToolRoundTrip runs the real Codex CLI (Responses API) against
// kirobar: the model asks for a shell command, Codex runs it and sends the
// output back, the model answers.
func TestCodexToolRoundTrip(t *testing.T) {
	codex := clientBin(t, "codex")
	h := newHarness(t, harnessOptions{})
	var sawTool bool
	h.fake.SetResponder(func(r *kirofake.Request) kirofake.Reply {
		has := false
		for _, n := range r.Tools {
			has = has || n == "exec_command"
		}
		switch {
		case len(r.ToolResults) > 0:
			return kirofake.TextReply("Done: " + r.ToolResults[0].Text())
		case has && strings.Contains(r.CurrentContent, "write OK into out.txt"):
			sawTool = true
			return kirofake.ToolReply("tooluse_cx_1", "exec_command", `{"cmd":"echo OK > out.txt && echo written"}`)
		default:
			return kirofake.TextReply("ok")
		}
	})
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".codex"), 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := `model = "gpt-5"
model_provider = "kirobar"
[model_providers.kirobar]
name = "kirobar"
base_url = "` + h.url + `/v1"
env_key = "KIROBAR_KEY"
wire_api = "responses"
`
	if err := os.WriteFile(filepath.Join(home, ".codex", "config.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	out, err := runClient(t, work, clientEnv(home, "KIROBAR_KEY="+testKey), codex,
		"exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox", "Please write OK into out.txt using the shell.")
	if err != nil {
		t.Fatalf("codex failed: %v\n%s", err, out)
	}
	if !sawTool {
		t.Fatalf("the prompt never reached the model with exec_command declared:\n%s", out)
	}
	data, err := os.ReadFile(filepath.Join(work, "out.txt"))
	if err != nil || strings.TrimSpace(string(data)) != "OK" {
		t.Fatalf("out.txt = %q, %v\ncodex output:\n%s", data, err, out)
	}
	if !strings.Contains(string(out), "Done:") {
		t.Fatalf("codex did not print the final answer:\n%s", out)
	}
}
