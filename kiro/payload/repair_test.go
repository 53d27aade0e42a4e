package payload

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kirobar/kirobar/canon"
)

const bashTool = `{"name": "Bash", "description": "Run a command", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}`

// TestRepairRules covers each history rule of kiro-protocol.md §2.5 with
// the smallest request that needs it. Every output also passes validate.
func TestRepairRules(t *testing.T) {
	for _, tc := range []struct {
		name  string
		req   string
		opt   Options
		check func(t *testing.T, s *kState, res *Result)
	}{
		{
			name: "merge consecutive turns",
			req: `{"messages": [
			  {"role": "user", "content": "a"}, {"role": "user", "content": "b"},
			  {"role": "assistant", "content": "c"}, {"role": "assistant", "content": "d"},
			  {"role": "user", "content": "e"}, {"role": "user", "content": "f"}]}`,
			check: func(t *testing.T, s *kState, _ *Result) {
				if len(s.History) != 2 || s.History[0].User.Content != "a\nb" || s.History[1].Assistant.Content != "c\n\nd" {
					t.Errorf("history = %+v", s.History)
				}
				if c := s.CurrentMessage.UserInputMessage.Content; c != "e\nf" {
					t.Errorf("current = %q", c)
				}
			},
		},
		{
			name: "trailing assistant prefill is dropped",
			req: `{"messages": [
			  {"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"},
			  {"role": "user", "content": "q2"}, {"role": "assistant", "content": "{"}]}`,
			check: func(t *testing.T, s *kState, _ *Result) {
				if len(s.History) != 2 || s.CurrentMessage.UserInputMessage.Content != "q2" {
					t.Errorf("state = %+v", s)
				}
			},
		},
		{
			name: "conversation starting with assistant gets a user first",
			req:  `{"messages": [{"role": "assistant", "content": "Hello, how can I help?"}, {"role": "user", "content": "fix it"}]}`,
			check: func(t *testing.T, s *kState, _ *Result) {
				if len(s.History) != 2 || s.History[0].User.Content != fillUser || s.History[1].Assistant.Content != "Hello, how can I help?" {
					t.Errorf("history = %+v", s.History)
				}
			},
		},
		{
			name: "system-role message after the prompt joins the system text",
			req: `{"system": [{"type": "text", "text": "S", "cache_control": {"type": "ephemeral"}}], "messages": [
			  {"role": "user", "content": "the prompt"}, {"role": "system", "content": "env note"}]}`,
			check: func(t *testing.T, s *kState, _ *Result) {
				if c := s.CurrentMessage.UserInputMessage.Content; c != "the prompt" {
					t.Errorf("current = %q", c)
				}
				if len(s.History) != 2 || s.History[0].User.Content != "S\n\nenv note" {
					t.Errorf("history = %+v", s.History)
				}
			},
		},
		{
			name: "system-role message mid-conversation",
			req: `{"messages": [
			  {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
			  {"role": "system", "content": "reminder"}, {"role": "user", "content": "c"}]}`,
			check: func(t *testing.T, s *kState, _ *Result) {
				if len(s.History) != 4 || s.History[0].User.Content != "reminder" || s.History[2].User.Content != "a" {
					t.Errorf("history = %+v", s.History)
				}
				if c := s.CurrentMessage.UserInputMessage.Content; c != "c" {
					t.Errorf("current = %q", c)
				}
			},
		},
		{
			name: "developer role is a user turn",
			req:  `{"messages": [{"role": "developer", "content": "rules"}, {"role": "user", "content": "q"}]}`,
			check: func(t *testing.T, s *kState, _ *Result) {
				if c := s.CurrentMessage.UserInputMessage.Content; c != "rules\nq" {
					t.Errorf("current = %q", c)
				}
			},
		},
		{
			name: "tool result without a tool use is dropped",
			req: `{"tools": [` + bashTool + `], "messages": [
			  {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "ghost", "content": "x"}]}]}`,
			check: func(t *testing.T, s *kState, _ *Result) {
				cur := s.CurrentMessage.UserInputMessage
				if len(resultsOf(cur)) != 0 || cur.Content != fillUser {
					t.Errorf("current = %+v", cur)
				}
			},
		},
		{
			name: "tool use without a result is removed",
			req: `{"tools": [` + bashTool + `], "messages": [
			  {"role": "user", "content": "run it"},
			  {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "ls"}}]},
			  {"role": "user", "content": "never mind"}]}`,
			check: func(t *testing.T, s *kState, _ *Result) {
				a := s.History[1].Assistant
				if len(a.ToolUses) != 0 || a.Content != fillAssistant {
					t.Errorf("assistant = %+v", a)
				}
			},
		},
		{
			name: "duplicate tool results keep the first",
			req: `{"tools": [` + bashTool + `], "messages": [
			  {"role": "user", "content": "run"},
			  {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}]},
			  {"role": "user", "content": [
			    {"type": "tool_result", "tool_use_id": "t1", "content": "first"},
			    {"type": "tool_result", "tool_use_id": "t1", "content": "second"}]}]}`,
			check: func(t *testing.T, s *kState, _ *Result) {
				r := resultsOf(s.CurrentMessage.UserInputMessage)
				if len(r) != 1 || r[0].Content[0].Text != "first" {
					t.Errorf("results = %+v", r)
				}
			},
		},
		{
			name: "result answering an older turn is dropped",
			req: `{"tools": [` + bashTool + `], "messages": [
			  {"role": "user", "content": "run"},
			  {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}]},
			  {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]},
			  {"role": "assistant", "content": [{"type": "tool_use", "id": "t2", "name": "Bash", "input": {}}]},
			  {"role": "user", "content": [
			    {"type": "tool_result", "tool_use_id": "t1", "content": "again"},
			    {"type": "tool_result", "tool_use_id": "t2", "content": "ok"}]}]}`,
			check: func(t *testing.T, s *kState, _ *Result) {
				r := resultsOf(s.CurrentMessage.UserInputMessage)
				if len(r) != 1 || r[0].ToolUseID != "t2" {
					t.Errorf("results = %+v", r)
				}
			},
		},
		{
			name: "repeated tool use id keeps the first call",
			req: `{"tools": [` + bashTool + `], "messages": [
			  {"role": "user", "content": "run"},
			  {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}]},
			  {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]},
			  {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}]},
			  {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "again"}]}]}`,
			check: func(t *testing.T, s *kState, _ *Result) {
				if len(s.History[3].Assistant.ToolUses) != 0 || len(resultsOf(s.CurrentMessage.UserInputMessage)) != 0 {
					t.Errorf("state = %+v", s)
				}
			},
		},
		{
			name: "tool use ids are sanitised consistently",
			req: `{"tools": [` + bashTool + `], "messages": [
			  {"role": "user", "content": "run"},
			  {"role": "assistant", "content": [
			    {"type": "tool_use", "id": "call 1/a.b", "name": "Bash", "input": {}},
			    {"type": "tool_use", "id": "` + strings.Repeat("x", 70) + `", "name": "Bash", "input": {}},
			    {"type": "tool_use", "id": "", "name": "Bash", "input": {}}]},
			  {"role": "user", "content": [
			    {"type": "tool_result", "tool_use_id": "", "content": "c"},
			    {"type": "tool_result", "tool_use_id": "` + strings.Repeat("x", 70) + `", "content": "b"},
			    {"type": "tool_result", "tool_use_id": "call 1/a.b", "content": "a"}]}]}`,
			check: func(t *testing.T, s *kState, _ *Result) {
				uses := s.History[1].Assistant.ToolUses
				r := resultsOf(s.CurrentMessage.UserInputMessage)
				if len(uses) != 3 || len(r) != 3 {
					t.Fatalf("uses %+v results %+v", uses, r)
				}
				if !strings.HasPrefix(uses[0].ToolUseID, "call_1_a_b_") || uses[0].ToolUseID != r[2].ToolUseID {
					t.Errorf("ids %q / %q", uses[0].ToolUseID, r[2].ToolUseID)
				}
				if uses[0].ToolUseID != sanitizeID("call 1/a.b") {
					t.Errorf("sanitising is not a pure function of the id")
				}
			},
		},
		{
			name: "non-object tool input is wrapped",
			req: `{"tools": [` + bashTool + `], "messages": [
			  {"role": "user", "content": "run"},
			  {"role": "assistant", "content": [
			    {"type": "tool_use", "id": "t1", "name": "Bash", "input": "ls -l"},
			    {"type": "tool_use", "id": "t2", "name": "Bash", "input": [1, 2]},
			    {"type": "tool_use", "id": "t3", "name": "Bash"}]},
			  {"role": "user", "content": [
			    {"type": "tool_result", "tool_use_id": "t1", "content": "a"},
			    {"type": "tool_result", "tool_use_id": "t2", "content": "b"},
			    {"type": "tool_result", "tool_use_id": "t3", "content": ""}]}]}`,
			check: func(t *testing.T, s *kState, _ *Result) {
				uses := s.History[1].Assistant.ToolUses
				for i, want := range []string{`{"value":"ls -l"}`, `{"value":[1,2]}`, `{}`} {
					if string(uses[i].Input) != want {
						t.Errorf("input %d = %s, want %s", i, uses[i].Input, want)
					}
				}
				if r := resultsOf(s.CurrentMessage.UserInputMessage); r[2].Content[0].Text != "(no output)" {
					t.Errorf("empty result text = %q", r[2].Content[0].Text)
				}
			},
		},
		{
			name: "history tools missing from the request get placeholders",
			req: `{"tools": [` + bashTool + `, {"type": "code_execution_20250825", "name": "code_execution"}], "messages": [
			  {"role": "user", "content": "read"},
			  {"role": "assistant", "content": [
			    {"type": "tool_use", "id": "t1", "name": "Read", "input": {"path": "a"}},
			    {"type": "tool_use", "id": "t2", "name": "bash", "input": {}}]},
			  {"role": "user", "content": [
			    {"type": "tool_result", "tool_use_id": "t1", "content": "x"},
			    {"type": "tool_result", "tool_use_id": "t2", "content": "y"}]}]}`,
			check: func(t *testing.T, s *kState, _ *Result) {
				tools := s.CurrentMessage.UserInputMessage.Context.Tools
				if len(tools) != 2 || tools[0].ToolSpecification.Name != "Bash" || tools[1].ToolSpecification.Name != "Read" ||
					tools[1].ToolSpecification.Description != placeholderDescription {
					t.Errorf("tools = %+v", tools)
				}
			},
		},
		{
			name: "tool history without any tools declares placeholders",
			req: `{"messages": [
			  {"role": "user", "content": "read"},
			  {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Read", "input": {}}]},
			  {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "x"}]}]}`,
			check: func(t *testing.T, s *kState, _ *Result) {
				if names := toolNamesOf(s); len(names) != 1 || names[0] != "Read" {
					t.Errorf("tools = %v", names)
				}
			},
		},
		{
			name: "tool result blocks are flattened and images become notes",
			req: `{"tools": [` + bashTool + `], "messages": [
			  {"role": "user", "content": "shot"},
			  {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}]},
			  {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [
			    {"type": "text", "text": "before"},
			    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
			    {"type": "text", "text": "after"}]}]}]}`,
			check: func(t *testing.T, s *kState, _ *Result) {
				r := resultsOf(s.CurrentMessage.UserInputMessage)
				if want := "before\n" + noteResultImage + "\nafter"; r[0].Content[0].Text != want {
					t.Errorf("result = %q, want %q", r[0].Content[0].Text, want)
				}
			},
		},
		{
			name: "images: base64 and data URL kept, older ones become notes",
			req: `{"messages": [
			  {"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "OLD"}}]},
			  {"role": "assistant", "content": "1"}, {"role": "user", "content": "2"},
			  {"role": "assistant", "content": "3"}, {"role": "user", "content": "4"},
			  {"role": "assistant", "content": "5"},
			  {"role": "user", "content": [
			    {"type": "text", "text": "look"},
			    {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "data:image/jpeg;base64,` + tinyJPEG + `"}},
			    {"type": "image", "source": {"type": "url", "url": "data:image/webp;base64,` + tinyWebP + `"}}]}]}`,
			check: func(t *testing.T, s *kState, _ *Result) {
				if u := s.History[0].User; len(u.Images) != 0 || u.Content != noteOldImage {
					t.Errorf("old image turn = %+v", u)
				}
				imgs := s.CurrentMessage.UserInputMessage.Images
				if len(imgs) != 2 || imgs[0].Format != "jpeg" || imgs[0].Source.Bytes != tinyJPEG || imgs[1].Format != "webp" || imgs[1].Source.Bytes != tinyWebP {
					t.Errorf("images = %+v", imgs)
				}
			},
		},
		{
			name: "image only question gets a filler",
			req:  `{"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/gif", "data": "` + tinyGIF + `"}}]}]}`,
			check: func(t *testing.T, s *kState, _ *Result) {
				if c := s.CurrentMessage.UserInputMessage.Content; c != fillImage {
					t.Errorf("content = %q", c)
				}
			},
		},
		{
			name: "thinking enabled, budget clamped, no system prompt",
			req:  `{"thinking": {"type": "enabled", "budget_tokens": 100000}, "messages": [{"role": "user", "content": "q"}]}`,
			check: func(t *testing.T, s *kState, res *Result) {
				if len(s.History) != 2 || s.History[0].User.Content != "<thinking_mode>enabled</thinking_mode><max_thinking_length>24576</max_thinking_length>" || !res.Thinking {
					t.Errorf("history = %+v", s.History)
				}
			},
		},
		{
			name: "thinking in front of the system prompt, small budget raised",
			req:  `{"system": "S", "thinking": {"type": "enabled", "budget_tokens": 10}, "messages": [{"role": "user", "content": "q"}]}`,
			check: func(t *testing.T, s *kState, _ *Result) {
				if c := s.History[0].User.Content; c != "<thinking_mode>enabled</thinking_mode><max_thinking_length>1024</max_thinking_length>\nS" {
					t.Errorf("system = %q", c)
				}
			},
		},
		{
			name: "adaptive thinking effort",
			req:  `{"thinking": {"type": "adaptive"}, "output_config": {"effort": "max"}, "messages": [{"role": "user", "content": "q"}]}`,
			check: func(t *testing.T, s *kState, _ *Result) {
				if c := s.History[0].User.Content; c != "<thinking_mode>adaptive</thinking_mode><thinking_effort>high</thinking_effort>" {
					t.Errorf("system = %q", c)
				}
			},
		},
		{
			name: "thinking disabled",
			req:  `{"system": "S", "thinking": {"type": "disabled"}, "messages": [{"role": "user", "content": "q"}]}`,
			check: func(t *testing.T, s *kState, res *Result) {
				if s.History[0].User.Content != "S" || res.Thinking {
					t.Errorf("system = %q thinking %v", s.History[0].User.Content, res.Thinking)
				}
			},
		},
		{
			name: "system prompt in the first message",
			req: `{"system": "S", "thinking": {"type": "adaptive"}, "messages": [
			  {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}]}`,
			opt: Options{SystemInFirstMessage: true},
			check: func(t *testing.T, s *kState, _ *Result) {
				want := "<thinking_mode>adaptive</thinking_mode><thinking_effort>medium</thinking_effort>\nS\n\na"
				if len(s.History) != 2 || s.History[0].User.Content != want {
					t.Errorf("history = %+v", s.History)
				}
				if c := s.CurrentMessage.UserInputMessage.Content; c != "c" {
					t.Errorf("current = %q", c)
				}
			},
		},
		{
			name: "system prompt in the only message",
			req:  `{"system": "S", "messages": [{"role": "user", "content": "q"}]}`,
			opt:  Options{SystemInFirstMessage: true},
			check: func(t *testing.T, s *kState, _ *Result) {
				if len(s.History) != 0 || s.CurrentMessage.UserInputMessage.Content != "S\n\nq" {
					t.Errorf("state = %+v", s)
				}
			},
		},
		{
			name: "origin and documents",
			req: `{"messages": [{"role": "user", "content": [
			  {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "doc text"}},
			  {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}},
			  {"type": "text", "text": "summarise"}]}]}`,
			opt: Options{Origin: "KIRO_CLI"},
			check: func(t *testing.T, s *kState, _ *Result) {
				cur := s.CurrentMessage.UserInputMessage
				if cur.Origin != "KIRO_CLI" || cur.Content != "doc text\n"+noteDocument+"\nsummarise" {
					t.Errorf("current = %+v", cur)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := decodeRequest(t, tc.req)
			req.Model = "claude-sonnet-4-5"
			res, s := build(t, req, tc.opt)
			tc.check(t, s, res)
		})
	}
}

func TestBuildErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  string
		opt  Options
		want string
	}{
		{"no messages", `{"messages": []}`, Options{ModelID: testModel}, "at least one message"},
		{"only assistant", `{"messages": [{"role": "assistant", "content": "hi"}]}`, Options{ModelID: testModel}, "at least one user message"},
		{"only system", `{"messages": [{"role": "system", "content": "hi"}]}`, Options{ModelID: testModel}, "at least one user message"},
		{"no model", `{"messages": [{"role": "user", "content": "hi"}]}`, Options{}, "model"},
		{"image URL", `{"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}]}]}`,
			Options{ModelID: testModel}, "messages.0.content.0: image URLs are not supported"},
		{"image type", `{"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": [{"type": "text", "text": "x"}, {"type": "image", "source": {"type": "base64", "media_type": "image/bmp", "data": "Qk0"}}]}]}`,
			Options{ModelID: testModel}, `messages.1.content.1: image media type "image/bmp" is not supported`},
		{"empty image", `{"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": ""}}]}]}`,
			Options{ModelID: testModel}, "image data is empty"},
		{"image without source", `{"messages": [{"role": "user", "content": [{"type": "image"}]}]}`,
			Options{ModelID: testModel}, "image has no source"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Build(decodeRequest(t, tc.req), tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := Build(nil, Options{ModelID: testModel}); err == nil {
		t.Error("nil request accepted")
	}
}

func TestInvalidToolInputJSON(t *testing.T) {
	// A request built in code (not decoded) may carry input that is not JSON.
	req := &canon.Request{Messages: []canon.Message{
		{Role: "user", Content: canon.Content{{Type: canon.BlockText, Text: "go"}}},
		{Role: "assistant", Content: canon.Content{{Type: canon.BlockToolUse, ID: "t1", Name: "Bash", Input: json.RawMessage(`{"command":`)}}},
		{Role: "user", Content: canon.Content{{Type: canon.BlockToolResult, ToolUseID: "t1", Content: canon.Content{{Type: canon.BlockText, Text: "ok"}}}}},
	}}
	_, s := build(t, req, Options{})
	if in := string(s.History[1].Assistant.ToolUses[0].Input); in != "{}" {
		t.Errorf("input = %s, want {}", in)
	}
}

func TestToolDeclarations(t *testing.T) {
	long := strings.Repeat("é", 30) + strings.Repeat("d", 20)
	req := decodeRequest(t, `{"messages": [{"role": "user", "content": "q"}], "tools": [
	  {"name": "A", "description": "", "input_schema": {"type": "object"}},
	  {"name": "B", "description": "`+long+`"},
	  {"name": "b", "description": "duplicate of B"},
	  {"type": "custom", "name": "C", "description": "c", "input_schema": null, "defer_loading": true},
	  {"type": "bash_20250124", "name": "bash"}]}`)
	_, s := build(t, req, Options{ToolDescriptionMax: 40})
	tools := s.CurrentMessage.UserInputMessage.Context.Tools
	if len(tools) != 3 {
		t.Fatalf("tools = %+v", tools)
	}
	if d := tools[0].ToolSpecification.Description; d != "Tool A" {
		t.Errorf("empty description → %q", d)
	}
	d := tools[1].ToolSpecification.Description
	if want := strings.Repeat("é", 30) + strings.Repeat("d", 9) + truncatedMarker; d != want {
		t.Errorf("truncated description = %q, want %q", d, want)
	}
	for i, tl := range tools[1:] {
		if got := string(tl.ToolSpecification.InputSchema.JSON); got != defaultSchema {
			t.Errorf("tool %d schema = %s, want %s", i+1, got, defaultSchema)
		}
	}
}
