package kiro

import "time"

// Action is what a failure does to the account that met it. The accounts
// package owns the durations (config.toml [accounts]); this table owns the
// choice.
type Action uint8

// Account actions.
const (
	// ActNone leaves the account alone: the request was at fault, or the
	// client went away.
	ActNone Action = iota
	// ActStrike counts towards the account's circuit breaker (5xx, network,
	// timeouts): a few in a row cool it down.
	ActStrike
	// ActThrottle cools the account down, honouring Retry-After, doubling
	// on each further throttle until a success.
	ActThrottle
	// ActDailyLimit rests the account until the next day (UTC).
	ActDailyLimit
	// ActQuota rests the account until its monthly quota resets.
	ActQuota
	// ActSuspend takes the account out until the user re-enables it.
	ActSuspend
	// ActRelogin marks the account as needing a new sign-in.
	ActRelogin
	// ActRefresh refreshes the token and retries on the same account; a
	// second rejection in a row cools it down.
	ActRefresh
	// ActForbidden keeps the account out for a while (a 403 that is
	// neither a bad token nor a suspension).
	ActForbidden
	// ActBlockModel blocks the model on the account, but only when it
	// repeats: a valid model id is sometimes refused for a few minutes
	// (kiro-protocol.md §11.6), so the first refusal is retried.
	ActBlockModel
	// ActResolveProfile resolves the account's profile ARN (missing,
	// stale or refused), or moves the account to the API style that serves
	// it without one, and retries on the same account. What that means
	// depends on the kind of account, which the accounts package knows.
	ActResolveProfile
)

// Retry says how the request path goes on after a failover class.
type Retry uint8

// Retry kinds.
const (
	// RetryNever answers the client at once.
	RetryNever Retry = iota
	// RetryElsewhere tries the next account.
	RetryElsewhere
	// RetrySameAfterFix retries on the same account once the account
	// action (a refresh, a profile resolution) succeeded, else elsewhere.
	RetrySameAfterFix
	// RetryOnce retries once, on another account when there is one, else
	// on the same one after a short pause.
	RetryOnce
)

// Policy is what kirobar does about one failure class: whether another
// attempt may succeed, what the account gets, and what the client hears
// when this failure is the final answer.
type Policy struct {
	Retry   Retry
	Account Action

	// Status is the HTTP status the client gets.
	Status int
	// Type is the Anthropic error type (invalid_request_error,
	// rate_limit_error, api_error, ...); StreamType is the one used for an
	// in-stream error event once the response has started: Anthropic sends
	// overloaded_error mid-stream for load problems, which clients retry,
	// and api_error for everything else.
	Type, StreamType string
	// Code is the OpenAI error code (context_length_exceeded,
	// rate_limit_exceeded, insufficient_quota, ...).
	Code string
	// Param is the OpenAI error param, when one request field is at fault.
	Param string
	// RetryAfter is the Retry-After sent when the upstream named none; 0
	// sends none.
	RetryAfter time.Duration
	// Say is what the client is told, before the upstream's own words.
	Say string
	// Advice follows the upstream's words: what the user can do.
	Advice string
}

// Failover reports whether another attempt may succeed.
func (p Policy) Failover() bool { return p.Retry != RetryNever }

// policies is the one table from failure class to behaviour. Anthropic
// clients retry 429 and 529 and never 400, so every "try again later"
// answer is a 429 with Retry-After, whatever status Kiro used
// (kiro-protocol.md §11.3).
var policies = map[Class]Policy{
	ClassContextTooLong: {
		Retry: RetryNever, Account: ActNone,
		Status: 400, Type: "invalid_request_error", StreamType: "api_error", Code: "context_length_exceeded", Param: "messages",
	},
	ClassBadRequest: {
		Retry: RetryNever, Account: ActNone,
		Status: 400, Type: "invalid_request_error", StreamType: "api_error", Code: "invalid_request_error",
		Say:    "Kiro rejected the request",
		Advice: "kirobar repairs the usual causes; if this persists, `kirobar flows show` has the request that was sent.",
	},
	ClassInvalidModel: {
		Retry: RetryOnce, Account: ActBlockModel,
		Status: 400, Type: "invalid_request_error", StreamType: "api_error", Code: "model_not_found", Param: "model",
		Say:    "the Kiro accounts cannot serve this model",
		Advice: "Choose another model or map it in [models] aliases.",
	},
	ClassProfileRequired: {
		Retry: RetrySameAfterFix, Account: ActResolveProfile,
		Status: 503, Type: "api_error", StreamType: "api_error", Code: "upstream_profile",
		Say:    "Kiro wants a profile for this account and none could be resolved",
		Advice: "Run `kirobar accounts check` to resolve it, or sign in again (`kirobar accounts login --relogin ID`).",
	},
	ClassProfileRefused: {
		Retry: RetrySameAfterFix, Account: ActResolveProfile,
		Status: 503, Type: "api_error", StreamType: "api_error", Code: "upstream_profile",
		Say:    "Kiro refused the profile of this account",
		Advice: "Run `kirobar accounts check` to resolve it, or sign in again (`kirobar accounts login --relogin ID`).",
	},
	ClassAuth: {
		Retry: RetrySameAfterFix, Account: ActRefresh,
		Status: 503, Type: "api_error", StreamType: "api_error", Code: "upstream_auth",
		Say:    "Kiro refused the account's token even after a refresh",
		Advice: "Sign in again (`kirobar accounts login --relogin ID`, or `kirobar accounts import` after logging in to the Kiro IDE).",
	},
	ClassInvalidGrant: {
		Retry: RetryElsewhere, Account: ActRelogin,
		Status: 503, Type: "api_error", StreamType: "api_error", Code: "upstream_auth",
		Say:    "Kiro no longer accepts the account's sign-in",
		Advice: "Sign in again (`kirobar accounts login --relogin ID`, or `kirobar accounts import` after logging in to the Kiro IDE).",
	},
	ClassForbidden: {
		Retry: RetryElsewhere, Account: ActForbidden,
		Status: 503, Type: "api_error", StreamType: "api_error", Code: "upstream_forbidden",
		Say:    "Kiro refused the account",
		Advice: "See `kirobar accounts list`.",
	},
	ClassSuspended: {
		Retry: RetryElsewhere, Account: ActSuspend,
		Status: 503, Type: "api_error", StreamType: "api_error", Code: "upstream_forbidden",
		Say:    "Kiro suspended the account",
		Advice: "See `kirobar accounts list`; after resolving it with Kiro, `kirobar accounts enable ID`.",
	},
	ClassQuota: {
		Retry: RetryElsewhere, Account: ActQuota,
		Status: 429, Type: "rate_limit_error", StreamType: "api_error", Code: "insufficient_quota",
		Say:    "the Kiro accounts have used their monthly quota",
		Advice: "It resets on the date `kirobar accounts check` shows. Add an account to continue now.",
	},
	ClassDailyLimit: {
		Retry: RetryElsewhere, Account: ActDailyLimit,
		Status: 429, Type: "rate_limit_error", StreamType: "overloaded_error", Code: "rate_limit_exceeded", RetryAfter: time.Hour,
		Say:    "the Kiro accounts have reached their daily request limit",
		Advice: "Retry after the delay, or add accounts (`kirobar accounts list`).",
	},
	ClassThrottled: {
		Retry: RetryElsewhere, Account: ActThrottle,
		Status: 429, Type: "rate_limit_error", StreamType: "overloaded_error", Code: "rate_limit_exceeded", RetryAfter: 5 * time.Second,
		Say:    "every usable Kiro account is throttled",
		Advice: "Retry after the delay, or add accounts (`kirobar accounts list`).",
	},
	ClassCapacity: {
		Retry: RetryElsewhere, Account: ActThrottle,
		Status: 429, Type: "rate_limit_error", StreamType: "overloaded_error", Code: "rate_limit_exceeded", RetryAfter: 5 * time.Second,
		Say:    "Kiro has no capacity for this model right now",
		Advice: "Retry after the delay, or choose another model.",
	},
	ClassServer: {
		Retry: RetryElsewhere, Account: ActStrike,
		Status: 502, Type: "api_error", StreamType: "api_error", Code: "upstream_error",
		Say: "Kiro failed",
	},
	ClassNotFound: {
		Retry: RetryElsewhere, Account: ActStrike,
		Status: 502, Type: "api_error", StreamType: "api_error", Code: "upstream_error",
		Say: "Kiro failed",
	},
	ClassNetwork: {
		Retry: RetryElsewhere, Account: ActStrike,
		Status: 502, Type: "api_error", StreamType: "api_error", Code: "upstream_error",
		Say: "Kiro could not be reached",
	},
	ClassTimeout: {
		Retry: RetryElsewhere, Account: ActStrike,
		Status: 504, Type: "api_error", StreamType: "api_error", Code: "upstream_timeout",
		Say: "Kiro did not answer in time",
	},
	ClassCanceled: {
		Retry: RetryNever, Account: ActNone,
		Status: 499, Type: "api_error", StreamType: "api_error",
		Say: "the client closed the request",
	},
}

// PolicyFor returns the policy of a class; an unknown class is treated as
// an upstream failure.
func PolicyFor(c Class) Policy {
	if p, ok := policies[c]; ok {
		return p
	}
	return policies[ClassServer]
}

// Classes lists every class the table knows, for tests and documentation.
func Classes() []Class {
	out := make([]Class, 0, len(policies))
	for c := range policies {
		out = append(out, c)
	}
	return out
}
