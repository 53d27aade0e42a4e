package kiro

import (
	"testing"
)

// allClasses is every class constant; a class missing from the policy
// table would silently behave like a server failure.
var allClasses = []Class{
	ClassContextTooLong, ClassBadRequest, ClassInvalidModel, ClassProfileRequired, ClassProfileRefused, ClassAuth,
	ClassForbidden, ClassSuspended, ClassQuota, ClassDailyLimit, ClassThrottled, ClassCapacity,
	ClassServer, ClassNotFound, ClassNetwork, ClassTimeout, ClassCanceled, ClassInvalidGrant,
}

func TestPolicyTableIsComplete(t *testing.T) {
	if len(Classes()) != len(allClasses) {
		t.Fatalf("table has %d classes, constants %d", len(Classes()), len(allClasses))
	}
	for _, c := range allClasses {
		p, ok := policies[c]
		if !ok {
			t.Errorf("%s has no policy", c)
			continue
		}
		if p.Status == 0 || p.Type == "" || p.StreamType == "" {
			t.Errorf("%s: incomplete answer %+v", c, p)
		}
		// Clients retry 429 and 5xx, never other 4xx: a class that is worth
		// retrying later must not answer 400.
		if p.Account == ActThrottle || p.Account == ActDailyLimit {
			if p.Status != 429 || p.RetryAfter <= 0 {
				t.Errorf("%s: a throttle must answer 429 with Retry-After, not %d/%s", c, p.Status, p.RetryAfter)
			}
		}
		if !p.Failover() && p.Account != ActNone {
			t.Errorf("%s: the account is judged (%d) but the request is not retried", c, p.Account)
		}
	}
}

func TestPolicyOfClasses(t *testing.T) {
	for _, tc := range []struct {
		class   Class
		retry   Retry
		account Action
		status  int
	}{
		{ClassThrottled, RetryElsewhere, ActThrottle, 429},
		{ClassCapacity, RetryElsewhere, ActThrottle, 429},
		{ClassDailyLimit, RetryElsewhere, ActDailyLimit, 429},
		{ClassQuota, RetryElsewhere, ActQuota, 429},
		{ClassContextTooLong, RetryNever, ActNone, 400},
		{ClassBadRequest, RetryNever, ActNone, 400},
		{ClassInvalidModel, RetryOnce, ActBlockModel, 400},
		{ClassProfileRequired, RetrySameAfterFix, ActResolveProfile, 503},
		{ClassProfileRefused, RetrySameAfterFix, ActResolveProfile, 503},
		{ClassAuth, RetrySameAfterFix, ActRefresh, 503},
		{ClassInvalidGrant, RetryElsewhere, ActRelogin, 503},
		{ClassSuspended, RetryElsewhere, ActSuspend, 503},
		{ClassServer, RetryElsewhere, ActStrike, 502},
		{ClassTimeout, RetryElsewhere, ActStrike, 504},
		{ClassCanceled, RetryNever, ActNone, 499},
		{Class("something new"), RetryElsewhere, ActStrike, 502},
	} {
		p := PolicyFor(tc.class)
		if p.Retry != tc.retry || p.Account != tc.account || p.Status != tc.status {
			t.Errorf("%s: %+v, want retry %d account %d status %d", tc.class, p, tc.retry, tc.account, tc.status)
		}
	}
}

// TestClassifyException: an exception frame inside the stream goes through
// the same rules as an HTTP error body, so a throttle before any content is
// a throttle (cooldown and failover), not a server failure.
func TestClassifyException(t *testing.T) {
	for _, tc := range []struct {
		name, typ, payload string
		want               Class
	}{
		{"throttling", "ThrottlingException", `{"message":"Too many requests"}`, ClassThrottled},
		{"capacity", "ThrottlingException", `{"message":"I am experiencing high traffic, please try again shortly.","reason":"INSUFFICIENT_MODEL_CAPACITY"}`, ClassCapacity},
		{"daily", "ThrottlingException", `{"message":"x","reason":"DAILY_REQUEST_COUNT"}`, ClassDailyLimit},
		{"quota", "ServiceQuotaExceededException", `{"message":"You have reached the limit."}`, ClassQuota},
		{"too long", "ValidationException", `{"message":"Input is too long."}`, ClassContextTooLong},
		{"validation", "ValidationException", `{"message":"Improperly formed request."}`, ClassBadRequest},
		{"invalid model", "ValidationException", `{"message":"Invalid model ID.","reason":"INVALID_MODEL_ID"}`, ClassInvalidModel},
		{"internal", "InternalServerException", `{"message":"Encountered an unexpected error"}`, ClassServer},
		{"unavailable", "ServiceUnavailableException", ``, ClassServer},
		{"access denied token", "AccessDeniedException", `{"message":"The bearer token included in the request is invalid."}`, ClassAuth},
		{"suspended", "AccessDeniedException", `{"message":"suspended","reason":"TEMPORARILY_SUSPENDED"}`, ClassSuspended},
		{"typed payload only", "", `{"__type":"com.amazon.aws.codewhisperer#ThrottlingException","message":"slow down"}`, ClassThrottled},
		{"unknown", "", `garbage`, ClassServer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := ClassifyException(tc.typ, []byte(tc.payload))
			if e.Class != tc.want || e.Op != OpGenerate || e.Status != 0 {
				t.Fatalf("ClassifyException = %+v, want %s", e, tc.want)
			}
		})
	}
}
