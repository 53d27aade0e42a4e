// Package anthropic is kirobar's Anthropic Messages surface: it decodes
// requests into the canonical form and encodes canonical stream events as
// the Messages API's server-sent events and JSON bodies, exactly as the API
// does, because Claude Code reads them strictly.
package anthropic

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/kirobar/kirobar/internal/canon"
)

// RequestError is a client mistake; its message is safe to return.
type RequestError struct{ Message string }

func (e *RequestError) Error() string { return e.Message }

// Decode parses and validates a Messages request body.
func Decode(body []byte) (*canon.Request, error) {
	var req canon.Request
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, &RequestError{Message: describeJSONError(err)}
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

// describeJSONError turns a decoding error into a message naming the field,
// in the style of the Messages API ("messages.0.content: ...").
func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return fmt.Sprintf("%s: expected %s, got JSON %s", field, typeName(typeErr.Type.Kind().String()), typeErr.Value)
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return fmt.Sprintf("invalid JSON at byte %d: %s", syntaxErr.Offset, syntaxErr.Error())
	}
	msg := err.Error()
	if strings.Contains(msg, "unexpected end of JSON input") {
		return "invalid JSON: unexpected end of input"
	}
	return "invalid request body: " + strings.TrimPrefix(msg, "json: ")
}

func typeName(kind string) string {
	switch kind {
	case "slice":
		return "array"
	case "struct", "map":
		return "object"
	case "int", "int64", "float64":
		return "number"
	case "bool":
		return "boolean"
	}
	return kind
}
