// Package rules holds the request rules the Kiro service enforces on a
// generateAssistantResponse body: its size, shape, history alternation, tool
// declarations and pairing, schemas, images and context size. Each refusal
// carries the status and body the real service answers with
// (kiro-protocol.md §2, §5.1, §8).
//
// The rules live in production code so that `kirobar doctor` can check, with
// no network and no credits, that what kirobar builds from a client request
// is something Kiro accepts; the test fake upstream applies the same rules to
// every request it receives.
package rules

import (
	"encoding/json"
	"strings"
)

// Payload is a decoded generateAssistantResponse request body. Fields the
// rules do not check are still decoded so callers can inspect them.
type Payload struct {
	ConversationState ConversationState `json:"conversationState"`
	ProfileARN        string            `json:"profileArn,omitempty"`
	InferenceConfig   *InferenceConfig  `json:"inferenceConfig,omitempty"`
	// AdditionalModelRequestFields carries model options such as
	// {"output_config":{"effort":"high"}} (kiro-protocol.md §11.12).
	AdditionalModelRequestFields json.RawMessage `json:"additionalModelRequestFields,omitempty"`
}

// InferenceConfig is the optional top-level sampling configuration.
type InferenceConfig struct {
	MaxTokens   *int     `json:"maxTokens,omitempty"`
	Temperature *float64 `json:"temperature,omitempty"`
	TopP        *float64 `json:"topP,omitempty"`
}

// ConversationState is the conversation the request carries.
type ConversationState struct {
	ConversationID      string         `json:"conversationId,omitempty"`
	AgentContinuationID string         `json:"agentContinuationId,omitempty"`
	AgentTaskType       string         `json:"agentTaskType,omitempty"`
	ChatTriggerType     string         `json:"chatTriggerType,omitempty"`
	CurrentMessage      CurrentMessage `json:"currentMessage"`
	History             []HistoryEntry `json:"history,omitempty"`
}

// CurrentMessage wraps the user message being answered.
type CurrentMessage struct {
	UserInputMessage *UserInputMessage `json:"userInputMessage,omitempty"`
}

// HistoryEntry is one earlier turn: exactly one of the two fields is set.
type HistoryEntry struct {
	UserInputMessage         *UserInputMessage         `json:"userInputMessage,omitempty"`
	AssistantResponseMessage *AssistantResponseMessage `json:"assistantResponseMessage,omitempty"`
}

// UserInputMessage is a user turn.
type UserInputMessage struct {
	Content                 string                   `json:"content"`
	ModelID                 string                   `json:"modelId,omitempty"`
	Origin                  string                   `json:"origin,omitempty"`
	Images                  []Image                  `json:"images,omitempty"`
	UserInputMessageContext *UserInputMessageContext `json:"userInputMessageContext,omitempty"`
}

// Image is an image attached to a user turn.
type Image struct {
	Format string      `json:"format"`
	Source ImageSource `json:"source"`
}

// ImageSource holds the base64 image bytes (no data: prefix).
type ImageSource struct {
	Bytes string `json:"bytes"`
}

// UserInputMessageContext carries tool declarations and tool results.
// Images is only decoded to detect images placed here by mistake.
type UserInputMessageContext struct {
	Tools       []Tool          `json:"tools,omitempty"`
	ToolResults []ToolResult    `json:"toolResults,omitempty"`
	Images      json.RawMessage `json:"images,omitempty"`
}

// AssistantResponseMessage is an assistant turn. Images is only decoded to
// detect images on the wrong side.
type AssistantResponseMessage struct {
	Content  string          `json:"content"`
	ToolUses *[]ToolUse      `json:"toolUses,omitempty"`
	Images   json.RawMessage `json:"images,omitempty"`
}

// ToolUse is a tool call the assistant made earlier.
type ToolUse struct {
	ToolUseID string          `json:"toolUseId"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
}

// Tool is one declared tool.
type Tool struct {
	ToolSpecification *ToolSpecification `json:"toolSpecification,omitempty"`
}

// ToolSpecification is a tool's name, description and JSON schema.
type ToolSpecification struct {
	Name        string      `json:"name"`
	Description string      `json:"description"`
	InputSchema InputSchema `json:"inputSchema"`
}

// InputSchema wraps the JSON schema of a tool's input.
type InputSchema struct {
	JSON json.RawMessage `json:"json"`
}

// ToolResult answers one earlier tool use.
type ToolResult struct {
	ToolUseID string              `json:"toolUseId"`
	Content   []ToolResultContent `json:"content"`
	Status    string              `json:"status,omitempty"`
}

// ToolResultContent is one part of a tool result.
type ToolResultContent struct {
	Text string          `json:"text,omitempty"`
	JSON json.RawMessage `json:"json,omitempty"`
}

// Text joins the text parts of a tool result with newlines; JSON parts are
// included as their raw JSON.
func (r ToolResult) Text() string {
	parts := make([]string, 0, len(r.Content))
	for _, c := range r.Content {
		switch {
		case c.Text != "":
			parts = append(parts, c.Text)
		case len(c.JSON) > 0:
			parts = append(parts, string(c.JSON))
		}
	}
	return strings.Join(parts, "\n")
}

// Tools returns the tools declared on the current message.
func (p *Payload) Tools() []Tool {
	u := p.ConversationState.CurrentMessage.UserInputMessage
	if u == nil || u.UserInputMessageContext == nil {
		return nil
	}
	return u.UserInputMessageContext.Tools
}

// CurrentToolResults returns the tool results of the current message.
func (p *Payload) CurrentToolResults() []ToolResult {
	u := p.ConversationState.CurrentMessage.UserInputMessage
	if u == nil || u.UserInputMessageContext == nil {
		return nil
	}
	return u.UserInputMessageContext.ToolResults
}
