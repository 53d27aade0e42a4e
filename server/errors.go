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
		return policyError(&kiro.Error{Class: kiro.ClassCanceled, Op: kiro.OpGenerate})
	}
	ke, ok := kiro.AsError(err)
	if !ok {
		return &apiError{Status: 500, Type: "api_error", Message: "kirobar failed: " + err.Error()}
	}
	if ke.Class == kiro.ClassContextTooLong {
		return tooLong(estimate, window)
	}
	return policyError(ke)
}

// policyError is the client's answer to a classified upstream failure, as
// the policy table (kiro/policy.go) says: status, error type and code,
// Retry-After, and a message with the upstream's own words and what to do.
func policyError(ke *kiro.Error) *apiError {
	p := ke.Policy()
	out := &apiError{
		Status: p.Status, Type: p.Type, Code: p.Code, Param: p.Param,
		Class: string(ke.Class), Retryable: p.Failover(),
	}
	if p.RetryAfter > 0 {
		out.RetryAfter = ke.RetryAfter
		if out.RetryAfter <= 0 {
			out.RetryAfter = p.RetryAfter
		}
	}
	upstream := ke.Message
	if ke.Reason != "" {
		upstream = strings.TrimSpace(upstream + " (" + ke.Reason + ")")
	}
	if p.Account == kiro.ActStrike {
		// Transport and server failures: the whole error says where it
		// broke (operation, status, timeout, cause).
		upstream = ke.Error()
	}
	msg := p.Say
	if upstream != "" {
		msg += ": " + upstream
	}
	if p.Advice != "" {
		msg += ". " + p.Advice
	}
	out.Message = msg
	return out
}
