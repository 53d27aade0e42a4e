package rules

import (
	"net/http"
	"testing"
)

const okBody = `{"conversationState":{"chatTriggerType":"MANUAL","conversationId":"c1",` +
	`"currentMessage":{"userInputMessage":{"content":"hi","modelId":"claude-sonnet-4.5","origin":"AI_EDITOR"}}},` +
	`"profileArn":"arn:aws:codewhisperer:us-east-1:1:profile/X"}`

func TestCheck(t *testing.T) {
	c := NewChecker(Limits{MaxPayloadBytes: 4096}, []string{"claude-sonnet-4.5"})
	for _, tc := range []struct {
		name string
		body string
		rule Rule
	}{
		{"accepted", okBody, ""},
		{"not json", `{"conversationState":`, RuleMalformedJSON},
		{"unknown top-level field", `{"conversationState":{},"systemPrompt":"x"}`, RuleUnknownField},
		{"no conversation", `{"profileArn":"x"}`, RuleNoConversation},
		{"null value", `{"conversationState":{"chatTriggerType":"MANUAL","conversationId":null,"currentMessage":{}}}`, RuleNullValue},
		{"trigger", `{"conversationState":{"chatTriggerType":"SOMETIMES","currentMessage":{"userInputMessage":{"content":"hi","modelId":"claude-sonnet-4.5"}}}}`, RuleChatTriggerType},
		{"empty content", `{"conversationState":{"chatTriggerType":"MANUAL","currentMessage":{"userInputMessage":{"content":" ","modelId":"claude-sonnet-4.5"}}}}`, RuleEmptyContent},
		{"unknown model", `{"conversationState":{"chatTriggerType":"MANUAL","currentMessage":{"userInputMessage":{"content":"hi","modelId":"gpt-9"}}}}`, RuleModelID},
		{"history not alternating", `{"conversationState":{"chatTriggerType":"MANUAL","history":[{"assistantResponseMessage":{"content":"a"}}],"currentMessage":{"userInputMessage":{"content":"hi","modelId":"claude-sonnet-4.5"}}}}`, RuleAlternation},
		{"too large", `{"conversationState":{"x":"` + string(make([]byte, 5000)) + `"}}`, RulePayloadTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, rej := c.Check([]byte(tc.body))
			if tc.rule == "" {
				if rej != nil {
					t.Fatalf("refused by %s", rej.Rule)
				}
				if p.ConversationState.CurrentMessage.UserInputMessage.Content != "hi" {
					t.Fatalf("payload %+v", p)
				}
				return
			}
			if rej == nil || rej.Rule != tc.rule {
				t.Fatalf("rejection %+v, want rule %s", rej, tc.rule)
			}
			if rej.Status != http.StatusBadRequest || rej.Body == "" {
				t.Fatalf("rejection %+v has no status or body", rej)
			}
		})
	}
}

// FuzzCheck: any body is either accepted with a payload or refused with a
// complete rejection, and never panics.
func FuzzCheck(f *testing.F) {
	f.Add([]byte(okBody))
	f.Add([]byte(`{"conversationState":{"history":[{"userInputMessage":{"content":"a"}},{"assistantResponseMessage":{"content":" ","toolUses":[{"toolUseId":"t1","name":"x","input":{}}]}}],"currentMessage":{"userInputMessage":{"content":"","userInputMessageContext":{"toolResults":[{"toolUseId":"t1","content":[{"text":"r"}]}],"tools":[{"toolSpecification":{"name":"x","description":"d","inputSchema":{"json":{"type":"object"}}}}]}}}}}`))
	f.Add([]byte(`{"conversationState":{"chatTriggerType":"MANUAL","currentMessage":{"userInputMessage":{"content":"hi","modelId":"claude-sonnet-4.5","images":[{"format":"png","source":{"bytes":"iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAAAAABX3VL4AAAAEklEQVR4nGJiYGBiYAAEAAD//wAYAAV4jI74AAAAAElFTkSuQmCC"}}]}}},"additionalModelRequestFields":{"output_config":{"effort":"high"}}}`))
	f.Add([]byte(`{"conversationState":{"chatTriggerType":"MANUAL","currentMessage":{"userInputMessage":{"content":"hi","modelId":"claude-sonnet-4.5","userInputMessageContext":{"tools":[{"toolSpecification":{"name":"t","description":"d","inputSchema":{"json":{"anyOf":[]}}}}]}}}}}`))
	c := NewChecker(Limits{}, []string{"claude-sonnet-4.5"})
	f.Fuzz(func(t *testing.T, body []byte) {
		p, rej := c.Check(body)
		if rej == nil && p == nil {
			t.Fatal("no payload and no rejection")
		}
		if rej != nil && (rej.Status < 400 || rej.Body == "" || rej.Rule == "") {
			t.Fatalf("incomplete rejection %+v", rej)
		}
	})
}

func TestAcceptsEffort(t *testing.T) {
	for id, want := range map[string]bool{
		"claude-opus-4.6": true, "claude-opus-4.7": true, "claude-opus-4.8": true, "claude-sonnet-4.6": true,
		"claude-opus-5": true, "claude-sonnet-5": true, "claude-fable-5": true, "claude-opus-5.1": true,
		"claude-sonnet-4.5": false, "claude-opus-4.5": false, "claude-haiku-4.5": false, "claude-sonnet-4": false,
		"auto": false, "": false, "claude-5": false, "gpt-5": false, "claude-opus-45": false,
	} {
		if got := AcceptsEffort(id); got != want {
			t.Errorf("AcceptsEffort(%q) = %v, want %v", id, got, want)
		}
	}
}

// TestTopLevelCombinators checks that only a combinator at the top of a
// tool schema is refused, with TOOL_SCHEMA_INVALID.
func TestTopLevelCombinators(t *testing.T) {
	c := NewChecker(Limits{}, []string{"claude-sonnet-4.5"})
	body := func(schema string) []byte {
		return []byte(`{"conversationState":{"chatTriggerType":"MANUAL","currentMessage":{"userInputMessage":{"content":"hi","modelId":"claude-sonnet-4.5",` +
			`"userInputMessageContext":{"tools":[{"toolSpecification":{"name":"t","description":"d","inputSchema":{"json":` + schema + `}}}]}}}}}`)
	}
	for schema, want := range map[string]Rule{
		`{"type":"object","anyOf":[{"required":["a"]}]}`:                     RuleSchemaCombinator,
		`{"oneOf":[{"type":"object"}]}`:                                      RuleSchemaCombinator,
		`{"allOf":[]}`:                                                       RuleSchemaCombinator,
		`{"type":"object","properties":{"a":{"anyOf":[{"type":"string"}]}}}`: "",
		`{"type":"object","properties":{"anyOf":{"type":"string"}}}`:         "",
	} {
		_, rej := c.Check(body(schema))
		switch {
		case want == "" && rej != nil:
			t.Errorf("%s refused by %s", schema, rej.Rule)
		case want != "" && (rej == nil || rej.Rule != want || rej.Body != BodySchemaCombinator):
			t.Errorf("%s: rejection %+v, want %s", schema, rej, want)
		}
	}
}
