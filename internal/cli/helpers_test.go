package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/kirobar/kirobar/flows"
	kdb "github.com/kirobar/kirobar/internal/db"
)

// openDB opens a fresh kirobar.db in a temporary home and closes it when
// the test ends.
func openDB(t testing.TB) (*gorm.DB, string) {
	t.Helper()
	home := t.TempDir()
	gdb, err := kdb.Open(filepath.Join(home, "kirobar.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := kdb.Close(gdb); err != nil {
			t.Errorf("close db: %v", err)
		}
	})
	return gdb, home
}

// newTestRecorder is the real flow recorder with its defaults.
func newTestRecorder(t testing.TB, gdb *gorm.DB, home string) *flows.Recorder {
	t.Helper()
	r, err := flows.NewRecorder(gdb, home, flows.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runRecorder starts Run and returns a function that closes the recorder
// and waits for Run to return.
func runRecorder(t testing.TB, r *flows.Recorder) func() {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- r.Run(context.Background()) }()
	return func() {
		t.Helper()
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// sampleFlow returns a plausible streamed Anthropic flow.
func sampleFlow(i int, at time.Time) *flows.Flow {
	req := fmt.Sprintf(`{"model":"claude-sonnet-4-5","stream":true,"max_tokens":1024,"messages":[{"role":"user","content":"question %d"}]}`, i)
	return &flows.Flow{
		ID:              fmt.Sprintf("flow-%04d", i),
		Time:            at,
		KeyName:         "laptop",
		Surface:         "anthropic",
		Path:            "/v1/messages",
		ClientModel:     "claude-sonnet-4-5",
		KiroModel:       "claude-sonnet-4.5",
		Stream:          true,
		AccountID:       "acct-a",
		Attempts:        []flows.Attempt{{AccountID: "acct-a", Status: 200, Duration: 800 * time.Millisecond}},
		Status:          flows.StatusCompleted,
		HTTPStatus:      200,
		TTFB:            300 * time.Millisecond,
		Duration:        time.Second,
		InputTokens:     100,
		OutputTokens:    20,
		Credits:         0.25,
		StopReason:      "end_turn",
		Headers:         map[string]string{"anthropic-version": "2023-06-01"},
		ClientRequest:   []byte(req),
		UpstreamRequest: []byte(`{"conversationState":{"currentMessage":{"userInputMessage":{"content":"question"}}}}`),
		Response:        []byte("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"),
		UpstreamEvents: []flows.Event{
			{Type: "assistantResponseEvent", Payload: json.RawMessage(`{"content":"Hello"}`), At: 300 * time.Millisecond},
			{Type: "meteringEvent", Payload: json.RawMessage(`{"unit":"credit","usage":0.25}`), At: 900 * time.Millisecond},
		},
	}
}
