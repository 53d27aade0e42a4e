package kirofake

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
)

// TestStreamShapePerCaller checks how the fake shapes a stream like the
// service (kiro-protocol.md §11.10): runtime-style (awsJson) streams open
// with initial-response carrying the conversation id, also for the IDE's
// KiroRuntimeService target; ide-style streams do not; accounts without
// metadataEvent end with metering and context usage only.
func TestStreamShapePerCaller(t *testing.T) {
	for _, tc := range []struct {
		name       string
		style      string // request style
		target     string
		noMetadata bool
		want       []string // event types
	}{
		{"runtime", StyleRuntime, TargetGenerate, false,
			[]string{"initial-response", "assistantResponseEvent", "meteringEvent", "contextUsageEvent", "metadataEvent"}},
		{"kiro runtime target", StyleRuntime, TargetKiroGenerate, false,
			[]string{"initial-response", "assistantResponseEvent", "meteringEvent", "contextUsageEvent", "metadataEvent"}},
		{"ide", StyleIDE, "", false,
			[]string{"assistantResponseEvent", "meteringEvent", "contextUsageEvent", "metadataEvent"}},
		{"builder id account", StyleRuntime, TargetGenerate, true,
			[]string{"initial-response", "assistantResponseEvent", "meteringEvent", "contextUsageEvent"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, Options{Style: StyleAny})
			s.AddAccount(Account{ID: "a1", AccessToken: testToken, NoMetadataEvent: tc.noMetadata})
			s.Enqueue(Reply{Events: append(Text("hi", 1), Metering(0.01), ContextUsage(1), Metadata("END_TURN"))})
			path, ct := "/", "application/x-amz-json-1.0"
			if tc.style == StyleIDE {
				path, ct = "/generateAssistantResponse", "application/json"
			}
			req, err := http.NewRequestWithContext(testCtx(t), http.MethodPost, s.URL+path, bytes.NewReader(mustMarshal(t, simpleRequest("hi"))))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", ct)
			if tc.target != "" {
				req.Header.Set("X-Amz-Target", tc.target)
			}
			req.Header.Set("Authorization", "Bearer "+testToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, readBody(t, resp))
			}
			frames := readAllFrames(t, readBody(t, resp))
			var got []string
			for _, f := range frames {
				got = append(got, f.headers[":event-type"])
			}
			if len(got) != len(tc.want) {
				t.Fatalf("events %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("events %v, want %v", got, tc.want)
				}
			}
			if tc.want[0] == "initial-response" && string(frames[0].payload) != `{"conversationId":"c1"}` {
				t.Errorf("initial-response payload %s", frames[0].payload)
			}
		})
	}
}

// TestStreamEndPayloads checks the end-of-stream events against the
// official shapes (crates/amzn-codewhisperer-streaming-client/src/types:
// _metadata_event.rs, _token_usage.rs, _stop_details.rs,
// _invalid_state_event.rs).
func TestStreamEndPayloads(t *testing.T) {
	for _, tc := range []struct {
		ev   Event
		typ  string
		want string
	}{
		{Metadata("END_TURN"), "metadataEvent", `{"stopReason":"END_TURN"}`},
		{MetadataUsage("MAX_TOKENS", 1200, 64000), "metadataEvent",
			`{"tokenUsage":{"uncachedInputTokens":1200,"outputTokens":64000,"totalTokens":65200},"stopReason":"MAX_TOKENS"}`},
		{Refusal("cyber", "Not allowed.", "claude-sonnet-4.5"), "metadataEvent",
			`{"stopReason":"CONTENT_FILTERED","stopDetails":{"refusal":{"category":"cyber","explanation":"Not allowed.","recommendedModel":"claude-sonnet-4.5"}}}`},
		{InvalidState("INVALID_TASK_ASSIST_PLAN", "bad plan"), "invalidStateEvent", `{"reason":"INVALID_TASK_ASSIST_PLAN","message":"bad plan"}`},
		{InitialResponse("c9"), "initial-response", `{"conversationId":"c9"}`},
	} {
		b, err := tc.ev.Encode()
		if err != nil {
			t.Fatal(err)
		}
		f, err := readFrame(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if f.headers[":event-type"] != tc.typ || f.headers[":message-type"] != "event" {
			t.Errorf("headers %v, want event %s", f.headers, tc.typ)
		}
		if !json.Valid(f.payload) || string(f.payload) != tc.want {
			t.Errorf("payload %s, want %s", f.payload, tc.want)
		}
	}
}

// TestDefaultRepliesEnd checks that the ready-made replies end the way a
// complete stream does, and CutReply the way a cut one does.
func TestDefaultRepliesEnd(t *testing.T) {
	last := func(r Reply) string { return r.Events[len(r.Events)-1].Type }
	if got := last(TextReply("x")); got != "metadataEvent" {
		t.Errorf("TextReply ends with %s", got)
	}
	if got := last(ToolReply("t1", "Bash", `{}`)); got != "metadataEvent" {
		t.Errorf("ToolReply ends with %s", got)
	}
	for _, ev := range CutReply("a cut answer").Events {
		switch ev.Type {
		case "metadataEvent", "meteringEvent", "contextUsageEvent":
			t.Errorf("CutReply carries an end event %s", ev.Type)
		}
	}
}
