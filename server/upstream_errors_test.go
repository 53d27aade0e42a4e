package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kirobar/kirobar/internal/testkit/kirofake"
)

// TestPingsWhileUpstreamIsSilent: a stream whose upstream goes quiet gets
// ping events, which keep proxies and clients from timing out.
func TestPingsWhileUpstreamIsSilent(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	events := kirofake.Text("before", 1)
	later := kirofake.Text(" after", 1)[0]
	later.Delay = 450 * time.Millisecond // ping_interval is 100ms in the harness
	h.fake.Enqueue(kirofake.Reply{Events: append(events, later)})
	resp := h.post("/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, nil)
	got := readAll(t, resp.Body)
	before, after := strings.Index(got, "before"), strings.Index(got, " after")
	ping := strings.Index(got, "event: ping")
	if ping < 0 || ping < before || ping > after {
		t.Fatalf("no ping between the two silent-separated deltas:\n%s", got)
	}
}

func TestUpstreamRejections(t *testing.T) {
	body := `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	for _, tc := range []struct {
		name   string
		setup  func(h *harness)
		status int
		want   []string
	}{
		{
			name:   "malformed names Kiro's cause",
			setup:  func(h *harness) { h.fake.Enqueue(kirofake.ErrorReply(400, kirofake.BodyBodyInvalid)) },
			status: 400,
			want:   []string{`"invalid_request_error"`, "Improperly formed request", "REQUEST_BODY_INVALID", "kirobar flows show"},
		},
		{
			name:   "quota exhausted says when it resets",
			setup:  func(h *harness) { h.fake.SetQuotaExhausted("accta", true) },
			status: 429,
			want:   []string{`"rate_limit_error"`},
		},
		{
			name:   "suspended account",
			setup:  func(h *harness) { h.fake.SetSuspended("accta", true) },
			status: 503,
			want:   []string{"kirobar accounts"},
		},
		{
			name:   "5xx from Kiro",
			setup:  func(h *harness) { h.fake.Enqueue(kirofake.ErrorReply(500, `{"message":"internal"}`)) },
			status: 502,
			want:   []string{`"api_error"`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{accountsC: func(c *accountsConfig) { c.MaxAttempts = 1 }})
			tc.setup(h)
			resp := h.post("/v1/messages", body, nil)
			got := readAll(t, resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d body %s", resp.StatusCode, got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Fatalf("body lacks %q: %s", w, got)
				}
			}
		})
	}
}

// TestFailoverBeforeFirstByte: a throttled account steps aside and the
// client never notices.
func TestFailoverBeforeFirstByte(t *testing.T) {
	// fill_first makes the first account the one tried first.
	h := newHarness(t, harnessOptions{accounts: 2, accountsC: func(c *accountsConfig) { c.Strategy = "fill_first" }})
	h.fake.Throttle("accta", 1, 0)
	resp := h.post("/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`, nil)
	got := readAll(t, resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(got, "Hello from kirofake.") {
		t.Fatalf("status %d body %s", resp.StatusCode, got)
	}
	reqs := h.fake.Requests()
	if len(reqs) != 2 || reqs[0].Status != 429 || reqs[1].Status != 200 || reqs[0].Account == reqs[1].Account {
		t.Fatalf("upstream calls: %+v", reqs)
	}
}
