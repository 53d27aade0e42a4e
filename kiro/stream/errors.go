package stream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/kiro"
	"github.com/kirobar/kirobar/kiro/eventstream"
)

// maxErrorMessage caps the upstream text copied into a client-facing error.
const maxErrorMessage = 300

// errorPayload is the JSON of an exception or error frame, or of an event
// payload that is really a validation error.
type errorPayload struct {
	Message  string `json:"message"`
	Message2 string `json:"Message"`
	Reason   string `json:"reason"`
	Type1    string `json:"_type"`
	Type2    string `json:"__type"`
}

// isValidationPayload reports whether an event payload is a validation error
// in disguise ({"_type":"…#ValidationException",…}).
func isValidationPayload(p []byte) bool {
	if !bytes.Contains(p, []byte("ValidationException")) {
		return false
	}
	var e errorPayload
	if json.Unmarshal(p, &e) != nil {
		return false
	}
	return strings.Contains(e.Type1, "ValidationException") || strings.Contains(e.Type2, "ValidationException")
}

// exception handles an exception or error frame. kind is the
// :exception-type or :error-code header, possibly empty.
//
// ContentLengthExceededException (or reason CONTENT_LENGTH_EXCEEDS_THRESHOLD)
// means the output hit Kiro's length limit: the stream goes on and ends with
// stop reason max_tokens, as kiro.rs does. Every other exception ends the
// stream with an Error after closing open blocks.
func (c *Converter) exception(dst []canon.Event, kind string, m eventstream.Message) []canon.Event {
	var p errorPayload
	_ = json.Unmarshal(m.Payload, &p) // an unreadable payload still is an error; the headers name it
	if kind == "" {
		kind = p.Type2
	}
	if kind == "" {
		kind = p.Type1
	}
	if strings.Contains(kind, "ContentLengthExceeded") || p.Reason == "CONTENT_LENGTH_EXCEEDS_THRESHOLD" {
		c.stopOverride = canon.StopMaxTokens
		return dst
	}
	ke := kiro.ClassifyException(kind, m.Payload)
	msg := ke.Message
	if msg == "" {
		msg = m.Headers.Get(eventstream.HeaderErrorMessage)
		ke.Message = clip(msg, maxErrorMessage)
	}
	kind = shortType(kind)
	text := "upstream error"
	if kind != "" {
		text = "upstream " + kind
	}
	if msg != "" {
		text += ": " + msg
	}
	return c.fail(dst, &canon.StreamError{Type: ke.Policy().StreamType, Message: clip(text, maxErrorMessage), Cause: ke})
}

// shortType drops the namespace of an AWS type name
// ("com.amazon.aws.codewhisperer#ValidationException").
func shortType(t string) string {
	if i := strings.LastIndexByte(t, '#'); i >= 0 {
		t = t[i+1:]
	}
	return clip(t, 80)
}

// streamError describes a read or decode failure of the upstream body for
// the client. Timeouts (context deadline, net timeouts, any error with a
// true Timeout method) mean the upstream went silent; network failures and
// bodies that end mid-frame mean the connection dropped; anything else came
// from decoding the event stream and means the stream was corrupt.
func streamError(err error) *canon.StreamError {
	var te interface{ Timeout() bool }
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &te) && te.Timeout()):
		return &canon.StreamError{Type: "api_error", Message: "the upstream went silent and the response timed out; please retry", Cause: err}
	case errors.Is(err, context.Canceled):
		return &canon.StreamError{Type: "api_error", Message: "the request was canceled before the upstream finished", Cause: err}
	}
	if errors.Is(err, eventstream.ErrCorrupt) {
		return &canon.StreamError{Type: "api_error", Message: clip("the upstream stream was corrupt: "+err.Error(), maxErrorMessage), Cause: err}
	}
	var ne net.Error
	var errno syscall.Errno
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne) || errors.As(err, &errno) {
		return &canon.StreamError{Type: "api_error", Message: clip("the upstream connection dropped mid-response: "+err.Error(), maxErrorMessage), Cause: err}
	}
	return &canon.StreamError{Type: "api_error", Message: clip("the upstream stream was corrupt: "+err.Error(), maxErrorMessage), Cause: err}
}

// clip shortens s to at most n bytes on a UTF-8 boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
