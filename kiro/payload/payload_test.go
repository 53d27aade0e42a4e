package payload

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/kirobar/kirobar/kiro/models"
)

func TestClaudeCodeFirstRequest(t *testing.T) {
	req := loadRequest(t, "claude_code_first.json")
	modelID, ok := models.NewResolver(nil).Resolve(req.Model)
	if !ok || modelID != "claude-opus-4.7" {
		t.Fatalf("model %q resolved to %q, %v", req.Model, modelID, ok)
	}
	res, s := build(t, req, Options{ModelID: modelID})
	checkGolden(t, "claude_code_first", res.ConversationState, s)

	cur := s.CurrentMessage.UserInputMessage
	if cur.Content != "say hi" {
		t.Errorf("current content = %q, want the user's prompt", cur.Content)
	}
	if cur.ModelID != "claude-opus-4.7" || cur.Origin != "AI_EDITOR" {
		t.Errorf("modelId %q origin %q", cur.ModelID, cur.Origin)
	}
	if len(s.History) != 2 {
		t.Fatalf("history has %d entries, want the system pair only", len(s.History))
	}
	sys := s.History[0].User.Content
	for _, want := range []string{
		// opus-4.7 takes the effort natively; the tags only switch thinking on.
		"<thinking_mode>adaptive</thinking_mode>\n",
		"You are Claude Code, Anthropic's official CLI for Claude.",
		"Working directory: /tmp/project", // the role:"system" message
	} {
		if !strings.Contains(sys, want) {
			t.Errorf("system turn lacks %q", want)
		}
	}
	if !strings.HasPrefix(sys, "<thinking_mode>") {
		t.Errorf("thinking tags are not first in the system turn")
	}
	if strings.Contains(sys, "<thinking_effort>") {
		t.Errorf("the effort went into the tags as well as the native field")
	}
	if want := `{"additionalModelRequestFields":{"output_config":{"effort":"medium"}}}`; string(res.Fields) != want {
		t.Errorf("fields = %s, want %s", res.Fields, want)
	}
	if strings.Contains(cur.Content, "Working directory") {
		t.Errorf("the environment note became part of the question")
	}
	if s.History[1].Assistant.Content != systemAck {
		t.Errorf("system ack = %q", s.History[1].Assistant.Content)
	}
	if bytes.Contains(res.ConversationState, []byte("$schema")) {
		t.Errorf("$schema reached the payload")
	}
	if bytes.Contains(res.ConversationState, []byte("defer_loading")) {
		t.Errorf("defer_loading reached the payload")
	}
	if !res.Thinking {
		t.Errorf("Thinking not reported")
	}

	names := toolNamesOf(s)
	if len(names) != 12 {
		t.Fatalf("%d tools declared, want 12: %v", len(names), names)
	}
	long := "mcp__plugin_github_github__create_or_update_pull_request_review_comment_thread"
	short := names[11]
	if len(short) != 64 || !strings.HasPrefix(short, long[:55]+"_") || res.ToolNames[short] != long {
		t.Errorf("long tool name: declared %q, map %v", short, res.ToolNames)
	}

	const session = "0b4445e1-f5be-49e1-87ce-62bbc28ad705"
	if s.ConversationID != session {
		t.Errorf("conversationId = %q, want the session id %q", s.ConversationID, session)
	}
	_, again := build(t, loadRequest(t, "claude_code_first.json"), Options{ModelID: modelID})
	if again.ConversationID != session {
		t.Errorf("conversationId not stable: %q", again.ConversationID)
	}
	if again.AgentContinuationID == s.AgentContinuationID {
		t.Errorf("agentContinuationId repeated across requests")
	}
	if _, err := uuid.Parse(s.AgentContinuationID); err != nil {
		t.Errorf("agentContinuationId %q: %v", s.AgentContinuationID, err)
	}

	// The estimate covers system, tools and prompt: roughly a quarter of
	// the characters, well above the prompt alone.
	if res.InputEstimate < len(res.ConversationState)/8 || res.InputEstimate > len(res.ConversationState)/3 {
		t.Errorf("InputEstimate %d for %d bytes", res.InputEstimate, len(res.ConversationState))
	}
}

func TestToolRoundTrip(t *testing.T) {
	req := decodeRequest(t, `{
	  "model": "claude-sonnet-4-5",
	  "system": "You are a coding agent.",
	  "tools": [{"name": "Bash", "description": "Run a command", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}}],
	  "messages": [
	    {"role": "user", "content": "list the files"},
	    {"role": "assistant", "content": [
	      {"type": "thinking", "thinking": "ls will do", "signature": "sig"},
	      {"type": "text", "text": "I'll run ls."},
	      {"type": "tool_use", "id": "toolu_01", "name": "Bash", "input": {"command": "ls"}}]},
	    {"role": "user", "content": [
	      {"type": "tool_result", "tool_use_id": "toolu_01", "content": [{"type": "text", "text": "a.go"}, {"type": "text", "text": "b.go"}]}]},
	    {"role": "assistant", "content": [
	      {"type": "tool_use", "id": "toolu_02", "name": "Bash", "input": {"command": "cat a.go"}}]},
	    {"role": "user", "content": [
	      {"type": "tool_result", "tool_use_id": "toolu_02", "content": "permission denied", "is_error": true},
	      {"type": "text", "text": "try sudo"}]}
	  ]}`)
	res, s := build(t, req, Options{ConversationID: "11111111-2222-3333-4444-555555555555"})
	checkGolden(t, "tool_round_trip", res.ConversationState, s)

	if len(s.History) != 6 {
		t.Fatalf("history has %d entries, want system pair + 2 pairs", len(s.History))
	}
	a1 := s.History[3].Assistant
	if a1.Content != "<thinking>ls will do</thinking>\n\nI'll run ls." {
		t.Errorf("assistant content = %q", a1.Content)
	}
	if len(a1.ToolUses) != 1 || a1.ToolUses[0].ToolUseID != "toolu_01" || string(a1.ToolUses[0].Input) != `{"command":"ls"}` {
		t.Errorf("tool uses = %+v", a1.ToolUses)
	}
	u2 := s.History[4].User
	if u2.Content != fillToolResults {
		t.Errorf("tool-result-only turn content = %q", u2.Content)
	}
	if r := resultsOf(u2); len(r) != 1 || r[0].Content[0].Text != "a.go\nb.go" || r[0].Status != "success" {
		t.Errorf("history results = %+v", r)
	}
	if s.History[5].Assistant.Content != fillToolUses {
		t.Errorf("tool-use-only assistant content = %q", s.History[5].Assistant.Content)
	}
	cur := s.CurrentMessage.UserInputMessage
	if cur.Content != "try sudo" {
		t.Errorf("current content = %q", cur.Content)
	}
	if r := resultsOf(cur); len(r) != 1 || r[0].ToolUseID != "toolu_02" || r[0].Status != "error" || r[0].Content[0].Text != "permission denied" {
		t.Errorf("current results = %+v", r)
	}
	if res.Thinking {
		t.Errorf("Thinking reported without a thinking request")
	}
}

func TestLongToolNames(t *testing.T) {
	long := strings.Repeat("mcp__server__", 6) + "do_it" // 83 characters
	req := decodeRequest(t, `{
	  "model": "m",
	  "tools": [
	    {"name": "`+long+`", "description": "d", "input_schema": {"type": "object"}},
	    {"name": "has.dot", "description": "d", "input_schema": {"type": "object"}}],
	  "messages": [
	    {"role": "user", "content": "go"},
	    {"role": "assistant", "content": [
	      {"type": "tool_use", "id": "a", "name": "`+long+`", "input": {}},
	      {"type": "tool_use", "id": "b", "name": "has.dot", "input": {}}]},
	    {"role": "user", "content": [
	      {"type": "tool_result", "tool_use_id": "a", "content": "ok"},
	      {"type": "tool_result", "tool_use_id": "b", "content": "ok"}]}]}`)
	res, s := build(t, req, Options{})
	names := toolNamesOf(s)
	if len(names) != 2 {
		t.Fatalf("tools %v", names)
	}
	uses := s.History[1].Assistant.ToolUses
	for i, orig := range []string{long, "has.dot"} {
		if names[i] == orig {
			t.Errorf("%q was not renamed", orig)
		}
		if uses[i].Name != names[i] {
			t.Errorf("history uses %q, declared %q", uses[i].Name, names[i])
		}
		if res.ToolNames[names[i]] != orig {
			t.Errorf("ToolNames[%q] = %q, want %q", names[i], res.ToolNames[names[i]], orig)
		}
	}
	if len(names[0]) != 64 {
		t.Errorf("shortened name %q has %d characters", names[0], len(names[0]))
	}
	// The mapping is deterministic across requests.
	res2, _ := build(t, req, Options{})
	if len(res2.ToolNames) != 2 || res2.ToolNames[names[0]] != long {
		t.Errorf("second build mapped %v", res2.ToolNames)
	}
}

func TestConversationID(t *testing.T) {
	const session = "0b4445e1-f5be-49e1-87ce-62bbc28ad705"
	for _, tc := range []struct {
		name     string
		metadata string
		opt      string
		want     string // "" → any fresh UUID
	}{
		{"json session_id", `{"user_id": "{\"device_id\":\"d\",\"session_id\":\"` + session + `\"}"}`, "", session},
		{"legacy user id", `{"user_id": "user_abc123_account__session_` + session + `"}`, "", session},
		{"upper case", `{"user_id": "user_x_account__session_` + strings.ToUpper(session) + `"}`, "", session},
		{"option wins", `{"user_id": "user_x_account__session_` + session + `"}`, "given-id", "given-id"},
		{"no session", `{"user_id": "someone"}`, "", ""},
		{"bad uuid", `{"user_id": "session_0b4445e1-f5be-49e1-87ce-62bbc28ad70z"}`, "", ""},
		{"no metadata", `null`, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := decodeRequest(t, `{"model": "m", "metadata": `+tc.metadata+`, "messages": [{"role": "user", "content": "hi"}]}`)
			_, s := build(t, req, Options{ConversationID: tc.opt})
			if tc.want != "" {
				if s.ConversationID != tc.want {
					t.Errorf("conversationId = %q, want %q", s.ConversationID, tc.want)
				}
				return
			}
			if _, err := uuid.Parse(s.ConversationID); err != nil || s.ConversationID == session {
				t.Errorf("conversationId = %q, want a fresh UUID", s.ConversationID)
			}
		})
	}
}

func TestInputEstimate(t *testing.T) {
	estimate := func(text string) int {
		t.Helper()
		b, _ := json.Marshal(text)
		res, _ := build(t, decodeRequest(t, `{"model": "m", "messages": [{"role": "user", "content": `+string(b)+`}]}`), Options{})
		return res.InputEstimate
	}
	latin := strings.Repeat("a", 4000)
	base := estimate(latin)
	if base != 1000 {
		t.Errorf("4000 Latin characters = %d tokens, want 1000", base)
	}
	if got := estimate(latin+strings.Repeat("你", 1000)) - base; got != 1500 {
		t.Errorf("1000 CJK characters add %d tokens, want 1500", got)
	}
}
