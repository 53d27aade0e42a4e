package anthropic

import (
	"encoding/json"

	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/internal/jsonw"
)

type messageBody struct {
	ID           string    `json:"id"`
	Type         string    `json:"type"`
	Role         string    `json:"role"`
	Model        string    `json:"model"`
	Content      []any     `json:"content"` // blockBody, or the raw JSON of a server tool block
	StopReason   string    `json:"stop_reason"`
	StopSequence *string   `json:"stop_sequence"`
	Usage        usageBody `json:"usage"`
}

type blockBody struct {
	Type      string           `json:"type"`
	Text      *string          `json:"text,omitempty"`
	Thinking  *string          `json:"thinking,omitempty"`
	Signature *string          `json:"signature,omitempty"`
	ID        string           `json:"id,omitempty"`
	Name      string           `json:"name,omitempty"`
	Input     *json.RawMessage `json:"input,omitempty"`
	Citations json.RawMessage  `json:"citations,omitempty"`
}

type usageBody struct {
	InputTokens              int `json:"input_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	ServerToolUse            *struct {
		WebSearchRequests int `json:"web_search_requests"`
		WebFetchRequests  int `json:"web_fetch_requests"`
	} `json:"server_tool_use,omitempty"`
}

// MessageBody encodes a whole response as the non-streaming Messages API
// returns it.
func MessageBody(r canon.Response, id, model string) []byte {
	mb := messageBody{
		ID: id, Type: "message", Role: "assistant", Model: model,
		Content:    make([]any, 0, len(r.Content)),
		StopReason: stopReason(r.StopReason),
		Usage:      usageBody{InputTokens: r.Usage.InputTokens, OutputTokens: r.Usage.OutputTokens},
	}
	if st := r.Usage.ServerToolUse; st != nil {
		mb.Usage.ServerToolUse = &struct {
			WebSearchRequests int `json:"web_search_requests"`
			WebFetchRequests  int `json:"web_fetch_requests"`
		}{WebSearchRequests: st.WebSearchRequests}
	}
	for _, b := range r.Content {
		b := b
		if raw, ok := serverBlockBody(b); ok { // web search (websearch.go)
			mb.Content = append(mb.Content, raw)
			continue
		}
		switch b.Type {
		case canon.BlockText:
			mb.Content = append(mb.Content, blockBody{Type: b.Type, Text: &b.Text, Citations: citationsBody(b)})
		case canon.BlockThinking:
			mb.Content = append(mb.Content, blockBody{Type: b.Type, Thinking: &b.Thinking, Signature: &b.Signature})
		case canon.BlockToolUse:
			in := b.Input
			if !json.Valid(in) {
				in = json.RawMessage("{}")
			}
			mb.Content = append(mb.Content, blockBody{Type: b.Type, ID: b.ID, Name: b.Name, Input: &in})
		}
	}
	out, err := json.Marshal(mb)
	if err != nil {
		// Every field is a plain string, number or validated raw JSON.
		return ErrorBody("api_error", "kirobar could not encode the response")
	}
	return out
}

// ErrorBody encodes an error as the Messages API does.
func ErrorBody(typ, message string) []byte {
	dst := make([]byte, 0, 64+len(message))
	dst = append(dst, `{"type":"error","error":{"type":`...)
	dst = jsonw.String(dst, typ)
	dst = append(dst, `,"message":`...)
	dst = jsonw.String(dst, message)
	return append(dst, "}}"...)
}

// CountTokensBody encodes a count_tokens answer.
func CountTokensBody(n int) []byte {
	dst := append([]byte(nil), `{"input_tokens":`...)
	dst = jsonw.Int(dst, n)
	return append(dst, '}')
}
