package openai

import (
	"net/http"

	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/internal/jsonw"
)

// Error codes kirobar puts in OpenAI error bodies. Clients branch on them:
// Codex compacts the conversation on CodeContextLengthExceeded and reads a
// retry delay from the message on CodeRateLimitExceeded.
const (
	CodeContextLengthExceeded = "context_length_exceeded"
	CodeRateLimitExceeded     = "rate_limit_exceeded"
	CodeInvalidAPIKey         = "invalid_api_key"
	CodeModelNotFound         = "model_not_found"
	CodePreviousResponse      = "previous_response_not_found"
	CodeServerError           = "server_error"
)

// RequestError is a client mistake found while decoding a request. Its
// fields are safe to return to the client as they are.
type RequestError struct {
	Status  int
	Message string
	Param   string
	Code    string
}

func (e *RequestError) Error() string { return e.Message }

// Body renders the error in OpenAI's format.
func (e *RequestError) Body() []byte {
	return ErrorBody(e.Message, ErrorType(e.Status), e.Param, e.Code)
}

// badRequest builds a 400 naming the offending field.
func badRequest(param, message string) *RequestError {
	return &RequestError{Status: http.StatusBadRequest, Message: message, Param: param}
}

// ErrorBody renders {"error":{"message","type","param","code"}}. An empty
// param or code is written as null, as OpenAI does.
func ErrorBody(message, typ, param, code string) []byte {
	b := make([]byte, 0, 96+len(message))
	b = appendErrorObject(b, message, typ, param, code)
	return append(b, '\n')
}

// appendErrorObject appends {"error":{...}} without a trailing newline.
func appendErrorObject(b []byte, message, typ, param, code string) []byte {
	b = append(b, `{"error":{"message":`...)
	b = jsonw.String(b, message)
	b = append(b, `,"type":`...)
	b = jsonw.String(b, typ)
	b = append(b, `,"param":`...)
	b = appendNullableString(b, param)
	b = append(b, `,"code":`...)
	b = appendNullableString(b, code)
	return append(b, `}}`...)
}

// ErrorType is the error type OpenAI's API reports for a status. OpenAI
// answers a bad or missing key (401) and a model the project may not use
// (403, 404) with invalid_request_error and tells them apart by code, a
// rate limit (429) with type "requests", and its own failures with
// server_error.
func ErrorType(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return "requests"
	case status >= 500:
		return "server_error"
	default:
		return "invalid_request_error"
	}
}

// streamErrorType maps a canonical (Anthropic) stream error type to the
// OpenAI error type of an in-stream error.
func streamErrorType(e *canon.StreamError) string {
	if e != nil && e.Type == "invalid_request_error" {
		return "invalid_request_error"
	}
	return "server_error"
}

func appendNullableString(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return jsonw.String(b, s)
}
