package kirofake

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/kirobar/kirobar/kiro/rules"
)

// setImage replaces the current message's image.
func setImage(m map[string]any, format, data string) {
	curMsg(m)["images"] = []any{map[string]any{"format": format, "source": map[string]any{"bytes": data}}}
}

// setModel sets the model of every user message.
func setModel(m map[string]any, model string) {
	curMsg(m)["modelId"] = model
	for i := range history(m) {
		if u, ok := history(m)[i].(map[string]any)["userInputMessage"].(map[string]any); ok {
			u["modelId"] = model
		}
	}
}

// pngWithSize is a PNG header claiming w×h pixels, padded with an ancillary
// chunk so its base64 is about size characters (0: no padding). The
// service reads the header to check dimensions.
func pngWithSize(t *testing.T, w, h, size int) string {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	binary.BigEndian.PutUint32(raw[16:], uint32(w))
	binary.BigEndian.PutUint32(raw[20:], uint32(h))
	binary.BigEndian.PutUint32(raw[29:], crc32.ChecksumIEEE(raw[12:29]))
	out := append([]byte(nil), raw[:33]...) // signature and IHDR
	if n := size*3/4 - len(raw) - 12; n > 0 {
		chunk := make([]byte, 8+n+4)
		binary.BigEndian.PutUint32(chunk, uint32(n))
		copy(chunk[4:], "tEXt")
		binary.BigEndian.PutUint32(chunk[8+n:], crc32.ChecksumIEEE(chunk[4:8+n]))
		out = append(out, chunk...)
	}
	out = append(out, raw[33:]...)
	return base64.StdEncoding.EncodeToString(out)
}

// Accessors into a kiroRequest-shaped map.
func convState(m map[string]any) map[string]any { return m["conversationState"].(map[string]any) }
func curMsg(m map[string]any) map[string]any {
	return convState(m)["currentMessage"].(map[string]any)["userInputMessage"].(map[string]any)
}
func curCtx(m map[string]any) map[string]any {
	return curMsg(m)["userInputMessageContext"].(map[string]any)
}
func history(m map[string]any) []any { return convState(m)["history"].([]any) }
func histMsg(m map[string]any, i int) map[string]any {
	for _, v := range history(m)[i].(map[string]any) {
		return v.(map[string]any)
	}
	return nil
}
func tools(m map[string]any) []any { return curCtx(m)["tools"].([]any) }
func toolSpec(m map[string]any, i int) map[string]any {
	return tools(m)[i].(map[string]any)["toolSpecification"].(map[string]any)
}
func schemaOf(m map[string]any, i int) map[string]any {
	return toolSpec(m, i)["inputSchema"].(map[string]any)["json"].(map[string]any)
}
func lastToolUse(m map[string]any) map[string]any {
	return histMsg(m, 3)["toolUses"].([]any)[0].(map[string]any)
}
func toolResult(m map[string]any) map[string]any {
	return curCtx(m)["toolResults"].([]any)[0].(map[string]any)
}
func addTool(m map[string]any, name, desc string) {
	ctx := curCtx(m)
	ctx["tools"] = append(tools(m), map[string]any{"toolSpecification": map[string]any{
		"name": name, "description": desc, "inputSchema": map[string]any{"json": map[string]any{"type": "object"}},
	}})
}

func TestValidation(t *testing.T) {
	type mutate func(m map[string]any)
	const ok = 0
	for _, tc := range []struct {
		name   string
		base   func() map[string]any
		mutate mutate
		raw    string // sent instead of the mutated map when set
		opts   Options
		status int    // 0 = 200
		body   string // expected error body
		rule   Rule
	}{
		{name: "kiro.rs payload accepted", base: kiroRequest},
		{name: "minimal payload accepted", base: func() map[string]any { return simpleRequest("hi") }},
		{name: "AUTO trigger accepted", mutate: func(m map[string]any) { convState(m)["chatTriggerType"] = "AUTO" }},
		{name: "inferenceConfig accepted", mutate: func(m map[string]any) {
			m["inferenceConfig"] = map[string]any{"maxTokens": 32000, "temperature": 0.5}
		}},
		{name: "tool name matched case-insensitively", mutate: func(m map[string]any) { lastToolUse(m)["name"] = "read" }},
		{name: "property named $schema is fine", mutate: func(m map[string]any) {
			schemaOf(m, 0)["properties"].(map[string]any)["$schema"] = map[string]any{"type": "string"}
		}},
		{name: "description at the limit", mutate: func(m map[string]any) { toolSpec(m, 0)["description"] = strings.Repeat("d", 10240) }},
		{name: "empty content with tool results", mutate: func(m map[string]any) { curMsg(m)["content"] = "" }},
		{name: "error tool result", mutate: func(m map[string]any) { toolResult(m)["status"] = "error" }},

		{name: "payload too large", mutate: func(m map[string]any) { curMsg(m)["content"] = strings.Repeat("x", 950*1024) },
			status: 400, body: BodyImproperlyFormed, rule: RulePayloadTooLarge},
		{name: "payload limit option", opts: Options{MaxPayloadBytes: 1000},
			status: 400, body: BodyImproperlyFormed, rule: RulePayloadTooLarge},
		{name: "not JSON", raw: `{"conversationState":`, status: 400, body: BodyImproperlyFormed, rule: RuleMalformedJSON},
		{name: "JSON array", raw: `[]`, status: 400, body: BodyImproperlyFormed, rule: RuleMalformedJSON},
		{name: "wrong field type", mutate: func(m map[string]any) { curMsg(m)["content"] = 42 },
			status: 400, body: BodyImproperlyFormed, rule: RuleMalformedJSON},
		{name: "unknown top-level field", mutate: func(m map[string]any) { m["systemPrompt"] = "be nice" },
			status: 400, body: BodyBodyInvalid, rule: RuleUnknownField},
		{name: "missing conversationState", raw: `{"profileArn":"` + DefaultProfileARN + `"}`,
			status: 400, body: BodyImproperlyFormed, rule: RuleNoConversation},
		{name: "runtime without profileArn", mutate: func(m map[string]any) { delete(m, "profileArn") },
			status: 400, body: BodyProfileRequired, rule: RuleProfileARNRequired},
		{name: "null value", mutate: func(m map[string]any) { curMsg(m)["images"] = nil },
			status: 400, body: BodyImproperlyFormed, rule: RuleNullValue},
		{name: "missing chatTriggerType", mutate: func(m map[string]any) { delete(convState(m), "chatTriggerType") },
			status: 400, body: BodyImproperlyFormed, rule: RuleChatTriggerType},
		{name: "bad chatTriggerType", mutate: func(m map[string]any) { convState(m)["chatTriggerType"] = "INLINE" },
			status: 400, body: BodyImproperlyFormed, rule: RuleChatTriggerType},
		{name: "missing current message", mutate: func(m map[string]any) { convState(m)["currentMessage"] = map[string]any{} },
			status: 400, body: BodyImproperlyFormed, rule: RuleNoCurrentMessage},
		{name: "empty current content", base: func() map[string]any { return simpleRequest("") },
			status: 400, body: BodyImproperlyFormed, rule: RuleEmptyContent},
		{name: "blank current content", base: func() map[string]any { return simpleRequest(" \n") },
			status: 400, body: BodyImproperlyFormed, rule: RuleEmptyContent},
		{name: "bad origin", mutate: func(m map[string]any) { curMsg(m)["origin"] = "WEB" },
			status: 400, body: BodyImproperlyFormed, rule: RuleOrigin},
		{name: "history entry with both roles", mutate: func(m map[string]any) {
			history(m)[0].(map[string]any)["assistantResponseMessage"] = map[string]any{"content": "x"}
		}, status: 400, body: BodyImproperlyFormed, rule: RuleHistoryEntry},
		{name: "history entry with no role", mutate: func(m map[string]any) { history(m)[0] = map[string]any{} },
			status: 400, body: BodyImproperlyFormed, rule: RuleHistoryEntry},
		{name: "history starts with assistant", mutate: func(m map[string]any) {
			cs := convState(m)
			cs["history"] = history(m)[1:4]
		}, status: 400, body: BodyImproperlyFormed, rule: RuleAlternation},
		{name: "history ends with user", mutate: func(m map[string]any) { convState(m)["history"] = history(m)[:3] },
			status: 400, body: BodyImproperlyFormed, rule: RuleAlternation},
		{name: "consecutive user turns", mutate: func(m map[string]any) {
			h := history(m)
			convState(m)["history"] = []any{h[0], h[2], h[1], h[3]}
		}, status: 400, body: BodyImproperlyFormed, rule: RuleAlternation},
		{name: "empty assistant content", mutate: func(m map[string]any) { histMsg(m, 1)["content"] = "" },
			status: 400, body: BodyImproperlyFormed, rule: RuleEmptyContent},
		{name: "blank assistant content without tool uses", mutate: func(m map[string]any) { histMsg(m, 1)["content"] = " " },
			status: 400, body: BodyImproperlyFormed, rule: RuleEmptyContent},
		{name: "empty assistant content with tool uses", mutate: func(m map[string]any) { histMsg(m, 3)["content"] = "" },
			status: 400, body: BodyImproperlyFormed, rule: RuleEmptyContent},
		{name: "empty history user content", mutate: func(m map[string]any) { histMsg(m, 2)["content"] = "" },
			status: 400, body: BodyImproperlyFormed, rule: RuleEmptyContent},
		{name: "empty toolUses array", mutate: func(m map[string]any) {
			histMsg(m, 1)["toolUses"] = []any{}
		}, status: 400, body: BodyImproperlyFormed, rule: RuleEmptyToolUses},
		{name: "hyphenated model id", mutate: func(m map[string]any) { curMsg(m)["modelId"] = "claude-sonnet-4-5" },
			status: 400, body: BodyInvalidModel, rule: RuleModelID},
		{name: "missing model id", mutate: func(m map[string]any) { delete(curMsg(m), "modelId") },
			status: 400, body: BodyInvalidModel, rule: RuleModelID},
		{name: "unknown history model id", mutate: func(m map[string]any) { histMsg(m, 0)["modelId"] = "gpt-5" },
			status: 400, body: BodyInvalidModel, rule: RuleModelID},
		{name: "model list option", opts: Options{Models: []string{"claude-opus-4.7"}},
			status: 400, body: BodyInvalidModel, rule: RuleModelID},
		{name: "toolUseId with bad characters", mutate: func(m map[string]any) {
			lastToolUse(m)["toolUseId"] = "toolu.01"
			toolResult(m)["toolUseId"] = "toolu.01"
		}, status: 400, body: BodyBodyInvalid, rule: RuleToolUseID},
		{name: "toolUseId too long", mutate: func(m map[string]any) {
			lastToolUse(m)["toolUseId"] = strings.Repeat("a", 65)
			toolResult(m)["toolUseId"] = strings.Repeat("a", 65)
		}, status: 400, body: BodyBodyInvalid, rule: RuleToolUseID},
		{name: "tool input not an object", mutate: func(m map[string]any) { lastToolUse(m)["input"] = `{"path":"main.go"}` },
			status: 400, body: BodyImproperlyFormed, rule: RuleToolInput},
		{name: "tool input array", mutate: func(m map[string]any) { lastToolUse(m)["input"] = []any{1} },
			status: 400, body: BodyImproperlyFormed, rule: RuleToolInput},
		{name: "duplicate tool result", mutate: func(m map[string]any) {
			ctx := curCtx(m)
			ctx["toolResults"] = append(ctx["toolResults"].([]any), toolResult(m))
		}, status: 400, body: BodyImproperlyFormed, rule: RuleDuplicateToolUseID},
		{name: "duplicate tool use", mutate: func(m map[string]any) {
			a := histMsg(m, 3)
			a["toolUses"] = append(a["toolUses"].([]any), lastToolUse(m))
		}, status: 400, body: BodyImproperlyFormed, rule: RuleDuplicateToolUseID},
		{name: "unanswered tool use", mutate: func(m map[string]any) { delete(curCtx(m), "toolResults") },
			status: 400, body: BodyImproperlyFormed, rule: RuleUnansweredToolUse},
		{name: "tool result for an unknown use", mutate: func(m map[string]any) { toolResult(m)["toolUseId"] = "tooluse_other" },
			status: 400, body: BodyImproperlyFormed, rule: RuleOrphanToolResult},
		{name: "tool result one turn late", mutate: func(m map[string]any) {
			// A user turn without results sits between the tool use and
			// the results.
			h := history(m)
			convState(m)["history"] = []any{h[0], h[3], h[2], map[string]any{"assistantResponseMessage": map[string]any{"content": "ok"}}}
		}, status: 400, body: BodyImproperlyFormed, rule: RuleUnansweredToolUse},
		{name: "bad tool result status", mutate: func(m map[string]any) { toolResult(m)["status"] = "failed" },
			status: 400, body: BodyImproperlyFormed, rule: RuleToolResultStatus},
		{name: "tool results without tools", mutate: func(m map[string]any) {
			delete(curCtx(m), "tools")
			delete(histMsg(m, 3), "toolUses")
			histMsg(m, 3)["content"] = "Reading."
		}, status: 400, body: BodyImproperlyFormed, rule: RuleToolResultsNoTools},
		{name: "history tool not declared", mutate: func(m map[string]any) { toolSpec(m, 0)["name"] = "Write" },
			status: 400, body: BodyImproperlyFormed, rule: RuleUndeclaredTool},
		{name: "tool without specification", mutate: func(m map[string]any) {
			curCtx(m)["tools"] = append(tools(m), map[string]any{"cachePoint": map[string]any{"type": "default"}})
		}, status: 400, body: BodyImproperlyFormed, rule: RuleToolSpec},
		{name: "tool name too long", mutate: func(m map[string]any) { addTool(m, strings.Repeat("n", 65), "long") },
			status: 400, body: BodyImproperlyFormed, rule: RuleToolNameLength},
		{name: "tool name limit option", opts: Options{MaxToolNameLen: 3},
			status: 400, body: BodyImproperlyFormed, rule: RuleToolNameLength},
		{name: "duplicate tool name", mutate: func(m map[string]any) { addTool(m, "READ", "again") },
			status: 400, body: BodyImproperlyFormed, rule: RuleDuplicateTool},
		{name: "empty tool description", mutate: func(m map[string]any) { toolSpec(m, 0)["description"] = "" },
			status: 400, body: BodyImproperlyFormed, rule: RuleToolDescription},
		{name: "tool description too long", mutate: func(m map[string]any) { toolSpec(m, 0)["description"] = strings.Repeat("d", 10241) },
			status: 400, body: BodyImproperlyFormed, rule: RuleToolDescription},
		{name: "schema not an object", mutate: func(m map[string]any) {
			toolSpec(m, 0)["inputSchema"] = map[string]any{"json": "object"}
		}, status: 400, body: BodyImproperlyFormed, rule: RuleToolSchema},
		{name: "schema with $schema", mutate: func(m map[string]any) {
			schemaOf(m, 0)["$schema"] = "https://json-schema.org/draft/2020-12/schema"
		}, status: 400, body: BodyImproperlyFormed, rule: RuleSchemaDollarSchema},
		{name: "nested $schema", mutate: func(m map[string]any) {
			schemaOf(m, 0)["properties"].(map[string]any)["path"].(map[string]any)["$schema"] = "x"
		}, status: 400, body: BodyImproperlyFormed, rule: RuleSchemaDollarSchema},
		{name: "null required", mutate: func(m map[string]any) { schemaOf(m, 0)["required"] = nil },
			status: 400, body: BodyImproperlyFormed, rule: RuleToolSchema},
		{name: "null properties", mutate: func(m map[string]any) { schemaOf(m, 0)["properties"] = nil },
			status: 400, body: BodyImproperlyFormed, rule: RuleToolSchema},
		{name: "empty required accepted by default", mutate: func(m map[string]any) { schemaOf(m, 0)["required"] = []any{} }},
		{name: "empty required rejected when configured", mutate: func(m map[string]any) { schemaOf(m, 0)["required"] = []any{} },
			opts: Options{RejectEmptyRequired: true}, status: 400, body: BodyImproperlyFormed, rule: RuleToolSchema},
		{name: "additionalProperties accepted by default", mutate: func(m map[string]any) { schemaOf(m, 0)["additionalProperties"] = true }},
		{name: "additionalProperties rejected when configured", mutate: func(m map[string]any) { schemaOf(m, 0)["additionalProperties"] = true },
			opts: Options{RejectAdditionalProperties: true}, status: 400, body: BodyImproperlyFormed, rule: RuleToolSchema},
		{name: "image format", mutate: func(m map[string]any) {
			curMsg(m)["images"].([]any)[0].(map[string]any)["format"] = "bmp"
		}, status: 400, body: BodyImproperlyFormed, rule: RuleImage},
		{name: "image not base64", mutate: func(m map[string]any) {
			curMsg(m)["images"].([]any)[0].(map[string]any)["source"] = map[string]any{"bytes": "data:image/png;base64,iVBORw0KGgo="}
		}, status: 400, body: BodyImproperlyFormed, rule: RuleImage},
		{name: "image in context", mutate: func(m map[string]any) {
			curCtx(m)["images"] = curMsg(m)["images"]
			delete(curMsg(m), "images")
		}, status: 400, body: BodyImproperlyFormed, rule: RuleImage},
		{name: "image on assistant", mutate: func(m map[string]any) { histMsg(m, 1)["images"] = curMsg(m)["images"] },
			status: 400, body: BodyImproperlyFormed, rule: RuleImage},
		{name: "thinking tags with tool results", mutate: func(m map[string]any) {
			curMsg(m)["content"] = "<thinking_mode>enabled</thinking_mode> go on"
		}, status: 400, body: BodyImproperlyFormed, rule: RuleThinkingToolResults},
		{name: "input too long", mutate: func(m map[string]any) { curMsg(m)["content"] = strings.Repeat("word ", 170000) },
			status: 400, body: BodyInputTooLong, rule: RuleContextTooLong},
		{name: "context limit option", opts: Options{ContextLimitTokens: 10},
			status: 400, body: BodyInputTooLong, rule: RuleContextTooLong},

		// Images are checked as images (kiro-protocol.md §11.8; official
		// ValidationExceptionReason IMAGE_*).
		{name: "image over the size limit", mutate: func(m map[string]any) {
			setImage(m, "png", tinyPNG+strings.Repeat("A", rules.DefaultMaxImageBase64))
		}, status: 400, body: BodyInputTooLong, rule: rules.RuleImageTooLarge},
		{name: "image just under the size limit accepted", mutate: func(m map[string]any) {
			setImage(m, "png", pngWithSize(t, 1568, 980, rules.DefaultMaxImageBase64-2000))
		}},
		{name: "image over the dimension limit", mutate: func(m map[string]any) { setImage(m, "png", pngWithSize(t, 9000, 10, 0)) },
			status: 400, body: rules.BodyImageDimension, rule: rules.RuleImageDimensions},
		{name: "image format mismatch", mutate: func(m map[string]any) { setImage(m, "jpeg", tinyPNG) },
			status: 400, body: rules.BodyImageMismatch, rule: rules.RuleImageMismatch},
		{name: "image bytes not an image", mutate: func(m map[string]any) { setImage(m, "png", "aGVsbG8gd29ybGQ=") },
			status: 400, body: rules.BodyImageUnsupported, rule: rules.RuleImageUnreadable},
		{name: "image header broken", mutate: func(m map[string]any) { setImage(m, "png", tinyPNG[:24]) },
			status: 400, body: rules.BodyImageUnsupported, rule: rules.RuleImageUnreadable},

		// Tool schemas with a top-level combinator (kiro-protocol.md §11.11).
		{name: "schema with top-level anyOf", mutate: func(m map[string]any) {
			schemaOf(m, 0)["anyOf"] = []any{map[string]any{"required": []any{"path"}}}
		}, status: 400, body: rules.BodySchemaCombinator, rule: rules.RuleSchemaCombinator},
		{name: "schema with top-level oneOf", mutate: func(m map[string]any) { schemaOf(m, 0)["oneOf"] = []any{} },
			status: 400, body: rules.BodySchemaCombinator, rule: rules.RuleSchemaCombinator},
		{name: "schema with top-level allOf", mutate: func(m map[string]any) { schemaOf(m, 0)["allOf"] = []any{} },
			status: 400, body: rules.BodySchemaCombinator, rule: rules.RuleSchemaCombinator},
		{name: "nested anyOf accepted", mutate: func(m map[string]any) {
			schemaOf(m, 0)["properties"].(map[string]any)["path"] = map[string]any{"anyOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "null"}}}
		}},

		// Native effort (kiro-protocol.md §11.12).
		{name: "effort accepted by opus 4.7", mutate: func(m map[string]any) {
			setModel(m, "claude-opus-4.7")
			m["additionalModelRequestFields"] = map[string]any{"output_config": map[string]any{"effort": "xhigh"}}
		}},
		{name: "effort refused by sonnet 4.5", mutate: func(m map[string]any) {
			m["additionalModelRequestFields"] = map[string]any{"output_config": map[string]any{"effort": "high"}}
		}, status: 400, body: rules.BodyFieldsNotSupported, rule: rules.RuleModelFields},
		{name: "unknown effort", mutate: func(m map[string]any) {
			setModel(m, "claude-sonnet-4.6")
			m["additionalModelRequestFields"] = map[string]any{"output_config": map[string]any{"effort": "extreme"}}
		}, status: 400, body: BodyBodyInvalid, rule: rules.RuleModelFields},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := withAccount(t, tc.opts)
			base := tc.base
			if base == nil {
				base = kiroRequest
			}
			m := base()
			if tc.mutate != nil {
				tc.mutate(m)
			}
			body := []byte(tc.raw)
			if tc.raw == "" {
				body = mustMarshal(t, m)
			}
			resp := generate(testCtx(t), t, s, testToken, body)
			got := readBody(t, resp)
			wantStatus := tc.status
			if wantStatus == ok {
				wantStatus = http.StatusOK
			}
			if resp.StatusCode != wantStatus {
				t.Fatalf("status %d (rule %q, body %s), want %d", resp.StatusCode, resp.Header.Get("x-kirofake-rule"), got, wantStatus)
			}
			if tc.status == ok {
				if frames := readAllFrames(t, got); len(frames) == 0 {
					t.Fatal("accepted request streamed no frames")
				}
				if n := len(s.Stats().Rejections); n != 0 {
					t.Fatalf("rejections recorded: %v", s.Stats().Rejections)
				}
				return
			}
			if string(got) != tc.body {
				t.Errorf("body %s, want %s", got, tc.body)
			}
			if r := Rule(resp.Header.Get("x-kirofake-rule")); r != tc.rule {
				t.Errorf("rule %q, want %q", r, tc.rule)
			}
			if n := s.Stats().Rejections[tc.rule]; n != 1 {
				t.Errorf("Rejections[%s] = %d, want 1", tc.rule, n)
			}
			reqs := s.Requests()
			if len(reqs) != 1 || reqs[0].Rule != tc.rule || reqs[0].Status != tc.status {
				t.Errorf("recorded %d requests, want one with rule %s", len(reqs), tc.rule)
			}
		})
	}
}

// FuzzValidate feeds arbitrary bodies through parsing and validation: the
// fake must answer every one with a verdict and never crash.
func FuzzValidate(f *testing.F) {
	f.Add(mustMarshal(f, kiroRequest()))
	f.Add(mustMarshal(f, simpleRequest("hi")))
	f.Add([]byte(`{"conversationState":{"chatTriggerType":"MANUAL","currentMessage":{"userInputMessage":{"content":"x","modelId":"auto"}},"history":[{"assistantResponseMessage":{"content":" ","toolUses":[]}}]},"profileArn":"a"}`))
	f.Add([]byte(`{"conversationState":{"currentMessage":{"userInputMessage":{"userInputMessageContext":{"tools":[{"toolSpecification":{"name":"a","description":"b","inputSchema":{"json":{"properties":{"x":{"items":[{"$schema":1}]}}}}}}]}}}}}`))
	f.Add([]byte(`null`))
	s, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, rej := s.rules.Parse(body)
		if rej == nil {
			if p == nil {
				t.Fatal("no payload and no rejection")
			}
			rej = s.rules.Validate(p)
		}
		if rej != nil && (rej.Status < 400 || rej.Body == "" || rej.Rule == "") {
			t.Fatalf("incomplete rejection %+v", rej)
		}
	})
}
