package kirofake

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testClock is an injectable clock that moves only when told.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *testClock {
	return &testClock{now: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// start runs a fake for one test and closes it at the end.
func start(t *testing.T, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("start fake: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// testCtx bounds a test's waiting; it is a safety net, never an assertion.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// frame is a decoded event-stream message, from the test's own decoder.
type frame struct {
	headers map[string]string
	payload []byte
}

var errBadCRC = errors.New("bad crc")

// readFrame decodes one frame from r, checking both CRCs. It is written
// separately from EncodeFrame so the two can catch each other.
func readFrame(r io.Reader) (frame, error) {
	prelude := make([]byte, 12)
	if _, err := io.ReadFull(r, prelude); err != nil {
		return frame{}, err
	}
	total := binary.BigEndian.Uint32(prelude[0:4])
	hlen := binary.BigEndian.Uint32(prelude[4:8])
	if crc32.ChecksumIEEE(prelude[:8]) != binary.BigEndian.Uint32(prelude[8:12]) {
		return frame{}, fmt.Errorf("prelude: %w", errBadCRC)
	}
	if total < 16 || hlen > total-16 {
		return frame{}, fmt.Errorf("lengths %d/%d out of range", total, hlen)
	}
	rest := make([]byte, total-12)
	if _, err := io.ReadFull(r, rest); err != nil {
		return frame{}, err
	}
	msg := append(prelude, rest...)
	if crc32.ChecksumIEEE(msg[:total-4]) != binary.BigEndian.Uint32(msg[total-4:]) {
		return frame{}, fmt.Errorf("message: %w", errBadCRC)
	}
	f := frame{headers: map[string]string{}, payload: msg[12+hlen : total-4]}
	h := msg[12 : 12+hlen]
	for len(h) > 0 {
		n := int(h[0])
		if len(h) < 1+n+3 {
			return frame{}, errors.New("short header")
		}
		name := string(h[1 : 1+n])
		if h[1+n] != 7 {
			return frame{}, fmt.Errorf("header %s: type %d", name, h[1+n])
		}
		vlen := int(binary.BigEndian.Uint16(h[2+n : 4+n]))
		if len(h) < 4+n+vlen {
			return frame{}, errors.New("short header value")
		}
		f.headers[name] = string(h[4+n : 4+n+vlen])
		h = h[4+n+vlen:]
	}
	return f, nil
}

// skipInitialResponse reads the initial-response frame a runtime-style
// stream opens with.
func skipInitialResponse(t *testing.T, r io.Reader) {
	t.Helper()
	f, err := readFrame(r)
	if err != nil || f.headers[":event-type"] != "initial-response" || f.headers[":message-type"] != "event" {
		t.Fatalf("first frame %v %s: %v, want initial-response", f.headers, f.payload, err)
	}
}

func readAllFrames(t *testing.T, body []byte) []frame {
	t.Helper()
	var out []frame
	r := bytes.NewReader(body)
	for r.Len() > 0 {
		f, err := readFrame(r)
		if err != nil {
			t.Fatalf("decode frame %d: %v", len(out), err)
		}
		out = append(out, f)
	}
	return out
}

// tinyPNG is a valid 2×2 PNG: the service checks that images are images.
const tinyPNG = "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAAAAABX3VL4AAAAEklEQVR4nGJiYGBiYAAEAAD//wAYAAV4jI74AAAAAElFTkSuQmCC"

// kiroRequest is a well-formed generation body in the kiro.rs shape of
// kiro-protocol.md §2.1: system pair, a tool round trip, an image.
func kiroRequest() map[string]any {
	return map[string]any{
		"conversationState": map[string]any{
			"agentContinuationId": "6f1c0b7e-52a4-4f0e-9c1e-1f9a5c0f3b11",
			"agentTaskType":       "vibe",
			"chatTriggerType":     "MANUAL",
			"conversationId":      "0b4445e1-f5be-49e1-87ce-62bbc28ad705",
			"currentMessage": map[string]any{
				"userInputMessage": map[string]any{
					"content": "Fix the failing test",
					"modelId": "claude-sonnet-4.5",
					"origin":  "AI_EDITOR",
					"images":  []any{map[string]any{"format": "png", "source": map[string]any{"bytes": tinyPNG}}},
					"userInputMessageContext": map[string]any{
						"tools": []any{map[string]any{"toolSpecification": map[string]any{
							"name":        "Read",
							"description": "Reads a file",
							"inputSchema": map[string]any{"json": map[string]any{
								"type":       "object",
								"properties": map[string]any{"path": map[string]any{"type": "string"}},
								"required":   []any{"path"},
							}},
						}}},
						"toolResults": []any{map[string]any{
							"toolUseId": "tooluse_abc",
							"content":   []any{map[string]any{"text": "file body"}},
							"status":    "success",
						}},
					},
				},
			},
			"history": []any{
				map[string]any{"userInputMessage": map[string]any{"content": "<system prompt>", "modelId": "claude-sonnet-4.5", "origin": "AI_EDITOR"}},
				map[string]any{"assistantResponseMessage": map[string]any{"content": "I will follow these instructions."}},
				map[string]any{"userInputMessage": map[string]any{"content": "Read main.go", "modelId": "claude-sonnet-4.5", "origin": "AI_EDITOR"}},
				map[string]any{"assistantResponseMessage": map[string]any{"content": " ", "toolUses": []any{map[string]any{
					"toolUseId": "tooluse_abc", "name": "Read", "input": map[string]any{"path": "main.go"},
				}}}},
			},
		},
		"profileArn": DefaultProfileARN,
	}
}

// simpleRequest is the smallest well-formed body: one user message.
func simpleRequest(content string) map[string]any {
	return map[string]any{
		"conversationState": map[string]any{
			"chatTriggerType": "MANUAL",
			"conversationId":  "c1",
			"currentMessage": map[string]any{"userInputMessage": map[string]any{
				"content": content, "modelId": "claude-sonnet-4.5", "origin": "AI_EDITOR",
			}},
		},
		"profileArn": DefaultProfileARN,
	}
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return b
}

// generate posts a runtime-style generation call with the given token.
func generate(ctx context.Context, t *testing.T, s *Server, token string, body []byte) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", TargetGenerate)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	return resp
}

func readBody(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return b
}

// postJSON posts a JSON body and returns status and body.
func postJSON(t *testing.T, url string, v any) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewReader(mustMarshal(t, v)))
	if err != nil {
		t.Fatalf("post %s: %v", url, err)
	}
	return resp.StatusCode, readBody(t, resp)
}

// get sends an authorised GET.
func get(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("get %s: %v", url, err)
	}
	return resp.StatusCode, readBody(t, resp)
}

const testToken = "aoaAAAAA-test-access-token"

// withAccount starts a fake with one social account holding testToken.
func withAccount(t *testing.T, opts Options) *Server {
	t.Helper()
	s := start(t, opts)
	s.AddAccount(Account{ID: "a1", RefreshToken: "aorAAAAA-test-refresh", AccessToken: testToken})
	return s
}
