package kirofake

import (
	"net/http"

	"github.com/google/uuid"
)

// writeJSON writes a body, JSON unless a scripted reply set another
// Content-Type, with the request-id header AWS services set.
func writeJSON(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	h.Set("x-amzn-RequestId", uuid.NewString())
	w.WriteHeader(status)
	// A failed write means the client left; there is nobody to tell.
	_, _ = w.Write([]byte(body))
}

// Throttling bodies the service sends with HTTP 400 as well as 429: the
// official ThrottlingExceptionReason values (kiro-protocol.md §11.3;
// crates/amzn-codewhisperer-streaming-client/src/types/_throttling_exception_reason.rs).
const (
	BodyCapacity   = `{"__type":"com.amazon.aws.codewhisperer#ThrottlingException","message":"I am experiencing high traffic, please try again shortly.","reason":"INSUFFICIENT_MODEL_CAPACITY"}`
	BodyDailyLimit = `{"__type":"com.amazon.aws.codewhisperer#ThrottlingException","message":"You have reached the daily request limit. Please try again tomorrow.","reason":"DAILY_REQUEST_COUNT"}`
)
