package openai

import "testing"

// TestThinkingForEfforts covers every effort OpenAI clients send, Codex's
// max and ultra included: none of them may be a 400.
func TestThinkingForEfforts(t *testing.T) {
	for effort, want := range map[string]string{
		"": "", "none": "", "minimal": "low", "low": "low", "medium": "medium",
		"high": "high", "xhigh": "high", "max": "high", "ultra": "high",
	} {
		thinking, cfg, err := thinkingFor("reasoning.effort", effort)
		if err != nil {
			t.Errorf("%q: %v", effort, err)
			continue
		}
		got := ""
		if cfg != nil {
			got = cfg.Effort
		}
		if got != want || (thinking != nil) != (want != "") {
			t.Errorf("%q: effort %q thinking %+v, want %q", effort, got, thinking, want)
		}
	}
}
