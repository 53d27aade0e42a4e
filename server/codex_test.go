package server_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kirobar/kirobar/internal/testkit/kirofake"
	"github.com/kirobar/kirobar/kiro/rules"
)

// writeCodexConfig points a Codex home at kirobar. model is left out when
// empty, so Codex runs its own default model, as a user's fresh setup does.
func writeCodexConfig(t *testing.T, home, url, model string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(home, ".codex"), 0o700); err != nil {
		t.Fatal(err)
	}
	var cfg strings.Builder
	if model != "" {
		cfg.WriteString(`model = "` + model + "\"\n")
	}
	cfg.WriteString(`model_provider = "kirobar"
[model_providers.kirobar]
name = "kirobar"
base_url = "` + url + `/v1"
env_key = "KIROBAR_KEY"
wire_api = "responses"
`)
	if err := os.WriteFile(filepath.Join(home, ".codex", "config.toml"), []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestCodexDefaultModelCodeMode runs the real Codex CLI with no model in
// its config. Its default model works in code mode: the tools come in an
// additional_tools input item and the one the model calls is the custom
// (free-form) tool "exec", whose input is JavaScript that Codex runs,
// calling its shell through tools.exec_command. The model's call must come
// back as a custom_tool_call Codex runs, and its output must reach the
// model on the next turn.
func TestCodexDefaultModelCodeMode(t *testing.T) {
	codex := clientBin(t, "codex")
	h := newHarness(t, harnessOptions{})
	const script = "const r = await tools.exec_command({cmd: \"echo OK > out.txt && echo written-by-exec\"});\ntext(r.output);"
	input, err := json.Marshal(map[string]string{"input": script})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var sawExec bool
	var problems []string
	h.fake.SetResponder(func(r *kirofake.Request) kirofake.Reply {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case len(r.ToolResults) > 0:
			// The call went back to Kiro as the tool use it was, with
			// the script as its input.
			if use := lastToolUse(r); use == nil || use.Name != "exec" || string(use.Input) != string(input) {
				problems = append(problems, fmt.Sprintf("history tool use = %+v", use))
			}
			return kirofake.TextReply("Done: " + r.ToolResults[0].Text())
		case hasTool(r, "exec") && strings.Contains(r.CurrentContent, "write OK into out.txt"):
			sawExec = true
			// exec reached Kiro as a function of one string, described
			// with its grammar and the nested tools a script can call.
			spec := toolSpec(r, "exec")
			if spec == nil || !strings.Contains(string(spec.InputSchema.JSON), `"input":{"type":"string"`) ||
				!strings.Contains(spec.Description, "Lark grammar") || !strings.Contains(spec.Description, "exec_command(args: {") {
				problems = append(problems, fmt.Sprintf("exec declared as %+v", spec))
			}
			return kirofake.ToolReply("tooluse_cm_1", "exec", string(input))
		default:
			return kirofake.TextReply("ok")
		}
	})
	home := t.TempDir()
	writeCodexConfig(t, home, h.url, "")
	work := t.TempDir()
	out, err := runClient(t, work, clientEnv(home, "KIROBAR_KEY="+testKey), codex,
		"exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox", "Please write OK into out.txt using the shell.")
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		t.Fatalf("codex failed: %v\n%s\nupstream saw:\n%s", err, out, upstreamSummary(h))
	}
	if len(problems) > 0 {
		t.Errorf("upstream requests: %s", strings.Join(problems, "; "))
	}
	if !sawExec {
		t.Fatalf("the prompt never reached the model with exec declared:\n%s\nupstream saw:\n%s", out, upstreamSummary(h))
	}
	data, err := os.ReadFile(filepath.Join(work, "out.txt"))
	if err != nil || strings.TrimSpace(string(data)) != "OK" {
		t.Fatalf("out.txt = %q, %v\ncodex output:\n%s\nupstream saw:\n%s", data, err, out, upstreamSummary(h))
	}
	if !strings.Contains(string(out), "Done:") || !strings.Contains(string(out), "written-by-exec") {
		t.Fatalf("codex did not print the final answer with the script's output:\n%s\nupstream saw:\n%s", out, upstreamSummary(h))
	}
}

func hasTool(r *kirofake.Request, name string) bool {
	for _, n := range r.Tools {
		if n == name {
			return true
		}
	}
	return false
}

// toolSpec is the declaration of a tool in a recorded upstream request.
func toolSpec(r *kirofake.Request, name string) *rules.ToolSpecification {
	if r.Payload == nil {
		return nil
	}
	cur := r.Payload.ConversationState.CurrentMessage.UserInputMessage
	if cur == nil || cur.UserInputMessageContext == nil {
		return nil
	}
	for _, t := range cur.UserInputMessageContext.Tools {
		if t.ToolSpecification != nil && t.ToolSpecification.Name == name {
			return t.ToolSpecification
		}
	}
	return nil
}

// lastToolUse is the last tool call in a recorded request's history.
func lastToolUse(r *kirofake.Request) *rules.ToolUse {
	if r.Payload == nil {
		return nil
	}
	hist := r.Payload.ConversationState.History
	for i := len(hist) - 1; i >= 0; i-- {
		if a := hist[i].AssistantResponseMessage; a != nil && a.ToolUses != nil && len(*a.ToolUses) > 0 {
			uses := *a.ToolUses
			return &uses[len(uses)-1]
		}
	}
	return nil
}

// upstreamSummary lists what the fake received, for a failure message.
func upstreamSummary(h *harness) string {
	var b strings.Builder
	for i, r := range h.fake.Requests() {
		fmt.Fprintf(&b, "#%d tools=", i)
		b.WriteString(strings.Join(r.Tools, ","))
		b.WriteString(" current=")
		b.WriteString(trimTo(r.CurrentContent, 200))
		for _, tr := range r.ToolResults {
			b.WriteString(" result=")
			b.WriteString(trimTo(tr.Text(), 300))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func trimTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// TestCustomToolCallsOverHTTP: non-streaming Responses and Chat
// Completions requests that declare a custom tool get the model's call
// back as a custom tool call with the free-form text, through the real
// server.
func TestCustomToolCallsOverHTTP(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	const patch = "*** Begin Patch\n*** End Patch\n"
	input, err := json.Marshal(map[string]string{"input": patch})
	if err != nil {
		t.Fatal(err)
	}
	h.fake.SetResponder(func(r *kirofake.Request) kirofake.Reply {
		if !hasTool(r, "apply_patch") {
			return kirofake.TextReply("apply_patch was not declared")
		}
		return kirofake.ToolReply("tooluse_p1", "apply_patch", string(input))
	})
	tool := `{"type":"custom","name":"apply_patch","description":"Edit files.","format":{"type":"grammar","syntax":"lark","definition":"start: /[\\s\\S]+/"}}`

	resp := h.post("/v1/responses", `{"model":"gpt-6.1-sol","input":[{"type":"additional_tools","role":"developer","tools":[{"type":"namespace","name":"functions","tools":[`+tool+`]}]},{"role":"user","content":"patch it"}]}`, nil)
	body := readAll(t, resp.Body)
	var r struct {
		Output []map[string]any `json:"output"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || resp.StatusCode != 200 || len(r.Output) != 2 {
		t.Fatalf("responses: %d %s", resp.StatusCode, body)
	}
	call := r.Output[1]
	if call["type"] != "custom_tool_call" || call["name"] != "apply_patch" || call["namespace"] != "functions" || call["input"] != patch || call["call_id"] != "tooluse_p1" {
		t.Errorf("responses output item = %v", call)
	}

	resp = h.post("/v1/chat/completions", `{"model":"gpt-4o","tools":[{"type":"custom","custom":{"name":"apply_patch"}}],"messages":[{"role":"user","content":"patch it"}]}`, nil)
	body = readAll(t, resp.Body)
	var cc struct {
		Choices []struct {
			Message struct {
				ToolCalls []struct {
					ID, Type string
					Custom   struct{ Name, Input string }
				} `json:"tool_calls"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	if err := json.Unmarshal([]byte(body), &cc); err != nil || resp.StatusCode != 200 || len(cc.Choices) != 1 {
		t.Fatalf("chat: %d %s", resp.StatusCode, body)
	}
	calls := cc.Choices[0].Message.ToolCalls
	if len(calls) != 1 || calls[0].Type != "custom" || calls[0].Custom.Name != "apply_patch" || calls[0].Custom.Input != patch || cc.Choices[0].FinishReason != "tool_calls" {
		t.Errorf("chat message = %s", body)
	}
}
