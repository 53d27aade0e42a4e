package openai

import (
	"fmt"
	"strings"

	json "github.com/goccy/go-json"

	"github.com/kirobar/kirobar/canon"
)

// Codex's default models run in "code mode": the request's top-level tools
// are empty and the tools come instead in an input item
// {"type":"additional_tools","role":"developer","tools":[...]}, which adds
// tools at its place in the conversation. Kiro takes one list of tools per
// request, so every additional_tools item, wherever it stands, declares its
// tools as if they were top-level ones; the item itself carries nothing
// else for the model.

// declaredTool is a tool the request declares, with the parameter path
// that names it in an error (tools[2], input[0].tools[1]).
type declaredTool struct {
	param string
	responsesTool
}

// declaredTools lists the top-level tools, then those of every
// additional_tools input item in input order.
func declaredTools(top []responsesTool, items []responsesItem) []declaredTool {
	out := make([]declaredTool, 0, len(top))
	for i, t := range top {
		out = append(out, declaredTool{param: fmt.Sprintf("tools[%d]", i), responsesTool: t})
	}
	for i, it := range items {
		if it.Type != "additional_tools" {
			continue
		}
		for j, t := range it.Tools {
			out = append(out, declaredTool{param: fmt.Sprintf("input[%d].tools[%d]", i, j), responsesTool: t})
		}
	}
	return out
}

// inputItems reads input: a string (one user message) or a list of items.
func inputItems(raw json.RawMessage) ([]responsesItem, *RequestError) {
	switch firstByte(raw) {
	case 0, 'n':
		return nil, badRequest("input", "input: field required")
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, badRequest("input", "input: invalid string")
		}
		return []responsesItem{{Type: "message", Role: "user", Content: raw}}, nil
	case '[':
	default:
		return nil, badRequest("input", "input: expected a string or an array of items")
	}
	var items []responsesItem
	if err := json.Unmarshal(raw, &items); err != nil {
		if rerr := jsonError(err); rerr.Param != "" {
			return nil, inputParam(rerr)
		}
		return nil, badRequest("input", "input: expected an array of items")
	}
	return items, nil
}

// inputParam names a field of an input item the way the request spells
// it: the decoder reports "0.tools" for what is input[0].tools.
func inputParam(e *RequestError) *RequestError {
	index, rest, _ := strings.Cut(e.Param, ".")
	if index == "" || strings.Trim(index, "0123456789") != "" {
		return e
	}
	param := "input[" + index + "]"
	if rest != "" {
		param += "." + rest
	}
	msg, ok := strings.CutPrefix(e.Message, e.Param)
	if !ok {
		return badRequest(param, e.Message)
	}
	return badRequest(param, param+msg)
}

// declareTool is the canonical tool for a declared function or custom
// tool under the name the model sees. Custom tools are remembered in opt
// so their calls go back as custom tool calls.
func declareTool(param, name string, t responsesTool, opt *ResponsesOptions) (canon.Tool, *RequestError) {
	if t.Type != "custom" {
		return functionTool(name, t), nil
	}
	tool, err := customTool(param, name, t.Description, t.Format)
	if err != nil {
		return canon.Tool{}, err
	}
	if opt.Custom == nil {
		opt.Custom = map[string]bool{}
	}
	opt.Custom[name] = true
	return tool, nil
}
