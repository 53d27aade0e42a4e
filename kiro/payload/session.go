package payload

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/kiro/rules"
)

// conversationID returns the client's session UUID from metadata.user_id,
// so every request of one Claude Code session shares a Kiro conversation
// (kiro.rs extract_session_id), or a fresh UUID. Two shapes are known:
// "user_<hash>_account__session_<uuid>" and a JSON string
// {"device_id":…,"session_id":"<uuid>"}.
func conversationID(meta *canon.Metadata) (string, error) {
	if meta != nil {
		if id, ok := sessionID(meta.UserID); ok {
			return id, nil
		}
	}
	id, err := uuid.NewRandom()
	if err != nil {
		return "", fmt.Errorf("conversation id: %w", err)
	}
	return id.String(), nil
}

func sessionID(userID string) (string, bool) {
	if strings.HasPrefix(strings.TrimSpace(userID), "{") {
		var v struct {
			SessionID string `json:"session_id"`
		}
		if json.Unmarshal([]byte(userID), &v) == nil {
			if id, ok := canonicalUUID(v.SessionID); ok {
				return id, true
			}
		}
	}
	_, rest, found := strings.Cut(userID, "session_")
	if !found || len(rest) < 36 {
		return "", false
	}
	return canonicalUUID(rest[:36])
}

// canonicalUUID accepts only the 36-character hyphenated form and returns
// it lower-cased, so one session always yields one conversation id.
func canonicalUUID(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return "", false
	}
	return u.String(), true
}

// Thinking budget bounds for thinking.type "enabled" (AIClient).
const (
	minThinkingBudget     = 1024
	maxThinkingBudget     = 24576
	defaultThinkingBudget = 20000
)

// thinkingPrefix returns the tags that make Kiro's model think in
// <thinking> blocks (kiro.rs generate_thinking_prefix), or "" when the
// request does not ask for thinking. With native, the effort travels in
// Kiro's own field (nativeEffort) and the tags only switch thinking on.
func thinkingPrefix(req *canon.Request, native bool) string {
	if req.Thinking == nil {
		return ""
	}
	switch req.Thinking.Type {
	case "enabled":
		budget := req.Thinking.BudgetTokens
		switch {
		case budget <= 0:
			budget = defaultThinkingBudget
		case budget < minThinkingBudget:
			budget = minThinkingBudget
		case budget > maxThinkingBudget:
			budget = maxThinkingBudget
		}
		return "<thinking_mode>enabled</thinking_mode><max_thinking_length>" +
			strconv.Itoa(budget) + "</max_thinking_length>"
	case "adaptive":
		if native {
			return "<thinking_mode>adaptive</thinking_mode>"
		}
		effort := ""
		if req.OutputConfig != nil {
			effort = req.OutputConfig.Effort
		}
		return "<thinking_mode>adaptive</thinking_mode><thinking_effort>" +
			thinkingEffort(effort) + "</thinking_effort>"
	}
	return ""
}

// thinkingEffort maps a client effort to low, medium or high; Claude Code
// also sends "max" and "xhigh".
func thinkingEffort(e string) string {
	switch strings.ToLower(e) {
	case "low", "minimal", "none":
		return "low"
	case "high", "xhigh", "max":
		return "high"
	}
	return "medium"
}

// nativeEffort returns the effort to send in Kiro's native field,
// additionalModelRequestFields.output_config.effort (kiro-protocol.md
// §11.12), or "" when the client asked for none or the model does not take
// the field (rules.AcceptsEffort; those models get the thinking tags).
// claude-opus-4.6 takes it only with adaptive thinking, as kiro.rs sends it
// (R1ddle1337/kiro.rs:src/anthropic/converter.rs model_supports_native_reasoning).
func nativeEffort(req *canon.Request, modelID string) string {
	if req.OutputConfig == nil || !rules.AcceptsEffort(modelID) {
		return ""
	}
	if modelID == "claude-opus-4.6" && (req.Thinking == nil || req.Thinking.Type != "adaptive") {
		return ""
	}
	switch e := strings.ToLower(strings.TrimSpace(req.OutputConfig.Effort)); e {
	case "low", "medium", "high", "xhigh", "max":
		return e
	case "minimal", "none":
		return "low"
	}
	return ""
}

// effortFields is the top-level body member carrying effort, or nil.
func effortFields(effort string) []byte {
	if effort == "" {
		return nil
	}
	return []byte(`{"additionalModelRequestFields":{"output_config":{"effort":"` + effort + `"}}}`)
}
