package server_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/kirobar/kirobar/internal/testkit/kirofake"
)

// TestThrottleAtHTTP400IsRetryableOnEverySurface: Kiro sends capacity and
// daily-limit throttles with HTTP 400. Clients retry 429 and never 400, so
// when no account can serve, every surface answers 429 with Retry-After in
// its own error format.
func TestThrottleAtHTTP400IsRetryableOnEverySurface(t *testing.T) {
	for _, tc := range []struct {
		name, path, body, want string
	}{
		{"anthropic", "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`, `"type":"rate_limit_error"`},
		{"chat", "/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`, `"code":"rate_limit_exceeded"`},
		{"responses", "/v1/responses", `{"model":"gpt-5","input":"hi"}`, `"code":"rate_limit_exceeded"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{})
			h.fake.Enqueue(kirofake.ErrorReply(400, kirofake.BodyCapacity))
			resp := h.post(tc.path, tc.body, nil)
			got := readAll(t, resp.Body)
			if resp.StatusCode != 429 || !strings.Contains(got, tc.want) {
				t.Fatalf("HTTP %d %s, want 429 with %s", resp.StatusCode, got, tc.want)
			}
			secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			if err != nil || secs < 1 {
				t.Fatalf("Retry-After %q", resp.Header.Get("Retry-After"))
			}
		})
	}
}

// TestTransientInvalidModelIsRetried: Kiro sometimes refuses a valid model
// id and accepts it minutes later (kiro-protocol.md §11.6). With one
// account, kirobar asks it once more before answering 400, and a single
// refusal does not block the model on the account.
func TestTransientInvalidModelIsRetried(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.fake.Enqueue(kirofake.ErrorReply(400, kirofake.BodyInvalidModel))
	resp := h.post("/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`, nil)
	got := readAll(t, resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(got, "Hello from kirofake.") {
		t.Fatalf("HTTP %d %s", resp.StatusCode, got)
	}
	reqs := h.fake.Requests()
	if len(reqs) != 2 || reqs[0].Status != 400 || reqs[1].Status != 200 || reqs[0].Account != reqs[1].Account {
		t.Fatalf("upstream calls: %+v", reqs)
	}
	for _, v := range h.mgr.List() {
		if len(v.BlockedModels) != 0 {
			t.Fatalf("one refusal blocked %v on %s", v.BlockedModels, v.ID)
		}
	}

	// A refusal that repeats is real: the client hears it, the model is
	// blocked on the account, and the next request is refused at once.
	h.fake.Enqueue(kirofake.ErrorReply(400, kirofake.BodyInvalidModel), kirofake.ErrorReply(400, kirofake.BodyInvalidModel))
	resp = h.post("/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`, nil)
	got = readAll(t, resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(got, "model") {
		t.Fatalf("HTTP %d %s, want 400 naming the model", resp.StatusCode, got)
	}
	blocked := 0
	for _, v := range h.mgr.List() {
		blocked += len(v.BlockedModels)
	}
	if blocked != 1 {
		t.Fatalf("blocked models after a repeated refusal: %d", blocked)
	}
}
