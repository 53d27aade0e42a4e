// Package anthropic is kirobar's Anthropic Messages surface: it decodes
// requests into the canonical form and encodes canonical stream events as
// the Messages API's server-sent events and JSON bodies, exactly as the API
// does, because Claude Code reads them strictly.
package anthropic

import (
	json "github.com/goccy/go-json"

	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/internal/jsonerr"
)

// RequestError is a client mistake; its message is safe to return.
type RequestError struct{ Message string }

func (e *RequestError) Error() string { return e.Message }

// Decode parses and validates a Messages request body.
func Decode(body []byte) (*canon.Request, error) {
	var req canon.Request
	if err := json.Unmarshal(body, &req); err != nil {
		_, msg := jsonerr.Describe(err)
		return nil, &RequestError{Message: msg}
	}
	if err := req.Validate(); err != nil {
		return nil, &RequestError{Message: err.Error()}
	}
	return &req, nil
}

// DecodeCountTokens parses a count_tokens body: the Messages shape without
// max_tokens.
func DecodeCountTokens(body []byte) (*canon.Request, error) {
	return Decode(body)
}
