package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kirobar/kirobar/internal/duration"
)

// errorBody is an error response decoded from either surface's format.
type errorBody struct {
	Type    string // Anthropic: the error's type; OpenAI: the error's type
	Message string
	Code    string // OpenAI only
}

// decodeError checks that body is an error in the surface's own format
// and returns its fields. Anthropic: {"type":"error","error":{"type",
// "message"}}. OpenAI (chat and responses): {"error":{"message","type",
// "param","code"}} with no top-level type.
func decodeError(t *testing.T, surface, body string) errorBody {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatalf("error body is not JSON: %v\n%s", err, body)
	}
	var inner struct {
		Type    string  `json:"type"`
		Message string  `json:"message"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	}
	if err := json.Unmarshal(raw["error"], &inner); err != nil {
		t.Fatalf("no error object: %v\n%s", err, body)
	}
	if inner.Type == "" || inner.Message == "" {
		t.Fatalf("error without type or message: %s", body)
	}
	if surface == "anthropic" {
		if string(raw["type"]) != `"error"` || len(raw) != 2 {
			t.Fatalf("not an Anthropic error body: %s", body)
		}
		return errorBody{Type: inner.Type, Message: inner.Message}
	}
	if _, ok := raw["type"]; ok || len(raw) != 1 {
		t.Fatalf("not an OpenAI error body: %s", body)
	}
	if !strings.Contains(string(raw["error"]), `"param":`) || !strings.Contains(string(raw["error"]), `"code":`) {
		t.Fatalf("OpenAI error lacks param or code: %s", body)
	}
	code := ""
	if inner.Code != nil {
		code = *inner.Code
	}
	return errorBody{Type: inner.Type, Message: inner.Message, Code: code}
}

// surfaces are the three client APIs and a valid minimal request of each.
var surfaces = []struct {
	name, path, valid string
}{
	{"anthropic", "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`},
	{"openai", "/v1/chat/completions", `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}`},
	{"responses", "/v1/responses", `{"model":"claude-sonnet-4-5","input":"hi"}`},
}

// TestBadInput sends every kind of malformed request to each surface and
// expects the status and an error body in that surface's format, without
// any of them reaching Kiro.
func TestBadInput(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	type tc struct {
		name, method, path, body string
		header                   map[string]string
		status                   int
		typ                      string // error type in the surface's vocabulary
		want                     string // in the message
	}
	cases := map[string][]tc{
		"anthropic": {
			{name: "invalid json", body: `{"model":`, status: 400, typ: "invalid_request_error", want: "invalid JSON"},
			{name: "wrong type", body: `{"model":"m","max_tokens":"x","messages":[]}`, status: 400, typ: "invalid_request_error", want: "max_tokens"},
			{name: "messages not a list", body: `{"model":"m","max_tokens":5,"messages":"hi"}`, status: 400, typ: "invalid_request_error", want: "messages"},
			{name: "missing model", body: `{"max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, status: 400, typ: "invalid_request_error", want: "model"},
			{name: "missing messages", body: `{"model":"m","max_tokens":5}`, status: 400, typ: "invalid_request_error", want: "message"},
			{name: "empty messages", body: `{"model":"m","max_tokens":5,"messages":[]}`, status: 400, typ: "invalid_request_error", want: "at least one message"},
			{name: "not an object", body: `[1,2]`, status: 400, typ: "invalid_request_error", want: "JSON"},
			{name: "empty body", body: ``, status: 400, typ: "invalid_request_error", want: "JSON"},
			{name: "url image", body: `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"https://example.com/a.png"}}]}]}`, status: 400, typ: "invalid_request_error", want: "image URLs are not supported"},
			{name: "wrong content type", header: map[string]string{"Content-Type": "text/plain"}, status: 415, typ: "invalid_request_error", want: "Content-Type"},
			{name: "unknown endpoint", path: "/v1/nothing", header: map[string]string{"anthropic-version": "2023-06-01"}, status: 404, typ: "not_found_error", want: "/v1/nothing"},
			{name: "unknown sub-path", path: "/v1/messages/batches", status: 404, typ: "not_found_error", want: "does not serve"},
			{name: "method not allowed", method: "GET", body: "", status: 405, typ: "invalid_request_error", want: "use POST"},
			{name: "put", method: "PUT", status: 405, typ: "invalid_request_error", want: "use POST"},
		},
		"openai": {
			{name: "invalid json", body: `{"model":`, status: 400, typ: "invalid_request_error", want: "JSON"},
			{name: "wrong type", body: `{"model":"m","messages":"hi"}`, status: 400, typ: "invalid_request_error", want: "messages"},
			{name: "missing model", body: `{"messages":[{"role":"user","content":"hi"}]}`, status: 400, typ: "invalid_request_error", want: "model"},
			{name: "empty messages", body: `{"model":"m","messages":[]}`, status: 400, typ: "invalid_request_error", want: "messages"},
			{name: "not an object", body: `"hi"`, status: 400, typ: "invalid_request_error", want: "JSON"},
			{name: "wrong content type", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, status: 415, typ: "invalid_request_error", want: "Content-Type"},
			{name: "unknown endpoint", path: "/v1/embeddings", status: 404, typ: "invalid_request_error", want: "/v1/embeddings"},
			{name: "unknown chat path", path: "/v1/chat/nothing", status: 404, typ: "invalid_request_error", want: "does not serve"},
			{name: "method not allowed", method: "GET", status: 405, typ: "invalid_request_error", want: "use POST"},
		},
		"responses": {
			{name: "invalid json", body: `{"model":`, status: 400, typ: "invalid_request_error", want: "JSON"},
			{name: "wrong type", body: `{"model":"m","input":42}`, status: 400, typ: "invalid_request_error", want: "input"},
			{name: "missing model", body: `{"input":"hi"}`, status: 400, typ: "invalid_request_error", want: "model"},
			{name: "empty input", body: `{"model":"m","input":[]}`, status: 400, typ: "invalid_request_error", want: "input"},
			{name: "wrong content type", header: map[string]string{"Content-Type": "text/plain"}, status: 415, typ: "invalid_request_error", want: "Content-Type"},
			{name: "unknown endpoint", path: "/v1/responses/resp_1/cancel", status: 404, typ: "invalid_request_error", want: "does not serve"},
			{name: "method not allowed", method: "DELETE", status: 405, typ: "invalid_request_error", want: "use POST"},
		},
	}
	for _, s := range surfaces {
		for _, c := range cases[s.name] {
			t.Run(s.name+"/"+c.name, func(t *testing.T) {
				method, path, body := c.method, c.path, c.body
				if method == "" {
					method = http.MethodPost
				}
				if path == "" {
					path = s.path
				}
				if body == "" && c.header != nil {
					body = s.valid // only the headers are wrong
				}
				req, err := http.NewRequest(method, h.url+path, strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/json")
				if s.name == "anthropic" {
					req.Header.Set("x-api-key", testKey)
				} else {
					req.Header.Set("Authorization", "Bearer "+testKey)
				}
				for k, v := range c.header {
					req.Header.Set(k, v)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				got := readAll(t, resp.Body)
				if resp.StatusCode != c.status {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, got)
				}
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Fatalf("content type %q", ct)
				}
				e := decodeError(t, s.name, got)
				if e.Type != c.typ || !strings.Contains(e.Message, c.want) {
					t.Fatalf("error %+v, want type %s and %q in the message", e, c.typ, c.want)
				}
				if c.status == 405 && resp.Header.Get("Allow") != "POST" {
					t.Fatalf("405 without Allow: POST (%q)", resp.Header.Get("Allow"))
				}
			})
		}
	}
	if n := len(h.fake.Requests()); n != 0 {
		t.Fatalf("bad input reached the upstream %d times", n)
	}
}

// TestBodyTooLarge: a body over server.max_body_mb gets a 413 naming the
// setting, in each surface's format, and the client reads it instead of a
// connection reset (kirobar drains what it did not read before closing).
func TestBodyTooLarge(t *testing.T) {
	h := newHarness(t, harnessOptions{server: func(c *serverConfig) { c.MaxBodyMB = 1 }})
	pad := strings.Repeat("a", 3<<20)
	bodies := map[string]string{
		"anthropic": `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"` + pad + `"}]}`,
		"openai":    `{"model":"m","messages":[{"role":"user","content":"` + pad + `"}]}`,
		"responses": `{"model":"m","input":"` + pad + `"}`,
	}
	for _, s := range surfaces {
		t.Run(s.name, func(t *testing.T) {
			for i := 0; i < 3; i++ { // a reset would show up as a flaky failure
				resp := h.post(s.path, bodies[s.name], nil)
				got := readAll(t, resp.Body)
				if resp.StatusCode != 413 {
					t.Fatalf("status %d body %.200s", resp.StatusCode, got)
				}
				e := decodeError(t, s.name, got)
				if !strings.Contains(e.Message, "max_body_mb") {
					t.Fatalf("error %+v does not name server.max_body_mb", e)
				}
				if s.name == "anthropic" && e.Type != "request_too_large" {
					t.Fatalf("Anthropic type %q, want request_too_large", e.Type)
				}
			}
		})
	}
}

// TestEnormousHeader: headers beyond the read buffer get a 431 in the
// error format the path implies, and the connection is closed cleanly.
// kirobar answers rather than resetting so that a client shows why.
func TestEnormousHeader(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	req, err := http.NewRequest(http.MethodPost, h.url+"/v1/chat/completions", strings.NewReader(surfaces[1].valid))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("X-Padding", strings.Repeat("p", 200<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, resp.Body)
	if resp.StatusCode != 431 {
		t.Fatalf("status %d body %s", resp.StatusCode, got)
	}
	if e := decodeError(t, "openai", got); !strings.Contains(e.Message, "headers are too large") {
		t.Fatalf("error %+v", e)
	}
	if !resp.Close {
		t.Fatal("the connection stays open after a request kirobar could not read")
	}
	if n := len(h.fake.Requests()); n != 0 {
		t.Fatalf("reached the upstream %d times", n)
	}
}

// TestSlowRequestTimesOut: a client that trickles its request in
// (slowloris), headers or body, is answered 408 and disconnected once
// server.read_timeout has passed, instead of holding a connection forever.
// fasthttp forgets a request it could not read completely, so the answer
// is in the format kirobar uses when it cannot tell the surface: OpenAI's.
func TestSlowRequestTimesOut(t *testing.T) {
	h := newHarness(t, harnessOptions{server: func(c *serverConfig) { c.ReadTimeout = duration.Duration(300 * time.Millisecond) }})
	body := surfaces[0].valid
	head := fmt.Sprintf("POST /v1/messages HTTP/1.1\r\nHost: %s\r\nx-api-key: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", h.srv.Addr(), testKey, len(body))
	for _, tc := range []struct {
		name          string
		whole, slowly string
	}{
		{"headers", "", head + body},
		{"body", head, body},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", h.srv.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, tc.whole); err != nil {
				t.Fatal(err)
			}
			// Send the rest a byte at a time, slower than read_timeout
			// allows in total, until kirobar answers; it must answer
			// before the request is complete.
			stop := make(chan struct{})
			sent := make(chan int, 1)
			go func() {
				n := 0
				defer func() { sent <- n }()
				for ; n < len(tc.slowly); n++ {
					select {
					case <-stop:
						return
					case <-time.After(40 * time.Millisecond):
					}
					if _, err := conn.Write([]byte{tc.slowly[n]}); err != nil {
						return // kirobar closed the connection
					}
				}
			}()
			if err := conn.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			close(stop)
			if n := <-sent; n == len(tc.slowly) {
				t.Fatal("kirobar waited for a request trickled in over longer than read_timeout")
			}
			if err != nil {
				t.Fatalf("no response before the close: %v", err)
			}
			got := readAll(t, resp.Body)
			if resp.StatusCode != 408 || !resp.Close {
				t.Fatalf("status %d close %v body %s", resp.StatusCode, resp.Close, got)
			}
			if e := decodeError(t, "openai", got); !strings.Contains(e.Message, "not received in time") {
				t.Fatalf("error %+v", e)
			}
		})
	}
	if n := len(h.fake.Requests()); n != 0 {
		t.Fatalf("a partial request reached the upstream %d times", n)
	}
}
