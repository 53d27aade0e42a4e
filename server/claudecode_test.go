package server_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kirobar/kirobar/flows"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
)

// TestClaudeCodeToolRoundTrip runs the real Claude Code CLI against
// kirobar: the model (the fake) asks for a Bash command that writes a
// file, Claude Code runs it and sends the result back, the model answers.
func TestClaudeCodeToolRoundTrip(t *testing.T) {
	claude := clientBin(t, "claude")
	h := newHarness(t, harnessOptions{})
	var sawBash, sawPrompt bool
	h.fake.SetResponder(func(r *kirofake.Request) kirofake.Reply {
		hasBash := false
		for _, name := range r.Tools {
			if name == "Bash" {
				hasBash = true
			}
		}
		switch {
		case len(r.ToolResults) > 0:
			return kirofake.TextReply("Done: " + r.ToolResults[0].Text())
		case hasBash && strings.Contains(r.CurrentContent, "write OK into out.txt"):
			sawBash, sawPrompt = true, true
			return kirofake.ToolReply("tooluse_cc_1", "Bash", `{"command":"echo OK > out.txt","description":"Write OK to out.txt"}`)
		default:
			return kirofake.TextReply("ok")
		}
	})
	work := t.TempDir()
	home := t.TempDir()
	out, err := runClient(t, work, clientEnv(home,
		"ANTHROPIC_BASE_URL="+h.url,
		"ANTHROPIC_API_KEY="+testKey,
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
		"DISABLE_AUTOUPDATER=1",
		"IS_SANDBOX=1",
	), claude, "-p", "Please write OK into out.txt using the shell.", "--output-format", "json", "--dangerously-skip-permissions")
	if err != nil {
		t.Fatalf("claude failed: %v\n%s", err, out)
	}
	if !sawBash || !sawPrompt {
		t.Fatalf("the prompt never reached the model as the question with the Bash tool declared; requests: %d\n%s", len(h.fake.Requests()), out)
	}
	data, err := os.ReadFile(filepath.Join(work, "out.txt"))
	if err != nil || strings.TrimSpace(string(data)) != "OK" {
		t.Fatalf("out.txt = %q, %v\nclaude output:\n%s", data, err, out)
	}
	var result struct {
		Type    string `json:"type"`
		IsError bool   `json:"is_error"`
		Result  string `json:"result"`
	}
	line := lastJSONLine(out)
	if err := json.Unmarshal(line, &result); err != nil {
		t.Fatalf("claude output is not JSON: %v\n%s", err, out)
	}
	if result.IsError || !strings.HasPrefix(result.Result, "Done:") {
		t.Fatalf("claude result %+v\n%s", result, out)
	}
	var toolResult *kirofake.Request
	for _, r := range h.fake.Requests() {
		if len(r.ToolResults) > 0 {
			r := r
			toolResult = &r
		}
	}
	if toolResult == nil || toolResult.ToolResults[0].ToolUseID != "tooluse_cc_1" {
		t.Fatalf("the tool result did not travel back upstream: %+v", toolResult)
	}
	checkFlowsExplainSession(t, h)
}

// checkFlowsExplainSession: after a real client session, every request it
// made has a flow whose details show what was asked, what went upstream
// and what came back — what `kirobar flows list` and `flows show` print.
func checkFlowsExplainSession(t *testing.T, h *harness) {
	t.Helper()
	store := flows.NewStore(h.db, h.home)
	want := len(h.fake.Requests())
	ctx := context.Background()
	var rows []flows.Row
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		rows, err = store.List(ctx, flows.Filter{Limit: -1})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(rows) != want {
		t.Fatalf("%d flows for %d upstream requests", len(rows), want)
	}
	for _, r := range rows {
		_, d, err := store.Get(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != flows.StatusCompleted || r.AccountID == "" || r.KiroModel == "" || len(r.Attempts) != 1 {
			t.Errorf("flow %s does not explain itself: %+v", r.ID, r)
		}
		if d.ClientRequest == nil || d.UpstreamRequest == nil || d.Response == nil || len(d.UpstreamEvents) == 0 {
			t.Errorf("flow %s lacks details: %+v", r.ID, d)
		}
	}
}

// TestClaudeCodeOverLong: Claude Code shows the over-long error kirobar
// returns instead of retrying a doomed request.
func TestClaudeCodeOverLong(t *testing.T) {
	claude := clientBin(t, "claude")
	h := newHarness(t, harnessOptions{})
	h.fake.SetResponder(func(r *kirofake.Request) kirofake.Reply {
		return kirofake.ErrorReply(400, kirofake.BodyInputTooLong)
	})
	out, _ := runClient(t, t.TempDir(), clientEnv(t.TempDir(),
		"ANTHROPIC_BASE_URL="+h.url, "ANTHROPIC_API_KEY="+testKey,
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "DISABLE_AUTOUPDATER=1",
	), claude, "-p", "hello", "--output-format", "json")
	if !strings.Contains(strings.ToLower(string(out)), "too long") {
		t.Fatalf("claude did not report the over-long prompt:\n%s", out)
	}
	if n := len(h.fake.Requests()); n > 3 {
		t.Fatalf("claude retried a doomed request %d times", n)
	}
}

func lastJSONLine(out []byte) []byte {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(strings.TrimSpace(lines[i]), "{") {
			return []byte(lines[i])
		}
	}
	return nil
}
