package kiro

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Class says what kind of failure an upstream call had, which decides
// whether the pool retries elsewhere, cools an account down, or tells the
// client.
type Class string

// Failure classes (kiro-protocol.md §5).
const (
	ClassContextTooLong Class = "context_too_long" // 400 CONTENT_LENGTH_EXCEEDS_THRESHOLD or "Input is too long"
	ClassBadRequest     Class = "bad_request"      // other 400 ("Improperly formed request", REQUEST_BODY_INVALID, profileArn required...)
	ClassInvalidModel   Class = "invalid_model"    // 400 INVALID_MODEL_ID
	ClassAuth           Class = "auth"             // 401, 403 bearer token invalid/expired
	ClassForbidden      Class = "forbidden"        // other 403
	ClassSuspended      Class = "suspended"        // 403 mentioning a suspension
	ClassQuota          Class = "quota"            // 402 (MONTHLY_REQUEST_COUNT etc.)
	ClassThrottled      Class = "throttled"        // 429
	ClassServer         Class = "server"           // 5xx, 408, unexpected statuses
	ClassNotFound       Class = "not_found"        // 404
	ClassNetwork        Class = "network"          // dial/DNS/reset/TLS
	ClassTimeout        Class = "timeout"          // first byte / idle timeout
	ClassCanceled       Class = "canceled"         // ctx canceled (client went away)
	ClassInvalidGrant   Class = "invalid_grant"    // refresh token rejected for good → needs login
)

// Operations named in Error.Op.
const (
	OpGenerate = "generate"
	OpRefresh  = "refresh"
	OpUsage    = "usage"
	OpModels   = "models"
)

// maxMessage bounds Error.Message so a large HTML error page cannot flood
// logs and flow records.
const maxMessage = 512

// Error is a classified upstream failure.
type Error struct {
	Class      Class
	Status     int           // upstream HTTP status, 0 if none
	Reason     string        // upstream reason code, if any
	Message    string        // upstream message text (bounded; never a token)
	RetryAfter time.Duration // from Retry-After when present
	Op         string        // "generate", "refresh", "usage", "models"
	Err        error         // underlying error, if any
}

// Error formats the failure for logs and for clients: operation, class,
// status, reason, message and cause.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("kiro ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(string(e.Class))
	switch {
	case e.Status != 0 && e.Reason != "":
		fmt.Fprintf(&b, " (HTTP %d, %s)", e.Status, e.Reason)
	case e.Status != 0:
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	case e.Reason != "":
		fmt.Fprintf(&b, " (%s)", e.Reason)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Failover reports whether another account may succeed where this one
// failed. Request-shape problems (bad request, context too long) and a
// client that went away are not worth retrying elsewhere. A rejected refresh
// token is: only this account needs a new login.
func (e *Error) Failover() bool {
	switch e.Class {
	case ClassAuth, ClassForbidden, ClassSuspended, ClassQuota, ClassThrottled, ClassServer,
		ClassNetwork, ClassTimeout, ClassInvalidModel, ClassNotFound, ClassInvalidGrant:
		return true
	}
	return false
}

// AsError finds a *Error in err's chain.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Classify turns an upstream HTTP error response into an *Error. body is the
// (possibly truncated) response body.
func Classify(status int, header http.Header, body []byte, op string) *Error {
	return classify(status, header, body, op, time.Now())
}

// errorBody is the union of the error body shapes the upstreams use: AWS
// JSON ({"message","reason"}, "__type"), Kiro's nested {"error":{...}} and
// OAuth ({"error":"invalid_grant","error_description"}).
type errorBody struct {
	Message          string          `json:"message"`
	MessageUpper     string          `json:"Message"`
	Reason           any             `json:"reason"`
	Error            json.RawMessage `json:"error"`
	ErrorDescription string          `json:"error_description"`
	Type             string          `json:"__type"`
}

type nestedError struct {
	Reason  any    `json:"reason"`
	Message string `json:"message"`
	Type    string `json:"type"`
	Code    string `json:"code"`
}

// parsedError is what classify extracts from a body before deciding.
type parsedError struct {
	reason, message, oauthCode, awsType string
}

// parseErrorBody pulls reason, message and codes out of any known body shape,
// falling back to the raw text.
func parseErrorBody(header http.Header, body []byte) parsedError {
	var p parsedError
	var eb errorBody
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '{' && json.Unmarshal(trimmed, &eb) == nil {
		p.reason = stringOf(eb.Reason)
		p.message = firstNonEmpty(eb.Message, eb.MessageUpper)
		p.awsType = eb.Type
		if len(eb.Error) > 0 {
			switch eb.Error[0] {
			case '"':
				_ = json.Unmarshal(eb.Error, &p.oauthCode) // a string literal always decodes
			case '{':
				var ne nestedError
				if json.Unmarshal(eb.Error, &ne) == nil {
					p.reason = firstNonEmpty(p.reason, stringOf(ne.Reason), ne.Code)
					p.message = firstNonEmpty(p.message, ne.Message)
					p.awsType = firstNonEmpty(p.awsType, ne.Type)
				}
			}
		}
		p.message = firstNonEmpty(p.message, eb.ErrorDescription, p.oauthCode)
	} else {
		p.message = string(trimmed)
	}
	if p.awsType == "" {
		p.awsType = header.Get("X-Amzn-Errortype")
	}
	// "com.amazon.aws.codewhisperer#ThrottlingException" or
	// "ThrottlingException:http://internal.amazon.com/..." → ThrottlingException.
	if i := strings.LastIndexByte(p.awsType, '#'); i >= 0 {
		p.awsType = p.awsType[i+1:]
	}
	if i := strings.IndexByte(p.awsType, ':'); i >= 0 {
		p.awsType = p.awsType[:i]
	}
	p.message = bound(p.message)
	return p
}

func classify(status int, header http.Header, body []byte, op string, now time.Time) *Error {
	p := parseErrorBody(header, body)
	e := &Error{
		Status:     status,
		Reason:     firstNonEmpty(p.reason, p.oauthCode, p.awsType),
		Message:    p.message,
		RetryAfter: retryAfter(header.Get("Retry-After"), now),
		Op:         op,
	}
	text := strings.ToLower(p.reason + " " + p.oauthCode + " " + p.awsType + " " + p.message)
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(text, s) {
				return true
			}
		}
		return false
	}
	invalidGrant := p.oauthCode == "invalid_grant" || has("invalid refresh token", "invalid_grant") ||
		op == OpRefresh && (p.oauthCode == "invalid_client" || p.oauthCode == "unauthorized_client")

	switch {
	case (status == 400 || status == 401) && invalidGrant:
		e.Class = ClassInvalidGrant
	case status >= 400 && status < 500 && has("monthly_request_count"):
		e.Class = ClassQuota
	case status == 400 && has("content_length_exceeds_threshold", "input is too long"):
		e.Class = ClassContextTooLong
	case status == 400 && has("invalid_model_id"):
		e.Class = ClassInvalidModel
	case status == 401:
		e.Class = ClassAuth
	case status == 402:
		e.Class = ClassQuota
	case status == 403 && has("suspend"):
		e.Class = ClassSuspended
	case status == 403 && (has("bearer token") || has("token") && has("invalid", "expired")):
		e.Class = ClassAuth
	case status == 403:
		e.Class = ClassForbidden
	case status == 404:
		e.Class = ClassNotFound
	case status == 408 || status >= 500:
		e.Class = ClassServer
	case status == 413:
		e.Class = ClassContextTooLong
	case status == 429:
		e.Class = ClassThrottled
	case status >= 400:
		e.Class = ClassBadRequest
	default:
		e.Class = ClassServer
		if e.Message == "" {
			e.Message = fmt.Sprintf("unexpected HTTP status %d", status)
		}
	}
	return e
}

// retryAfter parses a Retry-After value: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs <= 0 || secs > 86400*7 {
			return 0
		}
		return time.Duration(secs * float64(time.Second))
	}
	t, err := http.ParseTime(v)
	if err != nil || !t.After(now) {
		return 0
	}
	return t.Sub(now)
}

// stringOf returns v if it is a non-null JSON string.
func stringOf(v any) string {
	s, _ := v.(string)
	return s
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// bound collapses whitespace runs and cuts s to maxMessage bytes on a rune
// boundary.
func bound(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// scrub removes secrets from an error built while they were in scope: from
// its message, and from its cause's text (keeping the cause for errors.Is).
func scrub(e *Error, secrets ...string) *Error {
	e.Message = redact(e.Message, secrets...)
	if e.Err != nil {
		if msg := e.Err.Error(); redact(msg, secrets...) != msg {
			e.Err = &redactedError{msg: redact(msg, secrets...), err: e.Err}
		}
	}
	return e
}

// redact replaces each non-trivial secret in s.
func redact(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) >= 8 && strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

// redactedError keeps an error's chain while hiding secrets in its text.
type redactedError struct {
	msg string
	err error
}

func (r *redactedError) Error() string { return r.msg }
func (r *redactedError) Unwrap() error { return r.err }
