package rules

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"unicode/utf8"
)

// topLevelFields are the only keys the service accepts at the top of a
// generation body; anything else (a "systemPrompt", say) is
// REQUEST_BODY_INVALID (decolua/9router#2874).
var topLevelFields = map[string]bool{"conversationState": true, "profileArn": true, "inferenceConfig": true,
	"additionalModelRequestFields": true}

var imageFormats = map[string]bool{"png": true, "jpeg": true, "gif": true, "webp": true}

var origins = map[string]bool{"": true, "AI_EDITOR": true, "CLI": true, "KIRO_CLI": true}

// Parse decodes a generation body, applying the checks that need only the
// bytes: size, JSON, top-level fields, nulls, shape.
func (c *Checker) Parse(body []byte) (*Payload, *Rejection) {
	if len(body) > c.lim.MaxPayloadBytes {
		return nil, Improper(RulePayloadTooLarge)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return nil, Improper(RuleMalformedJSON)
	}
	for k := range top {
		if !topLevelFields[k] {
			return nil, BodyInvalid(RuleUnknownField)
		}
	}
	if _, ok := top["conversationState"]; !ok {
		return nil, Improper(RuleNoConversation)
	}
	var generic any
	if err := json.Unmarshal(body, &generic); err != nil {
		return nil, Improper(RuleMalformedJSON)
	}
	if hasNull(generic) {
		return nil, Improper(RuleNullValue)
	}
	var p Payload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, Improper(RuleMalformedJSON)
	}
	return &p, nil
}

// hasNull reports a JSON null anywhere outside free-form JSON (tool schemas,
// tool inputs, JSON tool results): the service does not accept null values
// (AIClient; kiro.rs omits empty fields for the same reason).
func hasNull(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case map[string]any:
		for k, c := range t {
			if k == "inputSchema" || k == "input" || k == "json" {
				continue
			}
			if hasNull(c) {
				return true
			}
		}
	case []any:
		for _, c := range t {
			if hasNull(c) {
				return true
			}
		}
	}
	return false
}

// Validate applies the conversation rules the service enforces
// (kiro-protocol.md §2.2–§2.8, §8 item 2).
func (c *Checker) Validate(p *Payload) *Rejection {
	cs := &p.ConversationState
	switch cs.ChatTriggerType {
	case "MANUAL", "AUTO":
	default:
		return Improper(RuleChatTriggerType)
	}
	cur := cs.CurrentMessage.UserInputMessage
	if cur == nil {
		return Improper(RuleNoCurrentMessage)
	}
	if rej := c.checkHistoryShape(cs.History); rej != nil {
		return rej
	}
	users := make([]*UserInputMessage, 0, len(cs.History)/2+1)
	for _, h := range cs.History {
		if h.UserInputMessage != nil {
			users = append(users, h.UserInputMessage)
		}
	}
	users = append(users, cur)
	for _, u := range users {
		if rej := c.checkUser(u); rej != nil {
			return rej
		}
	}
	for _, h := range cs.History {
		if a := h.AssistantResponseMessage; a != nil {
			if rej := checkAssistant(a); rej != nil {
				return rej
			}
		}
	}
	if rej := c.checkModel(cur.ModelID, true); rej != nil {
		return rej
	}
	if rej := c.checkModelFields(p); rej != nil {
		return rej
	}
	for _, u := range users[:len(users)-1] {
		if rej := c.checkModel(u.ModelID, false); rej != nil {
			return rej
		}
	}
	declared, rej := c.checkTools(p.Tools())
	if rej != nil {
		return rej
	}
	if rej := checkToolFlow(cs.History, cur, declared); rej != nil {
		return rej
	}
	if c.EstimateTokens(p) > c.lim.ContextLimitTokens {
		return &Rejection{Status: http.StatusBadRequest, Body: BodyInputTooLong, Rule: RuleContextTooLong}
	}
	return nil
}

// checkHistoryShape: every entry exactly one role, alternating, starting
// with a user turn and ending with an assistant turn.
func (c *Checker) checkHistoryShape(history []HistoryEntry) *Rejection {
	for i, h := range history {
		isUser, isAssistant := h.UserInputMessage != nil, h.AssistantResponseMessage != nil
		if isUser == isAssistant {
			return Improper(RuleHistoryEntry)
		}
		if isUser != (i%2 == 0) {
			return Improper(RuleAlternation)
		}
	}
	if len(history)%2 != 0 {
		return Improper(RuleAlternation)
	}
	return nil
}

// checkUser checks one user turn: content, origin, images, thinking tags.
func (c *Checker) checkUser(u *UserInputMessage) *Rejection {
	var results []ToolResult
	if ctx := u.UserInputMessageContext; ctx != nil {
		if len(ctx.Images) > 0 {
			return Improper(RuleImage)
		}
		results = ctx.ToolResults
	}
	if strings.TrimSpace(u.Content) == "" && len(results) == 0 {
		return Improper(RuleEmptyContent)
	}
	if !origins[u.Origin] {
		return Improper(RuleOrigin)
	}
	for _, img := range u.Images {
		if rej := c.checkImage(img); rej != nil {
			return rej
		}
	}
	if len(results) > 0 && strings.Contains(u.Content, "<thinking_mode>") {
		return Improper(RuleThinkingToolResults)
	}
	return nil
}

// checkAssistant: non-empty content (" " only with tool uses), no images,
// no empty toolUses array, object inputs, valid ids.
func checkAssistant(a *AssistantResponseMessage) *Rejection {
	if len(a.Images) > 0 {
		return Improper(RuleImage)
	}
	hasUses := a.ToolUses != nil && len(*a.ToolUses) > 0
	if a.Content == "" || (strings.TrimSpace(a.Content) == "" && !hasUses) {
		return Improper(RuleEmptyContent)
	}
	if a.ToolUses != nil && len(*a.ToolUses) == 0 {
		return Improper(RuleEmptyToolUses)
	}
	return nil
}

func (c *Checker) checkModel(id string, required bool) *Rejection {
	if id == "" && !required {
		return nil
	}
	if !c.models[id] {
		return &Rejection{Status: http.StatusBadRequest, Body: BodyInvalidModel, Rule: RuleModelID}
	}
	return nil
}

// checkTools validates the declared tools and returns their lower-cased
// names.
func (c *Checker) checkTools(tools []Tool) (map[string]bool, *Rejection) {
	declared := make(map[string]bool, len(tools))
	for _, t := range tools {
		spec := t.ToolSpecification
		if spec == nil || spec.Name == "" {
			return nil, Improper(RuleToolSpec)
		}
		if utf8.RuneCountInString(spec.Name) > c.lim.MaxToolNameLen {
			return nil, Improper(RuleToolNameLength)
		}
		key := strings.ToLower(spec.Name)
		if declared[key] {
			return nil, Improper(RuleDuplicateTool)
		}
		declared[key] = true
		if spec.Description == "" || utf8.RuneCountInString(spec.Description) > c.lim.MaxToolDescriptionLen {
			return nil, Improper(RuleToolDescription)
		}
		if rej := c.checkSchema(spec.InputSchema.JSON); rej != nil {
			return nil, rej
		}
	}
	return declared, nil
}

// BodySchemaCombinator is the refusal of a tool schema with anyOf, oneOf or
// allOf at its top level. The reason TOOL_SCHEMA_INVALID is the service's
// (R1ddle1337/kiro.rs:src/anthropic/converter.rs strip_top_level_combinators;
// official ValidationExceptionReason); the message is unconfirmed: this is
// the wording of the Anthropic API, whose rule it is, in Kiro's usual
// {"message","reason"} body.
const BodySchemaCombinator = `{"message":"input_schema does not support oneOf, allOf, or anyOf at the top level","reason":"TOOL_SCHEMA_INVALID"}`

// checkSchema: an object, no top-level anyOf/oneOf/allOf, no "$schema" (Claude Code sends it; the service
// refuses it), no null "required"/"properties", and the optional strictness
// of Options.
func (c *Checker) checkSchema(raw json.RawMessage) *Rejection {
	var schema map[string]any
	if err := json.Unmarshal(raw, &schema); err != nil || schema == nil {
		return Improper(RuleToolSchema)
	}
	for _, k := range []string{"anyOf", "oneOf", "allOf"} {
		if _, ok := schema[k]; ok {
			return &Rejection{Status: http.StatusBadRequest, Body: BodySchemaCombinator, Rule: RuleSchemaCombinator}
		}
	}
	return c.walkSchema(schema)
}

func (c *Checker) walkSchema(schema map[string]any) *Rejection {
	for k, v := range schema {
		switch k {
		case "$schema":
			return Improper(RuleSchemaDollarSchema)
		case "required":
			list, ok := v.([]any)
			if !ok || (len(list) == 0 && c.lim.RejectEmptyRequired) {
				return Improper(RuleToolSchema)
			}
		case "properties":
			props, ok := v.(map[string]any)
			if !ok {
				return Improper(RuleToolSchema)
			}
			// Property names are free; only their schemas are walked.
			for _, p := range props {
				if sub, ok := p.(map[string]any); ok {
					if rej := c.walkSchema(sub); rej != nil {
						return rej
					}
				}
			}
			continue
		case "additionalProperties":
			if c.lim.RejectAdditionalProperties {
				return Improper(RuleToolSchema)
			}
		}
		if rej := c.walkSchemaValue(v); rej != nil {
			return rej
		}
	}
	return nil
}

func (c *Checker) walkSchemaValue(v any) *Rejection {
	switch t := v.(type) {
	case map[string]any:
		return c.walkSchema(t)
	case []any:
		for _, el := range t {
			if rej := c.walkSchemaValue(el); rej != nil {
				return rej
			}
		}
	}
	return nil
}

// checkToolFlow pairs tool uses and tool results: every history tool use is
// answered in the next user turn, every result answers a use in the turn
// just before it, ids are well-formed and unique, inputs are objects, history
// tools are declared, and results come with declared tools.
func checkToolFlow(history []HistoryEntry, cur *UserInputMessage, declared map[string]bool) *Rejection {
	userAt := func(i int) *UserInputMessage {
		if i == len(history) {
			return cur
		}
		return history[i].UserInputMessage
	}
	var prevUses map[string]bool // tool uses of the assistant turn before the user turn at hand
	for i := 0; i <= len(history); i++ {
		if i < len(history) && history[i].AssistantResponseMessage != nil {
			uses, rej := checkToolUses(history[i].AssistantResponseMessage, declared)
			if rej != nil {
				return rej
			}
			prevUses = uses
			continue
		}
		u := userAt(i)
		var results []ToolResult
		if u.UserInputMessageContext != nil {
			results = u.UserInputMessageContext.ToolResults
		}
		if len(results) > 0 && len(declared) == 0 {
			return Improper(RuleToolResultsNoTools)
		}
		answered := make(map[string]bool, len(results))
		for _, r := range results {
			if !validToolUseID(r.ToolUseID) {
				return BodyInvalid(RuleToolUseID)
			}
			if answered[r.ToolUseID] {
				return Improper(RuleDuplicateToolUseID)
			}
			answered[r.ToolUseID] = true
			if !prevUses[r.ToolUseID] {
				return Improper(RuleOrphanToolResult)
			}
			switch r.Status {
			case "", "success", "error":
			default:
				return Improper(RuleToolResultStatus)
			}
		}
		for id := range prevUses {
			if !answered[id] {
				return Improper(RuleUnansweredToolUse)
			}
		}
		prevUses = nil
	}
	return nil
}

// checkToolUses validates one assistant turn's tool uses and returns their
// ids.
func checkToolUses(a *AssistantResponseMessage, declared map[string]bool) (map[string]bool, *Rejection) {
	if a.ToolUses == nil {
		return nil, nil
	}
	ids := make(map[string]bool, len(*a.ToolUses))
	for _, tu := range *a.ToolUses {
		if !validToolUseID(tu.ToolUseID) {
			return nil, BodyInvalid(RuleToolUseID)
		}
		if ids[tu.ToolUseID] {
			return nil, Improper(RuleDuplicateToolUseID)
		}
		ids[tu.ToolUseID] = true
		if !isJSONObject(tu.Input) {
			return nil, Improper(RuleToolInput)
		}
		if !declared[strings.ToLower(tu.Name)] {
			return nil, Improper(RuleUndeclaredTool)
		}
	}
	return ids, nil
}

// validToolUseID: [a-zA-Z0-9_-]{1,64} (kiro-protocol.md §2.5 item 6).
func validToolUseID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func isJSONObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return false
	}
	var m map[string]json.RawMessage
	return json.Unmarshal(raw, &m) == nil
}

// EstimateTokens is the service's view, as kirobar models it, of the input size: characters of all
// text, tool inputs, results and tool specs, divided by 4.
func (c *Checker) EstimateTokens(p *Payload) int {
	chars := 0
	addUser := func(u *UserInputMessage) {
		chars += utf8.RuneCountInString(u.Content)
		if u.UserInputMessageContext != nil {
			for _, r := range u.UserInputMessageContext.ToolResults {
				chars += utf8.RuneCountInString(r.Text())
			}
		}
	}
	for _, h := range p.ConversationState.History {
		if h.UserInputMessage != nil {
			addUser(h.UserInputMessage)
		}
		if a := h.AssistantResponseMessage; a != nil {
			chars += utf8.RuneCountInString(a.Content)
			if a.ToolUses != nil {
				for _, tu := range *a.ToolUses {
					chars += len(tu.Input)
				}
			}
		}
	}
	if cur := p.ConversationState.CurrentMessage.UserInputMessage; cur != nil {
		addUser(cur)
	}
	for _, t := range p.Tools() {
		if spec := t.ToolSpecification; spec != nil {
			chars += utf8.RuneCountInString(spec.Name) + utf8.RuneCountInString(spec.Description) + len(spec.InputSchema.JSON)
		}
	}
	return chars / 4
}
