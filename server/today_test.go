package server_test

import "testing"

// TestRequestsTodaySurvivesRestart: kirobar seeds the count from the flows
// recorded today, and counts on from there.
func TestRequestsTodaySurvivesRestart(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.srv.SeedRequestsToday(5)
	resp := h.post("/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`, nil)
	readAll(t, resp.Body)
	if got := h.srv.RequestsToday(); got != 6 {
		t.Fatalf("requests today = %d, want 6", got)
	}
}
