// Package canon defines kirobar's canonical request and stream event types.
//
// The canonical request is the Anthropic Messages shape: it is the richest of
// the client surfaces, so the OpenAI surfaces convert to and from it and the
// Kiro request builder consumes only it. Keeping one hub means a protocol fix
// (history repair, tool naming, thinking) is written once for every client.
package canon

import (
	"bytes"
	"errors"
	"fmt"
	json "github.com/goccy/go-json"
)

// Request is a Messages API request after decoding. Fields that kirobar does
// not forward upstream but that clients send (context_management, betas,
// output_config) are accepted and ignored by the surface decoder.
type Request struct {
	Model         string          `json:"model"`
	System        Content         `json:"system,omitempty"`
	Messages      []Message       `json:"messages"`
	Tools         []Tool          `json:"tools,omitempty"`
	ToolChoice    *ToolChoice     `json:"tool_choice,omitempty"`
	MaxTokens     int             `json:"max_tokens,omitempty"`
	Temperature   *float64        `json:"temperature,omitempty"`
	TopP          *float64        `json:"top_p,omitempty"`
	StopSequences []string        `json:"stop_sequences,omitempty"`
	Stream        bool            `json:"stream,omitempty"`
	Thinking      *Thinking       `json:"thinking,omitempty"`
	OutputConfig  *OutputConfig   `json:"output_config,omitempty"`
	Metadata      *Metadata       `json:"metadata,omitempty"`
	Extra         json.RawMessage `json:"-"`
}

// Message is one conversation turn. Role is "user", "assistant" or, as
// Claude Code sends for environment notes, "system".
type Message struct {
	Role    string  `json:"role"`
	Content Content `json:"content"`
}

// Content is a list of blocks. On the wire it may be a bare string, which
// decodes to a single text block.
type Content []Block

// UnmarshalJSON accepts a string or an array of blocks.
func (c *Content) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*c = Content{{Type: BlockText, Text: s}}
		return nil
	}
	if bytes.Equal(data, []byte("null")) {
		*c = nil
		return nil
	}
	if len(data) > 0 && data[0] == '{' {
		// A web_search_tool_result's content is one error object when
		// the search failed; any other object is refused below.
		var b Block
		if json.Unmarshal(data, &b) == nil && b.Type == BlockWebSearchToolResultError {
			*c = Content{b}
			return nil
		}
	}
	var blocks []Block
	if err := json.Unmarshal(data, &blocks); err != nil {
		return err
	}
	*c = blocks
	return nil
}

// Text joins the text of all text blocks with sep.
func (c Content) Text(sep string) string {
	var b bytes.Buffer
	for _, blk := range c {
		if blk.Type != BlockText || blk.Text == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(blk.Text)
	}
	return b.String()
}

// Block types as they appear in the Messages API.
const (
	BlockText             = "text"
	BlockImage            = "image"
	BlockToolUse          = "tool_use"
	BlockToolResult       = "tool_result"
	BlockThinking         = "thinking"
	BlockRedactedThinking = "redacted_thinking"
	BlockDocument         = "document"
)

// Block is one content block. Only the fields of its Type are set.
type Block struct {
	Type string `json:"type"`

	// text
	Text string `json:"text,omitempty"`

	// image
	Source *ImageSource `json:"source,omitempty"`

	// tool_use
	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name,omitempty"`
	Input json.RawMessage `json:"input,omitempty"`

	// tool_result
	ToolUseID string  `json:"tool_use_id,omitempty"`
	Content   Content `json:"content,omitempty"`
	IsError   bool    `json:"is_error,omitempty"`

	// thinking
	Thinking  string `json:"thinking,omitempty"`
	Signature string `json:"signature,omitempty"`
	Data      string `json:"data,omitempty"` // redacted_thinking

	// web search results and errors, and the citations of text
	// (websearch.go); nil for every other block
	*WebFields
}

// ImageSource is an image's payload: base64 data with a media type, or a URL
// (which Kiro cannot fetch; surfaces reject it with a clear error).
type ImageSource struct {
	Type      string `json:"type"` // "base64" | "url"
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

// Tool is a client-declared tool. Tools with a Type other than "" or
// "custom" are server tools; kirobar runs the web search one (see
// websearch.go) and leaves the others out.
type Tool struct {
	Type         string          `json:"type,omitempty"`
	Name         string          `json:"name"`
	Description  string          `json:"description,omitempty"`
	InputSchema  json.RawMessage `json:"input_schema,omitempty"`
	DeferLoading bool            `json:"defer_loading,omitempty"`

	// web search server tool settings
	MaxUses        *int          `json:"max_uses,omitempty"`
	AllowedDomains []string      `json:"allowed_domains,omitempty"`
	BlockedDomains []string      `json:"blocked_domains,omitempty"`
	UserLocation   *UserLocation `json:"user_location,omitempty"`
}

// ToolChoice says whether and which tool the model must call.
type ToolChoice struct {
	Type string `json:"type"` // auto | any | tool | none
	Name string `json:"name,omitempty"`
}

// Thinking asks for extended thinking. Type is "enabled" (with a budget),
// "adaptive" (effort from OutputConfig) or "disabled".
type Thinking struct {
	Type         string `json:"type"`
	BudgetTokens int    `json:"budget_tokens,omitempty"`
	Display      string `json:"display,omitempty"`
}

// OutputConfig carries the effort level Claude Code sends with adaptive
// thinking.
type OutputConfig struct {
	Effort string `json:"effort,omitempty"`
}

// Metadata is the request metadata; UserID carries Claude Code's session.
type Metadata struct {
	UserID string `json:"user_id,omitempty"`
}

// ThinkingEnabled reports whether the request asks for thinking output.
func (r *Request) ThinkingEnabled() bool {
	return r.Thinking != nil && (r.Thinking.Type == "enabled" || r.Thinking.Type == "adaptive")
}

// Validate checks what every surface requires before a request may go
// upstream, returning an error whose text is safe to show the client.
func (r *Request) Validate() error {
	if r.Model == "" {
		return errors.New("model: field required")
	}
	if len(r.Messages) == 0 {
		return errors.New("messages: at least one message is required")
	}
	for i, m := range r.Messages {
		switch m.Role {
		case "user", "assistant", "system":
		default:
			return fmt.Errorf("messages.%d.role: unexpected role %q (user, assistant or system)", i, m.Role)
		}
		for j, b := range m.Content {
			if b.Type == BlockImage && b.Source != nil && b.Source.Type == "url" {
				return fmt.Errorf("messages.%d.content.%d: image URLs are not supported by Kiro; send the image as base64 data", i, j)
			}
		}
	}
	if r.MaxTokens < 0 {
		return errors.New("max_tokens: must be positive")
	}
	return r.validateServerTools()
}
