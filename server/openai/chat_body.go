package openai

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/kirobar/kirobar/canon"
)

type chatCompletion struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []chatChoice `json:"choices"`
	Usage   chatUsage    `json:"usage"`
}

type chatChoice struct {
	Index        int             `json:"index"`
	Message      chatOutMessage  `json:"message"`
	Logprobs     json.RawMessage `json:"logprobs"`
	FinishReason string          `json:"finish_reason"`
}

type chatOutMessage struct {
	Role             string            `json:"role"`
	Content          *string           `json:"content"`
	ReasoningContent string            `json:"reasoning_content,omitempty"`
	ToolCalls        []chatOutToolCall `json:"tool_calls,omitempty"`
	Refusal          *string           `json:"refusal"`
}

type chatOutToolCall struct {
	ID       string           `json:"id"`
	Type     string           `json:"type"`
	Function *chatOutFunction `json:"function,omitempty"`
	Custom   *chatOutCustom   `json:"custom,omitempty"`
}

type chatOutFunction struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type chatOutCustom struct {
	Name  string `json:"name"`
	Input string `json:"input"`
}

type chatUsage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	TotalTokens         int `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

// ChatResponse renders a collected response as a chat.completion body. The
// caller answers r.Err with an error body instead; a response without text
// but with tool calls has "content": null, as OpenAI's has. Calls to the
// custom tools in opt are "custom" tool calls carrying their input text.
func ChatResponse(r canon.Response, id, model string, created int64, opt ChatOptions) []byte {
	var text, reasoning strings.Builder
	msg := chatOutMessage{Role: "assistant"}
	for _, b := range r.Content {
		switch b.Type {
		case canon.BlockText:
			text.WriteString(b.Text)
		case canon.BlockThinking:
			reasoning.WriteString(b.Thinking)
		case canon.BlockToolUse:
			msg.ToolCalls = append(msg.ToolCalls, chatOutCall(b, opt.Custom[b.Name]))
		}
	}
	if text.Len() > 0 || len(msg.ToolCalls) == 0 {
		s := text.String()
		msg.Content = &s
	}
	msg.ReasoningContent = reasoning.String()
	body := chatCompletion{
		ID:      id,
		Object:  "chat.completion",
		Created: created,
		Model:   model,
		Choices: []chatChoice{{
			Message:      msg,
			Logprobs:     json.RawMessage("null"),
			FinishReason: finishReason(r.StopReason, len(msg.ToolCalls) > 0),
		}},
		Usage: chatUsage{
			PromptTokens:     r.Usage.InputTokens,
			CompletionTokens: r.Usage.OutputTokens,
			TotalTokens:      r.Usage.InputTokens + r.Usage.OutputTokens,
		},
	}
	return marshal(body)
}

// marshal encodes v without HTML escaping, ending in a newline. The values
// passed are plain structs of strings and numbers, which cannot fail to
// encode; should one ever fail, the result is an OpenAI error body rather
// than an empty 200.
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return ErrorBody("kirobar could not encode the response: "+err.Error(), "server_error", "", CodeServerError)
	}
	return buf.Bytes()
}

// chatOutCall is a tool call of the message: a function call with its
// arguments, or a custom tool call with its free-form input.
func chatOutCall(b canon.Block, custom bool) chatOutToolCall {
	if custom {
		return chatOutToolCall{ID: b.ID, Type: "custom", Custom: &chatOutCustom{Name: b.Name, Input: customText(b.Input)}}
	}
	args := string(b.Input)
	if args == "" {
		args = "{}"
	}
	return chatOutToolCall{ID: b.ID, Type: "function", Function: &chatOutFunction{Name: b.Name, Arguments: args}}
}
