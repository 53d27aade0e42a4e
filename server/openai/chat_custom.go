package openai

import (
	"fmt"

	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/internal/jsonw"
)

// chatCustomTool holds a Chat Completions custom tool's fields:
// {"type":"custom","custom":{"name","description","format"}}, or, as newer
// SDKs send it, the same fields beside "type".
type chatCustomTool struct {
	Name        string        `json:"name"`
	Description string        `json:"description"`
	Format      *customFormat `json:"format"`
}

// declareChatCustom converts a custom tool and takes its name in names.
func declareChatCustom(param string, t chatTool, names map[string]bool) (canon.Tool, *RequestError) {
	c := t.chatCustomTool
	if t.Custom != nil {
		c, param = *t.Custom, param+".custom"
	}
	if c.Name == "" {
		return canon.Tool{}, badRequest(param+".name", param+".name: field required")
	}
	if names[c.Name] {
		return canon.Tool{}, badRequest(param+".name", fmt.Sprintf("%s.name: duplicate tool name %q", param, c.Name))
	}
	names[c.Name] = true
	return customTool(param, c.Name, c.Description, c.Format)
}

// chatCustomCall converts a custom tool call in an assistant message,
// {"id","type":"custom","custom":{"name","input"}}.
func chatCustomCall(param string, tc chatToolCall) (canon.Block, *RequestError) {
	if tc.ID == "" {
		return canon.Block{}, badRequest(param+".id", param+".id: field required")
	}
	if tc.Custom.Name == "" {
		return canon.Block{}, badRequest(param+".custom.name", param+".custom.name: field required")
	}
	return canon.Block{Type: canon.BlockToolUse, ID: tc.ID, Name: tc.Custom.Name, Input: customInput(tc.Custom.Input)}, nil
}

// customStart appends the chunk opening a custom tool call, the way
// OpenAI streams one (openai-python ChoiceDeltaToolCall with type
// "custom"): index, id, type and name, with an empty input.
func (s *ChatStream) customStart(dst []byte, call int, ev canon.Event) []byte {
	dst = s.open(dst)
	dst = append(dst, `{"tool_calls":[{"index":`...)
	dst = jsonw.Int(dst, call)
	dst = append(dst, `,"id":`...)
	dst = jsonw.String(dst, ev.ID)
	dst = append(dst, `,"type":"custom","custom":{"name":`...)
	dst = jsonw.String(dst, ev.Name)
	dst = append(dst, `,"input":""}}]}`...)
	return s.close(dst, "")
}

// customStop appends the input of a finished custom tool call in one
// chunk; Kiro delivers a tool call whole, so there is nothing to stream
// before. Other blocks, and calls already finished, append nothing.
func (s *ChatStream) customStop(dst []byte, index int) []byte {
	if index < 0 || index >= len(s.blocks) {
		return dst
	}
	b := &s.blocks[index]
	if !b.custom || b.done {
		return dst
	}
	b.done = true
	input := customText(b.input)
	if input == "" {
		return dst
	}
	dst = s.open(dst)
	dst = append(dst, `{"tool_calls":[{"index":`...)
	dst = jsonw.Int(dst, b.call)
	dst = append(dst, `,"custom":{"input":`...)
	dst = jsonw.String(dst, input)
	dst = append(dst, `}}]}`...)
	return s.close(dst, "")
}
