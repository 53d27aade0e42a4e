package payload

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/kirobar/kirobar/canon"
)

// FuzzBuild decodes arbitrary JSON into a canonical request: Build must not
// panic, and whatever it builds must satisfy validate — the rules the
// upstream enforces. The same holds under a size limit, which the output
// must respect.
func FuzzBuild(f *testing.F) {
	fixture, err := os.ReadFile(filepath.Join("testdata", "requests", "claude_code_first.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(fixture)
	for _, seed := range []string{
		`{"messages":[{"role":"user","content":"hi"}]}`,
		`{"system":"s","messages":[{"role":"user","content":"a"},{"role":"system","content":"n"}]}`,
		`{"messages":[{"role":"assistant","content":"x"},{"role":"user","content":"y"},{"role":"assistant","content":"z"}]}`,
		`{"tools":[{"name":"Bash","input_schema":{"type":"object","properties":null,"required":null}}],"messages":[
		  {"role":"user","content":"run"},
		  {"role":"assistant","content":[{"type":"tool_use","id":"a b","name":"Bash","input":"ls"},{"type":"tool_use","id":"t2","name":"Read","input":{}}]},
		  {"role":"user","content":[{"type":"tool_result","tool_use_id":"a b","content":[{"type":"text","text":"x"}]},{"type":"tool_result","tool_use_id":"a b","content":"dup"},{"type":"tool_result","tool_use_id":"zz","is_error":true}]}]}`,
		`{"thinking":{"type":"enabled","budget_tokens":5},"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA"}}]}]}`,
		`{"messages":[{"role":"user","content":[]},{"role":"assistant","content":[{"type":"thinking","thinking":"t"}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":""}]}]}`,
		`{"tools":[{"name":"Fetch","input_schema":{"anyOf":[{"properties":{"url":{"type":"string"}},"required":["url"]},{"allOf":[{"properties":{"q":{}}}]}]}}],"messages":[{"role":"user","content":"x"}]}`,
		`{"output_config":{"effort":"max"},"thinking":{"type":"adaptive"},"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"` + tinyWebP + `"}}]}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var req canon.Request
		if json.Unmarshal(data, &req) != nil {
			return
		}
		res, err := Build(&req, Options{ModelID: testModel})
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if err := validate(res.ConversationState); err != nil {
			t.Fatalf("invalid state: %v\n%s", err, res.ConversationState)
		}
		for name := range res.ToolNames {
			if !validName(name) {
				t.Fatalf("mapped tool name %q is not valid", name)
			}
		}

		// Half the size: trimmed output must still be valid and fit.
		limit := len(res.ConversationState) / 2
		var again canon.Request
		if json.Unmarshal(data, &again) != nil {
			t.Fatal("second decode failed")
		}
		small, err := Build(&again, Options{ModelID: testModel, MaxPayloadBytes: limit, SystemInFirstMessage: len(data)%2 == 0})
		if err != nil {
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("size guard: %v", err)
			}
			return
		}
		if len(small.ConversationState) > limit {
			t.Fatalf("state %d bytes over the limit %d", len(small.ConversationState), limit)
		}
		if err := validate(small.ConversationState); err != nil {
			t.Fatalf("invalid trimmed state: %v\n%s", err, small.ConversationState)
		}
	})
}

// BenchmarkBuildClaudeCode builds a ~50 KB Claude Code request: the first
// request's system prompt and 12 tools plus a dozen tool round trips.
func BenchmarkBuildClaudeCode(b *testing.B) {
	req := agentSession(b, 12, 3000, "continue")
	raw, err := json.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	res, err := Build(req, Options{ModelID: testModel})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(req, Options{ModelID: testModel}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(raw)), "request-bytes")
	b.ReportMetric(float64(len(res.ConversationState)), "state-bytes")
}
