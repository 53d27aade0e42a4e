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
