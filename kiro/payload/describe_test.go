package payload

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestLongToolDescriptionMovesToTheSystemPrompt: Kiro refuses tool
// descriptions over 10,000 characters, and Codex's exec tool documents its
// nested tools in 13 KB. The tool keeps a head that points to the system
// prompt, where the whole text goes, so nothing the client documented is
// lost; the flow record says so.
func TestLongToolDescriptionMovesToTheSystemPrompt(t *testing.T) {
	long := "Run JavaScript. " + strings.Repeat("nested tool docs é ", 700) + "THE LAST TOOL: view_image."
	tools, _ := json.Marshal([]map[string]any{
		{"name": "exec", "description": long, "input_schema": map[string]any{"type": "object"}},
		{"name": "short", "description": "a short one", "input_schema": map[string]any{"type": "object"}},
	})
	req := decodeRequest(t, `{"system":"Be brief.","messages":[{"role":"user","content":"q"}],"tools":`+string(tools)+`}`)
	res, s := build(t, req, Options{})
	specs := s.CurrentMessage.UserInputMessage.Context.Tools
	d := specs[0].ToolSpecification.Description
	if n := utf8.RuneCountInString(d); n > DefaultToolDescriptionMax || !strings.HasPrefix(d, "Run JavaScript.") || !strings.Contains(d, docHeading("exec")) {
		t.Fatalf("tool description (%d chars) = %.80q…", n, d)
	}
	if specs[1].ToolSpecification.Description != "a short one" {
		t.Fatalf("short description changed: %q", specs[1].ToolSpecification.Description)
	}
	system := s.History[0].User.Content
	if !strings.Contains(system, "Be brief.") || !strings.Contains(system, docHeading("exec")+"\n"+long) {
		t.Fatalf("the system prompt lacks the whole description (%d chars)", len(system))
	}
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "tool exec") {
		t.Fatalf("notes %q", res.Notes)
	}
}

// TestTrimmedHistoryIsNoted: when the size guard leaves out history, the
// flow record says how much.
func TestTrimmedHistoryIsNoted(t *testing.T) {
	var msgs []map[string]string
	for i := range 40 {
		msgs = append(msgs, map[string]string{"role": "user", "content": strings.Repeat("u", 2000) + string(rune('a'+i%26))},
			map[string]string{"role": "assistant", "content": strings.Repeat("a", 2000)})
	}
	msgs = append(msgs, map[string]string{"role": "user", "content": "now"})
	b, _ := json.Marshal(map[string]any{"messages": msgs})
	res, _ := build(t, decodeRequest(t, string(b)), Options{MaxPayloadBytes: 40_000})
	if res.Trimmed == 0 {
		t.Fatal("nothing was trimmed; the test needs a smaller limit")
	}
	found := false
	for _, n := range res.Notes {
		found = found || strings.Contains(n, "oldest history entries were left out")
	}
	if !found {
		t.Fatalf("notes %q do not mention the %d trimmed entries", res.Notes, res.Trimmed)
	}
}
