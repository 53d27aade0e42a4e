package server_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kirobar/kirobar/internal/testkit/fixtures"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
	"github.com/kirobar/kirobar/internal/testkit/testrig"
	"github.com/kirobar/kirobar/kiro/payload"
	"github.com/kirobar/kirobar/kiro/rules"
)

// sseEvent is one server-sent event of a streamed answer.
type sseEvent struct {
	name string
	data map[string]any
}

func readSSE(t *testing.T, body string) []sseEvent {
	t.Helper()
	var out []sseEvent
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	name := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			var d map[string]any
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &d); err != nil {
				t.Fatalf("SSE data %q: %v", line, err)
			}
			out = append(out, sseEvent{name: name, data: d})
		}
	}
	return out
}

// answer is what a streamed Anthropic answer says: its text, its stop
// reason, and the error event it ended with, if any.
type answer struct {
	text, stop, errType, errMessage string
}

func summarize(evs []sseEvent) answer {
	var a answer
	for _, ev := range evs {
		switch ev.name {
		case "content_block_delta":
			d, _ := ev.data["delta"].(map[string]any)
			if s, ok := d["text"].(string); ok {
				a.text += s
			}
		case "message_delta":
			d, _ := ev.data["delta"].(map[string]any)
			a.stop, _ = d["stop_reason"].(string)
		case "error":
			e, _ := ev.data["error"].(map[string]any)
			a.errType, _ = e["type"].(string)
			a.errMessage, _ = e["message"].(string)
		}
	}
	return a
}

// TestStreamEndsLikeKiro streams every way a real Kiro stream ends
// (kiro-protocol.md §11.10) through kirobar to an Anthropic client, and
// checks what the client sees and what the flow record says.
func TestStreamEndsLikeKiro(t *testing.T) {
	sentence := "All work and no play makes Jack a dull boy. "
	for _, tc := range []struct {
		name       string
		reply      kirofake.Reply
		builderID  bool // the account never sends metadataEvent
		want       answer
		flowStatus string
		flowNote   string // substring of a flow note; "" for none
	}{
		{name: "complete with metadataEvent", reply: kirofake.TextReply("Hello."),
			want: answer{text: "Hello.", stop: "end_turn"}, flowStatus: "completed"},
		{name: "builder id account ends with metering and context usage", reply: kirofake.TextReply("Hello."), builderID: true,
			want: answer{text: "Hello.", stop: "end_turn"}, flowStatus: "completed"},
		{name: "metadataEvent only", reply: kirofake.Reply{Events: append(kirofake.Text("Short.", 2), kirofake.MetadataUsage("END_TURN", 900, 3))},
			want: answer{text: "Short.", stop: "end_turn"}, flowStatus: "completed"},
		{name: "cut stream", reply: kirofake.CutReply("The first half of an answer that never"),
			want:       answer{text: "The first half of an answer that never", errType: "api_error", errMessage: "cut the stream"},
			flowStatus: "failed", flowNote: "stream cut"},
		{name: "max tokens", reply: kirofake.Reply{Events: append(kirofake.Text("A long answer", 2), kirofake.Metering(0.1), kirofake.MetadataUsage("MAX_TOKENS", 10, 64000))},
			want: answer{text: "A long answer", stop: "max_tokens"}, flowStatus: "completed"},
		{name: "refusal", reply: kirofake.Reply{Events: append(kirofake.Text("I can", 1), kirofake.Refusal("cyber", "Not allowed.", ""), kirofake.Metering(0.01))},
			want: answer{text: "I can", stop: "refusal"}, flowStatus: "completed", flowNote: "content policy (category cyber): Not allowed."},
		{name: "pause turn", reply: kirofake.Reply{Events: append(kirofake.Text("Pausing.", 1), kirofake.Metadata("PAUSE_TURN"))},
			want: answer{text: "Pausing.", stop: "pause_turn"}, flowStatus: "completed"},
		{name: "context window", reply: kirofake.Reply{Events: append(kirofake.Text("Full.", 1), kirofake.Metadata("MODEL_CONTEXT_WINDOW_EXCEEDED"))},
			want: answer{text: "Full.", stop: "model_context_window_exceeded"}, flowStatus: "completed"},
		{name: "identical consecutive chunks all arrive", reply: kirofake.Reply{Events: append(kirofake.Text(sentence+sentence, 2), kirofake.Metering(0.01), kirofake.Metadata("END_TURN"))},
			want: answer{text: sentence + sentence, stop: "end_turn"}, flowStatus: "completed"},
		{name: "invalid state then an answer", reply: kirofake.Reply{Events: append([]kirofake.Event{kirofake.InvalidState("INVALID_TASK_ASSIST_PLAN", "bad plan")},
			append(kirofake.Text("Answer.", 1), kirofake.Metadata("END_TURN"))...)},
			want: answer{text: "Answer.", stop: "end_turn"}, flowStatus: "completed", flowNote: "invalid conversation state (INVALID_TASK_ASSIST_PLAN: bad plan)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{})
			h.fake.SetNoMetadataEvent(testrig.AccountID(0), tc.builderID)
			h.fake.Enqueue(tc.reply)
			resp := h.post("/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, nil)
			body := readAll(t, resp.Body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			got := summarize(readSSE(t, body))
			if got.text != tc.want.text || got.stop != tc.want.stop || got.errType != tc.want.errType ||
				!strings.Contains(got.errMessage, tc.want.errMessage) {
				t.Fatalf("answer %+v, want %+v\n%s", got, tc.want, body)
			}
			if tc.want.errType != "" && strings.Contains(body, `"message_stop"`) {
				t.Fatal("a cut stream ended with message_stop as if it were complete")
			}
			row, det := lastFlow(t, h, 1)
			if row.Status != tc.flowStatus {
				t.Errorf("flow status %q, want %q (error %q)", row.Status, tc.flowStatus, row.ErrorMessage)
			}
			notes := strings.Join(det.Notes, " | ")
			if tc.flowNote == "" && notes != "" || !strings.Contains(notes, tc.flowNote) {
				t.Errorf("flow notes %q, want one containing %q", notes, tc.flowNote)
			}
			if tc.want.stop != "" && row.StopReason != tc.want.stop {
				t.Errorf("flow stop reason %q, want %q", row.StopReason, tc.want.stop)
			}
			types := map[string]bool{}
			for _, ev := range det.UpstreamEvents {
				types[ev.Type] = true
			}
			if !types["initial-response"] || tc.builderID && types["metadataEvent"] {
				t.Errorf("upstream events %v: want initial-response, and no metadataEvent from a Builder ID account", types)
			}
		})
	}
}

// TestCutStreamNotComplete checks the cut stream without streaming: the
// client gets an error, not the partial text as a finished message.
func TestCutStreamNotComplete(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	for _, path := range []string{"/v1/messages", "/v1/chat/completions"} {
		h.fake.Enqueue(kirofake.CutReply("The first half of an answer"))
		resp := h.post(path, `{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`, nil)
		body := readAll(t, resp.Body)
		if resp.StatusCode != 502 || !strings.Contains(body, "cut the stream") || strings.Contains(body, "end_turn") {
			t.Fatalf("%s: status %d %s", path, resp.StatusCode, body)
		}
	}
}

// TestRefusalOpenAI checks the refusal stop reason in the OpenAI
// surfaces' own terms.
func TestRefusalOpenAI(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.fake.SetResponder(func(*kirofake.Request) kirofake.Reply {
		return kirofake.Reply{Events: append(kirofake.Text("I can", 1), kirofake.Refusal("bio", "", ""))}
	})
	resp := h.post("/v1/chat/completions", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}`, nil)
	body := readAll(t, resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(body, `"finish_reason":"content_filter"`) {
		t.Fatalf("chat: status %d %s", resp.StatusCode, body)
	}
	resp = h.post("/v1/responses", `{"model":"claude-sonnet-4-5","input":"hi"}`, nil)
	body = readAll(t, resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(body, `"status":"incomplete"`) || !strings.Contains(body, `"content_filter"`) {
		t.Fatalf("responses: status %d %s", resp.StatusCode, body)
	}
}

// TestScreenshotReachesKiro sends a Retina screenshot the way Claude Code
// does, in a request of Claude Code's size: Kiro gets it within its limits
// and the client its answer, not "prompt is too long". Without the
// scaling the fake refuses the image (CONTENT_LENGTH_EXCEEDS_THRESHOLD) and
// the size guard the whole request.
func TestScreenshotReachesKiro(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	shot, err := fixtures.Screenshot(2880, 1800)
	if err != nil {
		t.Fatal(err)
	}
	data := base64.StdEncoding.EncodeToString(shot)
	if len(data) <= rules.DefaultMaxImageBase64 {
		t.Fatalf("screenshot is only %d base64 characters, under Kiro's limit", len(data))
	}
	base, err := fixtures.ClaudeCode(50 << 10)
	if err != nil {
		t.Fatal(err)
	}
	var req map[string]any
	if err := json.Unmarshal(base, &req); err != nil {
		t.Fatal(err)
	}
	msgs := req["messages"].([]any)
	first := msgs[0].(map[string]any)
	first["content"] = append(first["content"].([]any),
		map[string]any{"type": "image", "source": map[string]any{"type": "base64", "media_type": "image/png", "data": data}})
	req["stream"] = false
	body, _ := json.Marshal(req)
	resp := h.post("/v1/messages", string(body), nil)
	got := readAll(t, resp.Body)
	if resp.StatusCode != 200 || strings.Contains(got, "too long") {
		t.Fatalf("status %d: %s", resp.StatusCode, got)
	}
	reqs := h.fake.Requests()
	up := reqs[len(reqs)-1]
	imgs := up.Payload.ConversationState.CurrentMessage.UserInputMessage.Images
	if len(imgs) != 1 || len(imgs[0].Source.Bytes) > payload.MaxImageBytes*4/3+4 {
		t.Fatalf("upstream got %d images", len(imgs))
	}
	_, det := lastFlow(t, h, 1)
	if len(det.Notes) != 1 || !strings.Contains(det.Notes[0], "image scaled down from png 2880×1800") {
		t.Fatalf("flow notes %q", det.Notes)
	}
	// A broken image is the client's error, in the client's format.
	first["content"] = []any{map[string]any{"type": "image", "source": map[string]any{"type": "base64", "media_type": "image/png", "data": "aGVsbG8="}}}
	body, _ = json.Marshal(req)
	resp = h.post("/v1/messages", string(body), nil)
	got = readAll(t, resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(got, `"invalid_request_error"`) || !strings.Contains(got, "not a JPEG, PNG, GIF or WebP image") {
		t.Fatalf("broken image: status %d: %s", resp.StatusCode, got)
	}
}

// TestToolSchemaCombinators declares a tool whose schema is a top-level
// oneOf, as MCP servers generate: Kiro would refuse it with
// TOOL_SCHEMA_INVALID; kirobar flattens it and the call goes through.
func TestToolSchemaCombinators(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	body := `{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"fetch it"}],
	  "tools":[{"name":"fetch","description":"Fetch a URL or a file","input_schema":{"type":"object",
	    "oneOf":[{"properties":{"url":{"type":"string"}},"required":["url"]},{"properties":{"path":{"type":"string"}},"required":["path"]}]}}]}`
	resp := h.post("/v1/messages", body, nil)
	got := readAll(t, resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, got)
	}
	up := h.fake.Requests()[0]
	schema := string(up.Payload.Tools()[0].ToolSpecification.InputSchema.JSON)
	if strings.Contains(schema, "oneOf") || !strings.Contains(schema, `"url"`) || !strings.Contains(schema, `"path"`) {
		t.Fatalf("schema sent %s", schema)
	}
}

// TestReasoningEffort checks where the effort goes: Kiro's native field
// for a model that takes it, the thinking tags for one that does not (the
// fake refuses the field for it, as Kiro does).
func TestReasoningEffort(t *testing.T) {
	for _, tc := range []struct {
		model, kiroModel string
		native           bool
	}{
		{"claude-opus-4-7", "claude-opus-4.7", true},
		{"claude-sonnet-4-6", "claude-sonnet-4.6", true},
		{"claude-sonnet-4-5", "claude-sonnet-4.5", false},
	} {
		t.Run(tc.model, func(t *testing.T) {
			h := newHarness(t, harnessOptions{})
			body := fmt.Sprintf(`{"model":%q,"max_tokens":100,"thinking":{"type":"adaptive"},"output_config":{"effort":"max"},
			  "messages":[{"role":"user","content":"think hard"}]}`, tc.model)
			resp := h.post("/v1/messages", body, nil)
			got := readAll(t, resp.Body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, got)
			}
			up := h.fake.Requests()[0]
			if up.ModelID != tc.kiroModel {
				t.Fatalf("model %q", up.ModelID)
			}
			fields := string(up.Payload.AdditionalModelRequestFields)
			tags := string(up.Body)
			switch {
			case tc.native && fields != `{"output_config":{"effort":"max"}}`:
				t.Errorf("additionalModelRequestFields %q", fields)
			case tc.native && strings.Contains(tags, "thinking_effort"):
				t.Errorf("effort sent twice: in the tags too")
			case !tc.native && (fields != "" || !strings.Contains(tags, `<thinking_effort>high</thinking_effort>`)):
				t.Errorf("fields %q; want none and the effort in the tags", fields)
			}
		})
	}
}

// TestClaudeCodeScreenshot runs the real Claude Code CLI with a Retina
// screenshot in the user's turn (stream-json input, as an IDE or a paste
// sends it): the model gets the image within Kiro's limits and Claude Code
// its answer instead of "prompt is too long".
func TestClaudeCodeScreenshot(t *testing.T) {
	claude := clientBin(t, "claude")
	h := newHarness(t, harnessOptions{})
	var sawImage atomic.Bool
	h.fake.SetResponder(func(r *kirofake.Request) kirofake.Reply {
		if u := r.Payload.ConversationState.CurrentMessage.UserInputMessage; u != nil && len(u.Images) > 0 {
			sawImage.Store(true)
			return kirofake.TextReply("The build fails in the screenshot's test output.")
		}
		return kirofake.TextReply("ok")
	})
	shot, err := fixtures.Screenshot(2880, 1800)
	if err != nil {
		t.Fatal(err)
	}
	line, _ := json.Marshal(map[string]any{"type": "user", "message": map[string]any{"role": "user", "content": []any{
		map[string]any{"type": "text", "text": "Why does the build fail? See the screenshot."},
		map[string]any{"type": "image", "source": map[string]any{"type": "base64", "media_type": "image/png", "data": base64.StdEncoding.EncodeToString(shot)}},
	}}})
	cmd := exec.Command(claude, "-p", "--input-format", "stream-json", "--output-format", "stream-json", "--verbose")
	cmd.Dir = t.TempDir()
	cmd.Env = clientEnv(t.TempDir(),
		"ANTHROPIC_BASE_URL="+h.url, "ANTHROPIC_API_KEY="+testKey,
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "DISABLE_AUTOUPDATER=1", "IS_SANDBOX=1")
	cmd.Stdin = strings.NewReader(string(line) + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("claude failed: %v\n%s", err, out)
	}
	var result struct {
		Type    string `json:"type"`
		IsError bool   `json:"is_error"`
		Result  string `json:"result"`
	}
	if err := json.Unmarshal(lastJSONLine(out), &result); err != nil || result.Type != "result" {
		t.Fatalf("claude output: %v\n%s", err, out)
	}
	if result.IsError || !strings.Contains(result.Result, "screenshot's test output") || strings.Contains(string(out), "too long") {
		t.Fatalf("claude result %+v\n%s", result, out)
	}
	if !sawImage.Load() {
		t.Fatal("the screenshot never reached the model")
	}
	for _, r := range h.fake.Requests() {
		u := r.Payload.ConversationState.CurrentMessage.UserInputMessage
		for _, img := range u.Images {
			if len(img.Source.Bytes) > payload.MaxImageBytes*4/3+4 {
				t.Fatalf("an image of %d base64 characters went upstream", len(img.Source.Bytes))
			}
		}
	}
}
