package kiro

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		header   http.Header
		body     string
		op       string
		want     Class
		reason   string
		message  string
		failover bool
	}{
		{"context too long by reason", 400, nil, `{"message":"Input is too long.","reason":"CONTENT_LENGTH_EXCEEDS_THRESHOLD"}`, OpGenerate, ClassContextTooLong, "CONTENT_LENGTH_EXCEEDS_THRESHOLD", "Input is too long.", false},
		{"context too long by message", 400, nil, `{"message":"Input is too long."}`, OpGenerate, ClassContextTooLong, "", "Input is too long.", false},
		{"improperly formed, null reason", 400, nil, `{"message":"Improperly formed request.","reason":null}`, OpGenerate, ClassBadRequest, "", "Improperly formed request.", false},
		{"request body invalid", 400, nil, `{"message":"Improperly formed request.","reason":"REQUEST_BODY_INVALID"}`, OpGenerate, ClassBadRequest, "REQUEST_BODY_INVALID", "Improperly formed request.", false},
		{"profileArn required", 400, nil, `{"message":"profileArn is required for this request.","reason":null}`, OpGenerate, ClassProfileRequired, "", "profileArn is required for this request.", true},
		{"invalid profileArn", 400, nil, `{"message":"Invalid profileArn."}`, OpUsage, ClassProfileRequired, "", "Invalid profileArn.", true},
		{"capacity throttle at 400", 400, nil, `{"__type":"com.amazon.aws.codewhisperer#ThrottlingException","message":"I am experiencing high traffic, please try again shortly.","reason":"INSUFFICIENT_MODEL_CAPACITY"}`, OpGenerate, ClassCapacity, "INSUFFICIENT_MODEL_CAPACITY", "I am experiencing high traffic, please try again shortly.", true},
		{"capacity at 429", 429, nil, `{"message":"I am experiencing high traffic, please try again shortly.","reason":"INSUFFICIENT_MODEL_CAPACITY"}`, OpGenerate, ClassCapacity, "INSUFFICIENT_MODEL_CAPACITY", "I am experiencing high traffic, please try again shortly.", true},
		{"legacy high load", 500, nil, `{"message":"Encountered unexpectedly high load when processing the request, please try again."}`, OpGenerate, ClassCapacity, "", "Encountered unexpectedly high load when processing the request, please try again.", true},
		{"model temporarily unavailable", 500, nil, `{"__type":"InternalServerException","message":"Model is unavailable","reason":"MODEL_TEMPORARILY_UNAVAILABLE"}`, OpGenerate, ClassCapacity, "MODEL_TEMPORARILY_UNAVAILABLE", "Model is unavailable", true},
		{"daily limit at 400", 400, nil, `{"__type":"com.amazon.aws.codewhisperer#ThrottlingException","message":"Daily request limit reached.","reason":"DAILY_REQUEST_COUNT"}`, OpGenerate, ClassDailyLimit, "DAILY_REQUEST_COUNT", "Daily request limit reached.", true},
		{"throttling exception at 400", 400, nil, `{"__type":"com.amazon.aws.codewhisperer#ThrottlingException","message":"Rate exceeded"}`, OpGenerate, ClassThrottled, "ThrottlingException", "Rate exceeded", true},
		{"monthly limit at 400", 400, nil, `{"message":"You have reached the limit.","reason":"MONTHLY_REQUEST_COUNT"}`, OpGenerate, ClassQuota, "MONTHLY_REQUEST_COUNT", "You have reached the limit.", true},
		{"overage limit", 402, nil, `{"__type":"ServiceQuotaExceededException","message":"You have reached the limit for overages.","reason":"OVERAGE_REQUEST_LIMIT_EXCEEDED"}`, OpGenerate, ClassQuota, "OVERAGE_REQUEST_LIMIT_EXCEEDED", "You have reached the limit for overages.", true},
		{"input too long at 429", 429, nil, `{"message":"Input is too long."}`, OpGenerate, ClassContextTooLong, "", "Input is too long.", false},
		{"input too long at 500", 500, nil, `{"message":"Input is too long."}`, OpGenerate, ClassContextTooLong, "", "Input is too long.", false},
		{"invalid model", 400, nil, `{"message":"Invalid model. Please select a different model to continue.","reason":"INVALID_MODEL_ID"}`, OpGenerate, ClassInvalidModel, "INVALID_MODEL_ID", "Invalid model. Please select a different model to continue.", true},
		{"monthly quota", 402, nil, `{"message":"You have reached the limit.","reason":"MONTHLY_REQUEST_COUNT"}`, OpGenerate, ClassQuota, "MONTHLY_REQUEST_COUNT", "You have reached the limit.", true},
		{"quota nested reason", 402, nil, `{"error":{"message":"You have reached the limit.","reason":"MONTHLY_REQUEST_COUNT"}}`, OpGenerate, ClassQuota, "MONTHLY_REQUEST_COUNT", "You have reached the limit.", true},
		{"quota without body", 402, nil, ``, OpGenerate, ClassQuota, "", "", true},
		{"bearer token invalid", 403, http.Header{"X-Amzn-Errortype": {"AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/"}}, `{"message":"The bearer token included in the request is invalid."}`, OpGenerate, ClassAuth, "AccessDeniedException", "The bearer token included in the request is invalid.", true},
		{"token expired", 403, nil, `{"__type":"com.amazon.aws.codewhisperer#AccessDeniedException","Message":"Token is expired"}`, OpGenerate, ClassAuth, "AccessDeniedException", "Token is expired", true},
		{"unauthorized", 401, nil, `Unauthorized`, OpGenerate, ClassAuth, "", "Unauthorized", true},
		{"suspended", 403, nil, `{"message":"Your User ID (d-906…) temporarily is suspended. Please contact support.","reason":"TEMPORARILY_SUSPENDED"}`, OpGenerate, ClassSuspended, "TEMPORARILY_SUSPENDED", "Your User ID (d-906…) temporarily is suspended. Please contact support.", true},
		{"suspended without reason", 403, nil, `{"message":"Account SUSPENDED"}`, OpGenerate, ClassSuspended, "", "Account SUSPENDED", true},
		{"other forbidden", 403, nil, `{"message":"User is not authorized to make this call."}`, OpGenerate, ClassForbidden, "", "User is not authorized to make this call.", true},
		{"throttled", 429, nil, `{"message":"Too many requests, please wait before trying again.","reason":"SERVICE_REQUEST_RATE_EXCEEDED"}`, OpGenerate, ClassThrottled, "SERVICE_REQUEST_RATE_EXCEEDED", "Too many requests, please wait before trying again.", true},
		{"server error", 500, nil, `{"message":"Encountered an unexpected error when processing the request, please try again."}`, OpGenerate, ClassServer, "", "Encountered an unexpected error when processing the request, please try again.", true},
		{"bad gateway html", 502, nil, "<html>\n<body>502   Bad Gateway</body>\n</html>", OpGenerate, ClassServer, "", "<html> <body>502 Bad Gateway</body> </html>", true},
		{"request timeout", 408, nil, ``, OpGenerate, ClassServer, "", "", true},
		{"not found", 404, nil, `{"message":"Not Found"}`, OpModels, ClassNotFound, "", "Not Found", true},
		{"payload too large", 413, nil, `Request Entity Too Large`, OpGenerate, ClassContextTooLong, "", "Request Entity Too Large", false},
		{"other 4xx", 422, nil, `{"message":"Unprocessable"}`, OpGenerate, ClassBadRequest, "", "Unprocessable", false},
		{"unexpected 3xx", 302, nil, ``, OpGenerate, ClassServer, "", "unexpected HTTP status 302", true},
		{"refresh invalid grant", 400, nil, `{"error":"invalid_grant","error_description":"Invalid refresh token provided"}`, OpRefresh, ClassInvalidGrant, "invalid_grant", "Invalid refresh token provided", true},
		{"social refresh invalid token", 401, nil, `{"message":"Invalid refresh token provided"}`, OpRefresh, ClassInvalidGrant, "", "Invalid refresh token provided", true},
		{"idc client expired", 400, nil, `{"error":"invalid_client","error_description":"Client authentication failed"}`, OpRefresh, ClassInvalidGrant, "invalid_client", "Client authentication failed", true},
		{"refresh server error", 500, nil, `{"error":"server_error"}`, OpRefresh, ClassServer, "server_error", "server_error", true},
		{"refresh throttled", 429, nil, `{"error":"slow_down"}`, OpRefresh, ClassThrottled, "slow_down", "slow_down", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.header
			if h == nil {
				h = http.Header{}
			}
			e := Classify(tc.status, h, []byte(tc.body), tc.op)
			if e.Class != tc.want || e.Reason != tc.reason || e.Message != tc.message || e.Status != tc.status || e.Op != tc.op {
				t.Fatalf("Classify = %+v\nwant class %q reason %q message %q", e, tc.want, tc.reason, tc.message)
			}
			if e.Failover() != tc.failover {
				t.Fatalf("Failover() = %v, want %v", e.Failover(), tc.failover)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"5", 5 * time.Second},
		{" 1.5 ", 1500 * time.Millisecond},
		{"0", 0},
		{"-3", 0},
		{"soon", 0},
		{"99999999", 0},
		{"Fri, 01 May 2026 12:00:30 GMT", 30 * time.Second},
		{"Fri, 01 May 2026 11:59:00 GMT", 0},
	} {
		h := http.Header{"Retry-After": {tc.in}}
		if got := classify(429, h, nil, OpGenerate, now).RetryAfter; got != tc.want {
			t.Errorf("Retry-After %q: got %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestErrorStringAndUnwrap(t *testing.T) {
	cause := io.ErrUnexpectedEOF
	for _, tc := range []struct {
		e    *Error
		want string
	}{
		{&Error{Class: ClassThrottled, Status: 429, Reason: "SERVICE_REQUEST_RATE_EXCEEDED", Message: "Too many requests", Op: OpGenerate},
			"kiro generate: throttled (HTTP 429, SERVICE_REQUEST_RATE_EXCEEDED): Too many requests"},
		{&Error{Class: ClassServer, Status: 500, Op: OpUsage}, "kiro usage: server (HTTP 500)"},
		{&Error{Class: ClassNetwork, Op: OpGenerate, Err: cause}, "kiro generate: network: unexpected EOF"},
		{&Error{Class: ClassInvalidGrant, Reason: "invalid_grant", Op: OpRefresh}, "kiro refresh: invalid_grant (invalid_grant)"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
	wrapped := fmt.Errorf("account acct-1: %w", &Error{Class: ClassNetwork, Op: OpGenerate, Err: cause})
	e, ok := AsError(wrapped)
	if !ok || e.Class != ClassNetwork || !errors.Is(wrapped, io.ErrUnexpectedEOF) {
		t.Fatalf("AsError/Unwrap: %v %v", e, ok)
	}
	if _, ok := AsError(errors.New("plain")); ok {
		t.Fatal("AsError found an *Error in a plain error")
	}
}

func TestMessageIsBounded(t *testing.T) {
	long := `{"message":"` + strings.Repeat("é", 2000) + `"}`
	e := Classify(500, http.Header{}, []byte(long), OpGenerate)
	if len(e.Message) > maxMessage+len("…") || !strings.HasSuffix(e.Message, "…") {
		t.Fatalf("message of %d bytes", len(e.Message))
	}
	if !strings.HasPrefix(e.Message, "éé") || strings.ContainsRune(e.Message, '\uFFFD') {
		t.Fatal("message cut inside a rune")
	}
}

func TestScrubKeepsChain(t *testing.T) {
	cause := fmt.Errorf("dial with %s: %w", testAccessToken, context.DeadlineExceeded)
	e := scrub(&Error{Class: ClassNetwork, Op: OpGenerate, Message: "token " + testAccessToken, Err: cause}, testAccessToken)
	if strings.Contains(e.Error(), testAccessToken) {
		t.Fatalf("secret left in %q", e.Error())
	}
	if !errors.Is(e, context.DeadlineExceeded) {
		t.Fatal("scrub broke the error chain")
	}
}

// FuzzClassify checks that any error body classifies without panicking,
// with a bounded message and a known class.
func FuzzClassify(f *testing.F) {
	f.Add(400, `{"message":"Input is too long.","reason":"CONTENT_LENGTH_EXCEEDS_THRESHOLD"}`, "")
	f.Add(402, `{"error":{"reason":"MONTHLY_REQUEST_COUNT"}}`, "")
	f.Add(400, `{"error":"invalid_grant","error_description":"Invalid refresh token provided"}`, "")
	f.Add(403, `{"__type":"a#AccessDeniedException","Message":"The bearer token included in the request is invalid."}`, "AccessDeniedException:x")
	f.Add(429, `{"reason":7,"error":[1]}`, "")
	f.Fuzz(func(t *testing.T, code int, body, errType string) {
		h := http.Header{"X-Amzn-Errortype": {errType}, "Retry-After": {body}}
		e := Classify(code, h, []byte(body), OpGenerate)
		if e.Class == "" || len(e.Message) > maxMessage+len("…") || e.RetryAfter < 0 {
			t.Fatalf("Classify(%d, %q) = %+v", code, body, e)
		}
		_ = e.Error()
	})
}
