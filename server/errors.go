package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/kiro"
	"github.com/kirobar/kirobar/kiro/payload"
)

// apiError is a failure ready to be written in any surface's format.
type apiError struct {
	Status int
	// Type is the Anthropic error type; surfaces map it to their own.
	Type    string
	Message string
	// Code is OpenAI's machine-readable code, e.g. context_length_exceeded.
	Code       string
	Param      string
	RetryAfter time.Duration
	// Class is the upstream error class, for flows and account handling.
	Class     string
	Retryable bool
}

func (e *apiError) Error() string { return e.Type + ": " + e.Message }

func badRequest(msg string) *apiError {
	return &apiError{Status: 400, Type: "invalid_request_error", Message: msg}
}

// tooLong is the answer to an over-long conversation. Claude Code parses
// "prompt is too long: N tokens > M maximum" and compacts instead of
// retrying; OpenAI clients read the code. The upstream refused N tokens, so
// the maximum reported is below N even when kirobar's estimate is under
// the model's nominal window.
func tooLong(estimate, window int) *apiError {
	if estimate < 1 {
		estimate = 1
	}
	max := window
	if max <= 0 || estimate <= max {
		max = estimate - 1
	}
	return &apiError{
		Status: 400, Type: "invalid_request_error", Code: "context_length_exceeded", Param: "messages",
		Message: fmt.Sprintf("prompt is too long: %d tokens > %d maximum", estimate, max),
		Class:   string(kiro.ClassContextTooLong),
	}
}

// mapError turns anything the request path can fail with into an apiError.
// estimate and window feed the context-overflow message.
func mapError(err error, estimate, window int) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	if errors.Is(err, payload.ErrTooLarge) {
		return tooLong(estimate, window)
	}
	var ex *accounts.ExhaustedError
	if errors.As(err, &ex) {
		if ex.RetryAfter > 0 {
			return &apiError{Status: 429, Type: "rate_limit_error", Code: "rate_limit_exceeded", Message: ex.Message, RetryAfter: ex.RetryAfter, Class: "pool_exhausted", Retryable: true}
		}
		return &apiError{Status: 503, Type: "api_error", Code: "service_unavailable", Message: ex.Message, Class: "pool_exhausted"}
	}
	if errors.Is(err, accounts.ErrNoAccounts) {
		return &apiError{Status: 503, Type: "api_error", Code: "service_unavailable", Message: err.Error(), Class: "no_accounts"}
	}
	if errors.Is(err, context.Canceled) {
		return &apiError{Status: 499, Type: "api_error", Message: "the client closed the request", Class: string(kiro.ClassCanceled)}
	}
	ke, ok := kiro.AsError(err)
	if !ok {
		return &apiError{Status: 500, Type: "api_error", Message: "kirobar failed: " + err.Error()}
	}
	upstream := ke.Message
	if ke.Reason != "" {
		upstream = strings.TrimSpace(upstream + " (" + ke.Reason + ")")
	}
	out := &apiError{Class: string(ke.Class), Retryable: ke.Failover()}
	switch ke.Class {
	case kiro.ClassContextTooLong:
		return tooLong(estimate, window)
	case kiro.ClassBadRequest:
		out.Status, out.Type = 400, "invalid_request_error"
		out.Message = "Kiro rejected the request: " + upstream + ". kirobar repairs the usual causes; if this persists, `kirobar flows show` has the request that was sent."
	case kiro.ClassInvalidModel:
		out.Status, out.Type, out.Code, out.Param = 400, "invalid_request_error", "model_not_found", "model"
		out.Message = "the Kiro accounts cannot serve this model: " + upstream + ". Choose another model or map it in [models] aliases."
	case kiro.ClassThrottled:
		out.Status, out.Type, out.Code, out.RetryAfter = 429, "rate_limit_error", "rate_limit_exceeded", ke.RetryAfter
		if out.RetryAfter <= 0 {
			out.RetryAfter = 5 * time.Second
		}
		out.Message = "every usable Kiro account is throttled; retry after the delay, or add accounts (`kirobar accounts list`)."
	case kiro.ClassQuota:
		out.Status, out.Type, out.Code = 429, "rate_limit_error", "insufficient_quota"
		out.Message = "the Kiro accounts have used their monthly quota; it resets on the date `kirobar accounts check` shows. Add an account to continue now."
	case kiro.ClassAuth, kiro.ClassInvalidGrant:
		out.Status, out.Type, out.Code = 503, "api_error", "upstream_auth"
		out.Message = "Kiro refused the account's token even after a refresh; sign in again (`kirobar accounts import` or `kirobar accounts add`)."
	case kiro.ClassSuspended, kiro.ClassForbidden:
		out.Status, out.Type, out.Code = 503, "api_error", "upstream_forbidden"
		out.Message = "Kiro refused the account: " + upstream + ". See `kirobar accounts list`."
	case kiro.ClassTimeout:
		out.Status, out.Type, out.Code = 504, "api_error", "upstream_timeout"
		out.Message = "Kiro did not answer in time: " + upstream
	case kiro.ClassCanceled:
		out.Status, out.Type = 499, "api_error"
		out.Message = "the client closed the request"
	default:
		out.Status, out.Type, out.Code = 502, "api_error", "upstream_error"
		out.Message = "Kiro failed: " + ke.Error()
	}
	return out
}
