package doctor

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/kirobar/kirobar/kiro/rules"
)

// TestSelfTestUpstreamRefusesWhatKiroRefuses: the private upstream the
// self-test runs against is not a rubber stamp; a body Kiro refuses fails
// the self-test with the rule named.
func TestSelfTestUpstreamRefusesWhatKiroRefuses(t *testing.T) {
	up, err := startSelfTestUpstream()
	if err != nil {
		t.Fatal(err)
	}
	defer up.close()
	for _, tc := range []struct {
		name, path, body, token string
		status                  int
		rule                    rules.Rule
	}{
		{"wrong token", "/", `{}`, "nope", 403, rules.RuleBearerInvalid},
		{"unknown field", "/", `{"conversationState":{},"systemPrompt":"x"}`, up.access, 400, rules.RuleUnknownField},
		{"runtime without profile", "/", `{"conversationState":{"chatTriggerType":"MANUAL","currentMessage":{"userInputMessage":{"content":"hi","modelId":"auto"}}}}`, up.access, 400, rules.RuleProfileARNRequired},
		{"accepted", "/generateAssistantResponse", `{"conversationState":{"chatTriggerType":"MANUAL","currentMessage":{"userInputMessage":{"content":"hi","modelId":"auto"}}}}`, up.access, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, up.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tc.token)
			before := up.count()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("HTTP %d %s, want %d", resp.StatusCode, body, tc.status)
			}
			c, ok := up.last(before)
			if !ok || c.Rule != tc.rule {
				t.Fatalf("call %+v (%v), want rule %q", c, ok, tc.rule)
			}
			if tc.status == 200 && !strings.Contains(string(body), selfTestAnswer) {
				t.Fatalf("answer stream lacks the text: %q", body)
			}
		})
	}
}
