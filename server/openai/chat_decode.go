package openai

import (
	"fmt"
	json "github.com/goccy/go-json"

	"github.com/kirobar/kirobar/canon"
)

// ChatOptions is what the Chat Completions encoders need beyond the
// canonical request.
type ChatOptions struct {
	// Stream is the request's stream flag.
	Stream bool
	// IncludeUsage asks for a final chunk with usage and no choices
	// (stream_options.include_usage).
	IncludeUsage bool
	// N is the number of choices asked for; kirobar only serves 1.
	N int
	// Ignored names request fields kirobar accepted but cannot honour
	// (web_search_options, logprobs, ...), for a log line.
	Ignored []string
	// Custom holds the names of custom (free-form) tools, whose calls are
	// reported as "custom" tool calls.
	Custom map[string]bool
}

type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []chatMessage   `json:"messages"`
	Tools               []chatTool      `json:"tools"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	Stop                json.RawMessage `json:"stop"`
	Stream              bool            `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	N               *int   `json:"n"`
	ReasoningEffort string `json:"reasoning_effort"`
	ResponseFormat  *struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Name   string          `json:"name"`
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`
	Functions        json.RawMessage `json:"functions"`
	Modalities       []string        `json:"modalities"`
	Audio            json.RawMessage `json:"audio"`
	Logprobs         bool            `json:"logprobs"`
	WebSearchOptions json.RawMessage `json:"web_search_options"`
}

type chatMessage struct {
	Role         string          `json:"role"`
	Content      json.RawMessage `json:"content"`
	ToolCalls    []chatToolCall  `json:"tool_calls"`
	ToolCallID   string          `json:"tool_call_id"`
	FunctionCall json.RawMessage `json:"function_call"`
}

type chatToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
	Custom struct {
		Name  string `json:"name"`
		Input string `json:"input"`
	} `json:"custom"`
}

type chatTool struct {
	Type     string `json:"type"`
	Function *struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
	} `json:"function"`
	// Custom is a custom tool, {"type":"custom","custom":{...}}; newer
	// SDKs put its fields beside type instead (chatCustomTool).
	Custom *chatCustomTool `json:"custom"`
	chatCustomTool
}

type chatPart struct {
	Type     string          `json:"type"`
	Text     string          `json:"text"`
	Refusal  string          `json:"refusal"`
	ImageURL json.RawMessage `json:"image_url"`
}

// DecodeChat parses a Chat Completions request into the canonical request.
// Errors are *RequestError, safe to return to the client.
func DecodeChat(body []byte) (*canon.Request, ChatOptions, error) {
	var opt ChatOptions
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, opt, jsonError(err)
	}
	out, rerr := convertChat(&req, &opt)
	if rerr != nil {
		return nil, opt, rerr
	}
	return out, opt, nil
}

func convertChat(req *chatRequest, opt *ChatOptions) (*canon.Request, *RequestError) {
	if req.Model == "" {
		return nil, badRequest("model", "model: field required")
	}
	opt.Stream = req.Stream
	opt.IncludeUsage = req.Stream && req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	opt.N = 1
	if req.N != nil {
		if *req.N < 1 {
			return nil, badRequest("n", "n: must be at least 1")
		}
		if *req.N > 1 {
			return nil, badRequest("n", fmt.Sprintf("n: %d choices were asked for, but kirobar returns exactly one choice per request; send n=1 (or omit it) and repeat the request for more", *req.N))
		}
	}
	if !isNull(req.Functions) {
		return nil, badRequest("functions", "functions: the deprecated functions field is not supported; declare them under tools with type \"function\"")
	}
	if !isNull(req.Audio) {
		return nil, badRequest("audio", "audio: audio output is not supported by Kiro")
	}
	for _, m := range req.Modalities {
		if m != "text" {
			return nil, badRequest("modalities", fmt.Sprintf("modalities: %q output is not supported by Kiro; only text", m))
		}
	}
	if !isNull(req.WebSearchOptions) {
		opt.Ignored = append(opt.Ignored, "web_search_options")
	}
	if req.Logprobs {
		opt.Ignored = append(opt.Ignored, "logprobs")
	}

	out := &canon.Request{
		Model:       req.Model,
		Stream:      req.Stream,
		Temperature: clampTemperature(req.Temperature),
		TopP:        req.TopP,
	}
	if err := chatMessages(req.Messages, out); err != nil {
		return nil, err
	}
	if err := chatTools(req, out, opt); err != nil {
		return nil, err
	}
	switch {
	case req.MaxCompletionTokens != nil:
		out.MaxTokens = *req.MaxCompletionTokens
	case req.MaxTokens != nil:
		out.MaxTokens = *req.MaxTokens
	}
	if out.MaxTokens < 0 {
		return nil, badRequest("max_tokens", "max_tokens: must be positive")
	}
	stops, err := stopSequences(req.Stop)
	if err != nil {
		return nil, err
	}
	out.StopSequences = stops
	thinking, effort, err := thinkingFor("reasoning_effort", req.ReasoningEffort)
	if err != nil {
		return nil, err
	}
	out.Thinking, out.OutputConfig = thinking, effort
	if f := req.ResponseFormat; f != nil {
		var name string
		var schema json.RawMessage
		if f.JSONSchema != nil {
			name, schema = f.JSONSchema.Name, f.JSONSchema.Schema
		}
		note, err := jsonFormatNote("response_format", f.Type, name, schema)
		if err != nil {
			return nil, err
		}
		if note != "" {
			out.System = append(out.System, canon.Block{Type: canon.BlockText, Text: note})
		}
	}
	if verr := out.Validate(); verr != nil {
		return nil, badRequest("messages", verr.Error())
	}
	return out, nil
}

// clampTemperature fits an OpenAI temperature (0..2) into the Messages
// range (0..1) the upstream accepts.
func clampTemperature(t *float64) *float64 {
	if t == nil {
		return nil
	}
	v := min(max(*t, 0), 1)
	return &v
}

// chatMessages converts the message list. Leading system and developer
// messages become the system prompt; later ones stay in place as "system"
// messages so their position in the conversation is kept. Consecutive tool
// messages become one user turn of tool_result blocks, as the Messages
// shape requires.
func chatMessages(msgs []chatMessage, out *canon.Request) *RequestError {
	lastTool := false
	for i, m := range msgs {
		param := fmt.Sprintf("messages[%d]", i)
		isTool := false
		switch m.Role {
		case "system", "developer":
			blocks, err := chatContent(param+".content", m.Content, false)
			if err != nil {
				return err
			}
			if len(out.Messages) == 0 {
				out.System = append(out.System, blocks...)
				continue
			}
			if len(blocks) > 0 {
				out.Messages = append(out.Messages, canon.Message{Role: "system", Content: blocks})
			}
		case "user":
			blocks, err := chatContent(param+".content", m.Content, true)
			if err != nil {
				return err
			}
			out.Messages = append(out.Messages, canon.Message{Role: "user", Content: blocks})
		case "assistant":
			if !isNull(m.FunctionCall) {
				return badRequest(param+".function_call", param+".function_call: the deprecated function_call field is not supported; use tool_calls")
			}
			blocks, err := chatContent(param+".content", m.Content, false)
			if err != nil {
				return err
			}
			for j, tc := range m.ToolCalls {
				p := fmt.Sprintf("%s.tool_calls[%d]", param, j)
				if tc.Type == "custom" {
					use, err := chatCustomCall(p, tc)
					if err != nil {
						return err
					}
					blocks = append(blocks, use)
					continue
				}
				if tc.Type != "" && tc.Type != "function" {
					return badRequest(p+".type", fmt.Sprintf("%s.type: unsupported tool call type %q (function, custom)", p, tc.Type))
				}
				if tc.ID == "" {
					return badRequest(p+".id", p+".id: field required")
				}
				if tc.Function.Name == "" {
					return badRequest(p+".function.name", p+".function.name: field required")
				}
				blocks = append(blocks, canon.Block{
					Type:  canon.BlockToolUse,
					ID:    tc.ID,
					Name:  tc.Function.Name,
					Input: toolInput(tc.Function.Arguments),
				})
			}
			if len(blocks) > 0 {
				out.Messages = append(out.Messages, canon.Message{Role: "assistant", Content: blocks})
			}
		case "tool":
			if m.ToolCallID == "" {
				return badRequest(param+".tool_call_id", param+".tool_call_id: field required for tool messages")
			}
			blocks, err := chatContent(param+".content", m.Content, false)
			if err != nil {
				return err
			}
			result := canon.Block{Type: canon.BlockToolResult, ToolUseID: m.ToolCallID, Content: blocks}
			if lastTool {
				last := &out.Messages[len(out.Messages)-1]
				last.Content = append(last.Content, result)
			} else {
				out.Messages = append(out.Messages, canon.Message{Role: "user", Content: canon.Content{result}})
			}
			isTool = true
		case "function":
			return badRequest(param+".role", param+".role: deprecated function messages are not supported; use tool messages with tool_call_id")
		default:
			return badRequest(param+".role", fmt.Sprintf("%s.role: unexpected role %q (system, developer, user, assistant, tool)", param, m.Role))
		}
		lastTool = isTool
	}
	if len(out.Messages) == 0 {
		return badRequest("messages", "messages: at least one user or assistant message is required")
	}
	return nil
}

// chatContent converts message content: a string, an array of parts, or
// null. Images are allowed only where the API allows them (user messages).
func chatContent(param string, raw json.RawMessage, images bool) (canon.Content, *RequestError) {
	switch firstByte(raw) {
	case 0, 'n':
		if !isNull(raw) {
			return nil, badRequest(param, param+": expected a string, an array of parts or null")
		}
		return nil, nil
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, badRequest(param, param+": invalid string")
		}
		return textBlocks(s), nil
	case '[':
	default:
		return nil, badRequest(param, param+": expected a string or an array of parts")
	}
	var parts []chatPart
	if err := json.Unmarshal(raw, &parts); err != nil {
		return nil, badRequest(param, param+": expected an array of content parts")
	}
	var out canon.Content
	for j, p := range parts {
		pp := fmt.Sprintf("%s[%d]", param, j)
		switch p.Type {
		case "text":
			if p.Text != "" {
				out = append(out, canon.Block{Type: canon.BlockText, Text: p.Text})
			}
		case "refusal":
			if p.Refusal != "" {
				out = append(out, canon.Block{Type: canon.BlockText, Text: p.Refusal})
			}
		case "image_url":
			if !images {
				return nil, badRequest(pp+".type", pp+".type: image parts are only allowed in user messages")
			}
			url, err := imageURLField(pp+".image_url", p.ImageURL)
			if err != nil {
				return nil, err
			}
			blk, err := imageFromURL(pp+".image_url.url", url)
			if err != nil {
				return nil, err
			}
			out = append(out, blk)
		default:
			return nil, badRequest(pp+".type", fmt.Sprintf("%s.type: unsupported content part type %q (text, image_url)", pp, p.Type))
		}
	}
	return out, nil
}

// imageURLField reads image_url, which is {"url": "..."} in the API and a
// bare string in some clients.
func imageURLField(param string, raw json.RawMessage) (string, *RequestError) {
	switch firstByte(raw) {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", badRequest(param, param+": invalid string")
		}
		return s, nil
	case '{':
		var v struct {
			URL string `json:"url"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return "", badRequest(param, param+": expected an object with a url")
		}
		return v.URL, nil
	}
	return "", badRequest(param, param+": field required")
}

// chatTools converts tools and tool_choice.
func chatTools(req *chatRequest, out *canon.Request, opt *ChatOptions) *RequestError {
	names := make(map[string]bool, len(req.Tools))
	for i, t := range req.Tools {
		param := fmt.Sprintf("tools[%d]", i)
		if t.Type == "custom" {
			tool, err := declareChatCustom(param, t, names)
			if err != nil {
				return err
			}
			if opt.Custom == nil {
				opt.Custom = map[string]bool{}
			}
			opt.Custom[tool.Name] = true
			out.Tools = append(out.Tools, tool)
			continue
		}
		if t.Type != "function" {
			return badRequest(param+".type", fmt.Sprintf("%s.type: unsupported tool type %q; Kiro runs function and custom tools only", param, t.Type))
		}
		if t.Function == nil || t.Function.Name == "" {
			return badRequest(param+".function.name", param+".function.name: field required")
		}
		if names[t.Function.Name] {
			return badRequest(param+".function.name", fmt.Sprintf("%s.function.name: duplicate tool name %q", param, t.Function.Name))
		}
		names[t.Function.Name] = true
		schema := t.Function.Parameters
		if isNull(schema) {
			schema = emptySchema
		}
		out.Tools = append(out.Tools, canon.Tool{Name: t.Function.Name, Description: t.Function.Description, InputSchema: schema})
	}
	choice, err := chatToolChoice(req.ToolChoice, names, opt.Custom)
	if err != nil {
		return err
	}
	out.ToolChoice = choice
	return nil
}

func chatToolChoice(raw json.RawMessage, names, custom map[string]bool) (*canon.ToolChoice, *RequestError) {
	const param = "tool_choice"
	switch firstByte(raw) {
	case 0, 'n':
		return nil, nil
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, badRequest(param, "tool_choice: invalid string")
		}
		return simpleToolChoice(param, s, len(names) > 0)
	case '{':
	default:
		return nil, badRequest(param, "tool_choice: expected a string or an object")
	}
	var v struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
		Custom struct {
			Name string `json:"name"`
		} `json:"custom"`
		AllowedTools struct {
			Mode string `json:"mode"`
		} `json:"allowed_tools"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, badRequest(param, "tool_choice: expected {\"type\":\"function\",\"function\":{\"name\":...}}")
	}
	switch v.Type {
	case "function":
		if !names[v.Function.Name] || custom[v.Function.Name] {
			return nil, badRequest(param, fmt.Sprintf("tool_choice: function %q is not among the declared tools", v.Function.Name))
		}
		return &canon.ToolChoice{Type: "tool", Name: v.Function.Name}, nil
	case "custom":
		if !custom[v.Custom.Name] {
			return nil, badRequest(param, fmt.Sprintf("tool_choice: custom tool %q is not among the declared tools", v.Custom.Name))
		}
		return &canon.ToolChoice{Type: "tool", Name: v.Custom.Name}, nil
	case "allowed_tools":
		return simpleToolChoice(param, v.AllowedTools.Mode, len(names) > 0)
	}
	return nil, badRequest(param, fmt.Sprintf("tool_choice: unsupported type %q (function, custom, allowed_tools)", v.Type))
}

// simpleToolChoice maps auto, none and required; without tools there is
// nothing to choose, and "required" cannot be met.
func simpleToolChoice(param, s string, haveTools bool) (*canon.ToolChoice, *RequestError) {
	switch s {
	case "auto", "":
		if !haveTools {
			return nil, nil
		}
		return &canon.ToolChoice{Type: "auto"}, nil
	case "none":
		if !haveTools {
			return nil, nil
		}
		return &canon.ToolChoice{Type: "none"}, nil
	case "required":
		if !haveTools {
			return nil, badRequest(param, param+": \"required\" needs at least one function tool Kiro can run")
		}
		return &canon.ToolChoice{Type: "any"}, nil
	}
	return nil, badRequest(param, fmt.Sprintf("%s: unknown value %q (auto, none, required)", param, s))
}

// stopSequences reads stop: a string, an array of strings, or null.
func stopSequences(raw json.RawMessage) ([]string, *RequestError) {
	switch firstByte(raw) {
	case 0, 'n':
		return nil, nil
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, badRequest("stop", "stop: invalid string")
		}
		if s == "" {
			return nil, nil
		}
		return []string{s}, nil
	case '[':
		var list []string
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, badRequest("stop", "stop: expected a string or an array of strings")
		}
		out := list[:0]
		for _, s := range list {
			if s != "" {
				out = append(out, s)
			}
		}
		if len(out) == 0 {
			return nil, nil
		}
		return out, nil
	}
	return nil, badRequest("stop", "stop: expected a string or an array of strings")
}
