package rules

import (
	"encoding/json"
	"net/http"
	"strings"
)

// BodyFieldsNotSupported is the service's answer to
// additionalModelRequestFields for a model that does not take them
// (justlovemaki/AIClient2API#705; kiro-protocol.md §11.12). The body shape
// around the quoted message is kirobar's assumption, the usual
// {"message","reason"} of the service's validation errors.
const BodyFieldsNotSupported = `{"message":"additionalModelRequestFields is not supported for this model","reason":null}`

// efforts are the values output_config.effort takes (kiro-cli capture in
// R1ddle1337/kiro.rs:src/kiro/model/requests/kiro.rs).
var efforts = map[string]bool{"low": true, "medium": true, "high": true, "xhigh": true, "max": true}

// AcceptsEffort reports whether the Kiro model id takes the top-level
// additionalModelRequestFields with output_config.effort: claude-opus-4.6,
// 4.7 and 4.8, claude-sonnet-4.6 and the Claude 5 family; every other model
// answers 400 (R1ddle1337/kiro.rs:src/anthropic/converter.rs
// model_supports_native_reasoning; kiro-protocol.md §11.12).
func AcceptsEffort(modelID string) bool {
	switch modelID {
	case "claude-opus-4.6", "claude-opus-4.7", "claude-opus-4.8", "claude-sonnet-4.6":
		return true
	}
	// Claude 5: claude-opus-5, claude-sonnet-5, claude-fable-5, and their
	// point releases (claude-opus-5.1).
	rest, ok := strings.CutPrefix(modelID, "claude-")
	if !ok {
		return false
	}
	i := strings.LastIndexByte(rest, '-')
	if i <= 0 {
		return false
	}
	v := rest[i+1:]
	return v == "5" || strings.HasPrefix(v, "5.")
}

// modelFields is additionalModelRequestFields as kirobar sends it.
type modelFields struct {
	OutputConfig *struct {
		Effort string `json:"effort"`
	} `json:"output_config"`
}

// checkModelFields applies the additionalModelRequestFields rule: only for
// models that take it, and with an effort the service knows.
func (c *Checker) checkModelFields(p *Payload) *Rejection {
	if len(p.AdditionalModelRequestFields) == 0 {
		return nil
	}
	model := ""
	if u := p.ConversationState.CurrentMessage.UserInputMessage; u != nil {
		model = u.ModelID
	}
	if !AcceptsEffort(model) {
		return &Rejection{Status: http.StatusBadRequest, Body: BodyFieldsNotSupported, Rule: RuleModelFields}
	}
	var f modelFields
	if err := json.Unmarshal(p.AdditionalModelRequestFields, &f); err != nil {
		return BodyInvalid(RuleModelFields)
	}
	if f.OutputConfig != nil && !efforts[f.OutputConfig.Effort] {
		return BodyInvalid(RuleModelFields)
	}
	return nil
}
