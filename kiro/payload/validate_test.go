package payload

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// The types below mirror Kiro's conversationState. They are decoded with
// DisallowUnknownFields, so a misspelt or unexpected field fails validate.
type kState struct {
	AgentContinuationID string `json:"agentContinuationId"`
	AgentTaskType       string `json:"agentTaskType"`
	ChatTriggerType     string `json:"chatTriggerType"`
	ConversationID      string `json:"conversationId"`
	CurrentMessage      struct {
		UserInputMessage *kUser `json:"userInputMessage"`
	} `json:"currentMessage"`
	History []kEntry `json:"history"`
}

type kEntry struct {
	User      *kUser      `json:"userInputMessage"`
	Assistant *kAssistant `json:"assistantResponseMessage"`
}

type kUser struct {
	Content string    `json:"content"`
	ModelID string    `json:"modelId"`
	Origin  string    `json:"origin"`
	Images  []kImage  `json:"images"`
	Context *kContext `json:"userInputMessageContext"`
}

type kImage struct {
	Format string `json:"format"`
	Source struct {
		Bytes string `json:"bytes"`
	} `json:"source"`
}

type kContext struct {
	Tools       []kTool   `json:"tools"`
	ToolResults []kResult `json:"toolResults"`
}

type kTool struct {
	ToolSpecification struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		InputSchema struct {
			JSON json.RawMessage `json:"json"`
		} `json:"inputSchema"`
	} `json:"toolSpecification"`
}

type kResult struct {
	ToolUseID string `json:"toolUseId"`
	Content   []struct {
		Text string `json:"text"`
	} `json:"content"`
	Status string `json:"status"`
}

type kAssistant struct {
	Content  string `json:"content"`
	ToolUses []kUse `json:"toolUses"`
}

type kUse struct {
	ToolUseID string          `json:"toolUseId"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
}

func decodeState(data []byte) (*kState, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s kState
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the state")
	}
	return &s, nil
}

// validate checks the rules Kiro enforces on a conversationState
// (kiro-protocol.md §2.5): strict user/assistant alternation with the
// history ending on an assistant turn, every tool use answered exactly once
// in the next user turn and no result without a call, history tools
// declared, non-empty content everywhere, ids and names in
// [a-zA-Z0-9_-]{1,64}, object tool inputs, no $schema in schemas, no
// thinking tags in a turn that carries tool results.
func validate(data []byte) error {
	s, err := decodeState(data)
	if err != nil {
		return err
	}
	if s.AgentTaskType != "vibe" || s.ChatTriggerType != "MANUAL" || s.AgentContinuationID == "" || s.ConversationID == "" {
		return fmt.Errorf("bad header fields: %q %q %q %q", s.AgentTaskType, s.ChatTriggerType, s.AgentContinuationID, s.ConversationID)
	}
	cur := s.CurrentMessage.UserInputMessage
	if cur == nil {
		return fmt.Errorf("currentMessage has no userInputMessage")
	}
	if len(s.History)%2 != 0 {
		return fmt.Errorf("history has %d entries; it must end with an assistant turn", len(s.History))
	}
	useIDs := map[string]bool{}
	var usedNames []string
	anyResults := false
	var prevUses []kUse
	checkUser := func(where string, u *kUser, current bool) error {
		if strings.TrimSpace(u.Content) == "" {
			return fmt.Errorf("%s: empty content", where)
		}
		if u.ModelID == "" || u.Origin == "" {
			return fmt.Errorf("%s: modelId or origin missing", where)
		}
		for _, img := range u.Images {
			switch img.Format {
			case "jpeg", "png", "gif", "webp":
			default:
				return fmt.Errorf("%s: image format %q", where, img.Format)
			}
			if img.Source.Bytes == "" {
				return fmt.Errorf("%s: empty image", where)
			}
		}
		var results []kResult
		if u.Context != nil {
			if !current && len(u.Context.Tools) > 0 {
				return fmt.Errorf("%s: tools outside the current message", where)
			}
			if u.Context.Tools == nil && u.Context.ToolResults == nil {
				return fmt.Errorf("%s: empty userInputMessageContext", where)
			}
			results = u.Context.ToolResults
		}
		if len(results) > 0 {
			anyResults = true
			if strings.Contains(u.Content, "<thinking_mode>") {
				return fmt.Errorf("%s: thinking tags in a turn with tool results", where)
			}
		}
		seen := map[string]bool{}
		for _, r := range results {
			if !validName(r.ToolUseID) {
				return fmt.Errorf("%s: bad toolUseId %q", where, r.ToolUseID)
			}
			if seen[r.ToolUseID] {
				return fmt.Errorf("%s: duplicate result %q", where, r.ToolUseID)
			}
			seen[r.ToolUseID] = true
			if len(r.Content) != 1 || r.Content[0].Text == "" {
				return fmt.Errorf("%s: result %q content %+v", where, r.ToolUseID, r.Content)
			}
			if r.Status != "success" && r.Status != "error" {
				return fmt.Errorf("%s: result status %q", where, r.Status)
			}
		}
		if len(seen) != len(prevUses) {
			return fmt.Errorf("%s: %d results for %d tool uses", where, len(seen), len(prevUses))
		}
		for _, use := range prevUses {
			if !seen[use.ToolUseID] {
				return fmt.Errorf("%s: tool use %q has no result", where, use.ToolUseID)
			}
		}
		return nil
	}
	for i, e := range s.History {
		where := fmt.Sprintf("history[%d]", i)
		if (e.User == nil) == (e.Assistant == nil) {
			return fmt.Errorf("%s: entry must have exactly one role", where)
		}
		if i%2 == 0 {
			if e.User == nil {
				return fmt.Errorf("%s: expected a user turn", where)
			}
			if err := checkUser(where, e.User, false); err != nil {
				return err
			}
			prevUses = nil
			continue
		}
		if e.Assistant == nil {
			return fmt.Errorf("%s: expected an assistant turn", where)
		}
		a := e.Assistant
		if a.Content == "" {
			return fmt.Errorf("%s: empty assistant content", where)
		}
		if a.ToolUses != nil && len(a.ToolUses) == 0 {
			return fmt.Errorf("%s: empty toolUses array", where)
		}
		for _, u := range a.ToolUses {
			if !validName(u.ToolUseID) || !validName(u.Name) {
				return fmt.Errorf("%s: bad tool use id %q or name %q", where, u.ToolUseID, u.Name)
			}
			if useIDs[u.ToolUseID] {
				return fmt.Errorf("%s: duplicate tool use id %q", where, u.ToolUseID)
			}
			useIDs[u.ToolUseID] = true
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(u.Input, &obj); err != nil || obj == nil {
				return fmt.Errorf("%s: tool input %s is not an object", where, u.Input)
			}
			usedNames = append(usedNames, u.Name)
		}
		prevUses = a.ToolUses
	}
	if err := checkUser("currentMessage", cur, true); err != nil {
		return err
	}
	declared := map[string]bool{}
	if cur.Context != nil {
		for _, t := range cur.Context.Tools {
			spec := t.ToolSpecification
			if !validName(spec.Name) {
				return fmt.Errorf("tool name %q", spec.Name)
			}
			if declared[strings.ToLower(spec.Name)] {
				return fmt.Errorf("tool %q declared twice", spec.Name)
			}
			declared[strings.ToLower(spec.Name)] = true
			if strings.TrimSpace(spec.Description) == "" {
				return fmt.Errorf("tool %q: empty description", spec.Name)
			}
			var schema map[string]any
			if err := json.Unmarshal(spec.InputSchema.JSON, &schema); err != nil || schema == nil {
				return fmt.Errorf("tool %q: schema %s is not an object", spec.Name, spec.InputSchema.JSON)
			}
			if schema["type"] != "object" {
				return fmt.Errorf("tool %q: schema type %v", spec.Name, schema["type"])
			}
			if err := walkSchema(schema); err != nil {
				return fmt.Errorf("tool %q: %w", spec.Name, err)
			}
		}
	}
	for _, n := range usedNames {
		if !declared[strings.ToLower(n)] {
			return fmt.Errorf("history tool %q is not declared", n)
		}
	}
	if anyResults && len(declared) == 0 {
		return fmt.Errorf("tool results without any tool declared")
	}
	return nil
}

// walkSchema fails on keywords Kiro rejects anywhere a schema is expected:
// $schema, and null for properties or required.
func walkSchema(v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	if _, has := m["$schema"]; has {
		return fmt.Errorf("$schema left in the schema")
	}
	for _, k := range []string{"properties", "required"} {
		if val, has := m[k]; has && val == nil {
			return fmt.Errorf("%s is null", k)
		}
	}
	for k, val := range m {
		switch k {
		case "properties", "patternProperties", "$defs", "definitions", "dependentSchemas":
			sub, _ := val.(map[string]any)
			for _, s := range sub {
				if err := walkSchema(s); err != nil {
					return err
				}
			}
		case "items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
			"additionalItems", "unevaluatedItems", "unevaluatedProperties", "allOf", "anyOf", "oneOf", "prefixItems":
			list, isList := val.([]any)
			if !isList {
				list = []any{val}
			}
			for _, s := range list {
				if err := walkSchema(s); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
