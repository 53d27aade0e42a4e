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

// Failure classes. The upstream's body decides before its status: Kiro
// sends throttling and "Input is too long." at several statuses, 400
// among them (kiro-protocol.md §11.3; the official client's
// classify_error_kind, crates/chat-cli/src/api_client/mod.rs, matches body
// text before the status). What each class does is in policy.go.
const (
	ClassContextTooLong  Class = "context_too_long" // "Input is too long." / CONTENT_LENGTH_EXCEEDS_THRESHOLD, any status
	ClassBadRequest      Class = "bad_request"      // other 400 ("Improperly formed request", REQUEST_BODY_INVALID...)
	ClassInvalidModel    Class = "invalid_model"    // INVALID_MODEL_ID (sometimes transient, §11.6)
	ClassProfileRequired Class = "profile_required" // "profileArn is required" / "Invalid profileArn": the account's profile is missing or stale
	ClassProfileRefused  Class = "profile_refused"  // 403 "not authorized" to a generation that named a profile: not this account's, or a refused placeholder
	ClassAuth            Class = "auth"             // 401, 403 bearer token invalid/expired
	ClassForbidden       Class = "forbidden"        // other 403
	ClassSuspended       Class = "suspended"        // TEMPORARILY_SUSPENDED or a 403 mentioning a suspension
	ClassQuota           Class = "quota"            // 402, MONTHLY_REQUEST_COUNT, OVERAGE_REQUEST_LIMIT_EXCEEDED, ServiceQuotaExceededException
	ClassDailyLimit      Class = "daily_limit"      // ThrottlingException DAILY_REQUEST_COUNT
	ClassThrottled       Class = "throttled"        // 429, ThrottlingException at any status
	ClassCapacity        Class = "capacity"         // INSUFFICIENT_MODEL_CAPACITY, MODEL_TEMPORARILY_UNAVAILABLE, "unexpectedly high load"
	ClassServer          Class = "server"           // 5xx, 408, unexpected statuses, a corrupt stream
	ClassNotFound        Class = "not_found"        // 404
	ClassNetwork         Class = "network"          // dial/DNS/reset/TLS
	ClassTimeout         Class = "timeout"          // first byte / idle timeout
	ClassCanceled        Class = "canceled"         // ctx canceled (client went away)
	ClassInvalidGrant    Class = "invalid_grant"    // refresh token rejected for good → needs login
)

// Operations named in Error.Op.
const (
	OpGenerate = "generate"
	OpRefresh  = "refresh"
	OpUsage    = "usage"
	OpModels   = "models"
	OpProfiles = "list profiles"
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

// Failover reports whether another attempt may succeed where this one
// failed (policy.go says which).
func (e *Error) Failover() bool { return PolicyFor(e.Class).Failover() }

// Policy returns what kirobar does about this failure.
func (e *Error) Policy() Policy { return PolicyFor(e.Class) }

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
	p.awsType = shortAWSType(p.awsType)
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
	e.Class = p.class(status, op)
	if e.Class == ClassServer && status > 0 && status < 400 && e.Message == "" {
		e.Message = fmt.Sprintf("unexpected HTTP status %d", status)
	}
	return e
}

// class decides the class of a parsed error body: what the body says
// first, then the status. status 0 is an exception frame inside a stream,
// which has only its type and payload.
func (p parsedError) class(status int, op string) Class {
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
		return ClassInvalidGrant
	case has("input is too long", "content_length_exceeds_threshold"):
		return ClassContextTooLong
	case has("insufficient_model_capacity", "model_temporarily_unavailable") ||
		status == 500 && has("unexpectedly high load"):
		return ClassCapacity
	case has("daily_request_count"):
		return ClassDailyLimit
	case has("monthly_request_count", "overage_request_limit_exceeded", "limit for overages", "conversation_limit_exceeded") ||
		p.awsType == "ServiceQuotaExceededException":
		return ClassQuota
	case p.awsType == "ThrottlingException" || status == 429:
		return ClassThrottled
	case has("invalid_model_id") || (status == 400 || status == 0) && has("invalid model"):
		return ClassInvalidModel
	case has("profilearn is required", "invalid profilearn"):
		return ClassProfileRequired
	case has("temporarily_suspended") || (status == 403 || status == 0) && has("suspend"):
		return ClassSuspended
	}
	if status == 0 {
		return exceptionClass(p.awsType, has)
	}
	switch {
	case status == 401:
		return ClassAuth
	case status == 402:
		return ClassQuota
	case status == 403 && (has("bearer token") || has("token") && has("invalid", "expired")):
		return ClassAuth
	case status == 403:
		return ClassForbidden
	case status == 404:
		return ClassNotFound
	case status == 408 || status >= 500:
		return ClassServer
	case status == 413:
		return ClassContextTooLong
	case status >= 400:
		return ClassBadRequest
	}
	return ClassServer
}

// exceptionClass classifies an exception frame by its AWS type when the
// body named no reason (the streaming client's error shapes:
// crates/amzn-codewhisperer-streaming-client/src/types/error).
func exceptionClass(awsType string, has func(...string) bool) Class {
	switch awsType {
	case "ValidationException", "ConflictException":
		return ClassBadRequest
	case "AccessDeniedException":
		if has("bearer token") || has("token") && has("invalid", "expired") {
			return ClassAuth
		}
		return ClassForbidden
	case "ResourceNotFoundException":
		return ClassNotFound
	}
	return ClassServer // InternalServerException, ServiceUnavailableException, unknown
}

// ClassifyException classifies an exception frame that arrived inside a
// generation stream: its :exception-type header and JSON payload go
// through the same rules as an HTTP error body.
func ClassifyException(excType string, payload []byte) *Error {
	h := http.Header{}
	if excType != "" {
		h.Set("X-Amzn-Errortype", excType)
	}
	e := classify(0, h, payload, OpGenerate, time.Now())
	if e.Reason == "" {
		e.Reason = shortAWSType(excType)
	}
	return e
}

// shortAWSType drops the namespace and suffix of an AWS error type.
func shortAWSType(t string) string {
	if i := strings.LastIndexByte(t, '#'); i >= 0 {
		t = t[i+1:]
	}
	if i := strings.IndexByte(t, ':'); i >= 0 {
		t = t[:i]
	}
	return t
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
