package kirofake

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// post sends a generation call with explicit style headers.
func post(t *testing.T, s *Server, path, contentType, target, token string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	return resp.StatusCode, resp.Header, readBody(t, resp)
}

func TestStyles(t *testing.T) {
	withARN := mustMarshal(t, simpleRequest("hi"))
	noARN := simpleRequest("hi")
	delete(noARN, "profileArn")
	withoutARN := mustMarshal(t, noARN)
	const (
		amz  = "application/x-amz-json-1.0"
		json = "application/json"
	)
	for _, tc := range []struct {
		name        string
		style       string
		path        string
		contentType string
		target      string
		body        []byte
		want        int
		rule        Rule
	}{
		{"runtime on /", StyleRuntime, "/", amz, TargetGenerate, withARN, 200, ""},
		{"runtime on path", StyleRuntime, "/generateAssistantResponse", amz, TargetGenerate, withARN, 200, ""},
		{"runtime refuses ide", StyleRuntime, "/generateAssistantResponse", json, "", withARN, 404, RuleWrongStyle},
		{"runtime needs target", StyleRuntime, "/", amz, "", withARN, 404, RuleWrongStyle},
		{"runtime wrong target", StyleRuntime, "/", amz, "AmazonQDeveloperStreamingService.SendMessage", withARN, 404, RuleWrongStyle},
		{"runtime needs profileArn", StyleRuntime, "/", amz, TargetGenerate, withoutARN, 400, RuleProfileARNRequired},
		{"ide plain", StyleIDE, "/generateAssistantResponse", json, "", withoutARN, 200, ""},
		{"ide with target", StyleIDE, "/generateAssistantResponse", json + "; charset=utf-8", TargetGenerate, withARN, 200, ""},
		{"ide refuses runtime", StyleIDE, "/", amz, TargetGenerate, withARN, 404, RuleWrongStyle},
		{"any takes runtime", StyleAny, "/", amz, TargetGenerate, withARN, 200, ""},
		{"any takes ide", StyleAny, "/generateAssistantResponse", json, "", withoutARN, 200, ""},
		{"unknown content type", StyleAny, "/", "text/plain", "", withARN, 404, RuleWrongStyle},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := withAccount(t, Options{Style: tc.style})
			status, h, body := post(t, s, tc.path, tc.contentType, tc.target, testToken, tc.body)
			if status != tc.want {
				t.Fatalf("status %d (%s), want %d", status, body, tc.want)
			}
			if Rule(h.Get("x-kirofake-rule")) != tc.rule {
				t.Errorf("rule %q, want %q", h.Get("x-kirofake-rule"), tc.rule)
			}
			if tc.want == 200 && h.Get("Content-Type") != "application/vnd.amazon.eventstream" {
				t.Errorf("content type %q", h.Get("Content-Type"))
			}
		})
	}
}

func TestUnknownStyle(t *testing.T) {
	if _, err := Start(Options{Style: "grpc"}); err == nil {
		t.Fatal("want an error for an unknown style")
	}
}

func TestIdCProfileARN(t *testing.T) {
	idc := Account{ID: "b1", AuthMethod: "IdC", ClientID: "c", ClientSecret: "cs", AccessToken: "idc-token", RefreshToken: "r"}
	own := simpleRequest("hi")
	own["profileArn"] = DefaultIdCProfileARN
	withARN := mustMarshal(t, own)
	noARN := simpleRequest("hi")
	delete(noARN, "profileArn")
	for _, tc := range []struct {
		name        string
		opts        Options
		contentType string
		target      string
		body        []byte
		want        int
		rule        Rule
	}{
		{"ide with profileArn", Options{Style: StyleAny}, "application/json", "", withARN, 403, RuleIdCProfileARN},
		{"ide without profileArn", Options{Style: StyleAny}, "application/json", "", mustMarshal(t, noARN), 200, ""},
		{"runtime with profileArn", Options{}, "application/x-amz-json-1.0", TargetGenerate, withARN, 200, ""},
		{"runtime refusing idc", Options{RuntimeRejectsIdC: true}, "application/x-amz-json-1.0", TargetGenerate, withARN, 403, RuleRuntimeIdC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, tc.opts)
			s.AddAccount(idc)
			status, h, body := post(t, s, "/generateAssistantResponse", tc.contentType, tc.target, "idc-token", tc.body)
			if status != tc.want {
				t.Fatalf("status %d (%s), want %d", status, body, tc.want)
			}
			if Rule(h.Get("x-kirofake-rule")) != tc.rule {
				t.Errorf("rule %q, want %q", h.Get("x-kirofake-rule"), tc.rule)
			}
			if tc.want == 403 && string(body) != BodyBearerInvalid {
				t.Errorf("body %s", body)
			}
		})
	}
}

func TestAccountStates(t *testing.T) {
	clock := newClock()
	body := mustMarshal(t, simpleRequest("hi"))
	for _, tc := range []struct {
		name   string
		setup  func(s *Server)
		token  string
		status int
		check  func(t *testing.T, body string)
		rule   Rule
	}{
		{name: "unknown token", token: "nope", status: 403, rule: RuleBearerInvalid,
			check: func(t *testing.T, b string) { equal(t, b, BodyBearerInvalid) }},
		{name: "no token", token: "", status: 403, rule: RuleBearerInvalid},
		{name: "expired token", setup: func(s *Server) { clock.Advance(time.Hour) }, status: 403, rule: RuleBearerInvalid},
		{name: "invalidated token", setup: func(s *Server) { s.InvalidateAccessTokens("a1") }, status: 403, rule: RuleBearerInvalid},
		{name: "suspended", setup: func(s *Server) { s.SetSuspended("a1", true) }, status: 403, rule: RuleSuspended,
			check: func(t *testing.T, b string) {
				if !strings.Contains(b, "TEMPORARILY_SUSPENDED") || !strings.Contains(b, "temporarily is suspended") {
					t.Errorf("suspended body %s", b)
				}
			}},
		{name: "suspension lifted", setup: func(s *Server) { s.SetSuspended("a1", true); s.SetSuspended("a1", false) }, status: 200},
		{name: "quota flag", setup: func(s *Server) { s.SetQuotaExhausted("a1", true) }, status: 402, rule: RuleQuota,
			check: func(t *testing.T, b string) { equal(t, b, BodyQuota) }},
		{name: "credits used up", setup: func(s *Server) {
			s.AddAccount(Account{ID: "a1", AccessToken: testToken, Used: 50, Limit: 50})
		}, status: 402, rule: RuleQuota},
		{name: "credits reset next month", setup: func(s *Server) {
			s.AddAccount(Account{ID: "a1", AccessToken: testToken, AccessExpiry: clock.Now().Add(60 * 24 * time.Hour), Used: 50, Limit: 50})
			clock.Advance(31 * 24 * time.Hour)
		}, status: 200},
		{name: "throttled", setup: func(s *Server) { s.Throttle("a1", 1, 1500*time.Millisecond) }, status: 429, rule: RuleThrottled,
			check: func(t *testing.T, b string) { equal(t, b, BodyThrottled) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock = newClock()
			s := start(t, Options{Clock: clock.Now})
			s.AddAccount(Account{ID: "a1", RefreshToken: "aorAAAAA-r", AccessToken: testToken})
			if tc.setup != nil {
				tc.setup(s)
			}
			token := testToken
			if tc.name == "unknown token" || tc.name == "no token" {
				token = tc.token
			}
			resp := generate(testCtx(t), t, s, token, body)
			got := string(readBody(t, resp))
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, got, tc.status)
			}
			if tc.check != nil {
				tc.check(t, got)
			}
			if tc.rule != "" && s.Stats().Rejections[tc.rule] != 1 {
				t.Errorf("Rejections = %v", s.Stats().Rejections)
			}
			if tc.status == 429 && resp.Header.Get("Retry-After") != "2" {
				t.Errorf("Retry-After %q, want 2", resp.Header.Get("Retry-After"))
			}
		})
	}
}

func equal(t *testing.T, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestThrottleCounts(t *testing.T) {
	s := withAccount(t, Options{})
	s.AddAccount(Account{ID: "a2", AccessToken: "other"})
	s.Throttle("a1", 2, 0)
	body := mustMarshal(t, simpleRequest("hi"))
	var statuses []int
	for range 3 {
		resp := generate(testCtx(t), t, s, testToken, body)
		readBody(t, resp)
		statuses = append(statuses, resp.StatusCode)
		if resp.StatusCode == 429 && resp.Header.Get("Retry-After") != "" {
			t.Errorf("Retry-After sent without a retry delay")
		}
	}
	resp := generate(testCtx(t), t, s, "other", body)
	readBody(t, resp)
	statuses = append(statuses, resp.StatusCode)
	if want := []int{429, 429, 200, 200}; !equalInts(statuses, want) {
		t.Fatalf("statuses %v, want %v", statuses, want)
	}
	st := s.Stats()
	if st.Throttled["a1"] != 2 || st.Throttled["a2"] != 0 || st.Generations != 4 || st.GenerationsByAccount["a1"] != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestFramesFlushedSeparately reads the first frame while the fake holds
// the second behind a gate: it can only arrive if the fake flushed it.
func TestFramesFlushedSeparately(t *testing.T) {
	s := withAccount(t, Options{})
	gate := make(chan struct{})
	second := Text("world", 1)[0]
	second.Gate = gate
	second.Delay = 20 * time.Millisecond
	s.Enqueue(Reply{Events: []Event{Text("hello ", 1)[0], second, Metering(0.5)}})

	resp := generate(testCtx(t), t, s, testToken, mustMarshal(t, simpleRequest("hi")))
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	r := bufio.NewReader(resp.Body)
	skipInitialResponse(t, r)
	f, err := readFrame(r)
	if err != nil {
		t.Fatalf("first frame: %v", err)
	}
	if string(f.payload) != `{"content":"hello "}` || f.headers[":event-type"] != "assistantResponseEvent" {
		t.Fatalf("first frame %v %s", f.headers, f.payload)
	}
	if st := s.Stats(); st.Streams != 1 || st.Completed != 0 {
		t.Fatalf("stream finished before its gate opened: %+v", st)
	}
	close(gate)
	f, err = readFrame(r)
	if err != nil {
		t.Fatalf("second frame: %v", err)
	}
	if string(f.payload) != `{"content":"world"}` {
		t.Fatalf("second frame %s", f.payload)
	}
	f, err = readFrame(r)
	if err != nil || f.headers[":event-type"] != "meteringEvent" {
		t.Fatalf("third frame %v: %v", f.headers, err)
	}
	if _, err := readFrame(r); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last frame: %v, want EOF", err)
	}
	if err := s.WaitFor(testCtx(t), func(st Stats) bool { return st.Completed == 1 }); err != nil {
		t.Fatal(err)
	}
	if got := s.Account("a1").Used; got != 0.5 {
		t.Fatalf("metered credits %v, want 0.5", got)
	}
}

func TestCancellationObserved(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply Reply
	}{
		{"mid-stream", Reply{Events: []Event{Text("a", 1)[0], {Type: "assistantResponseEvent", Payload: textPayload{"b"}, Delay: time.Hour}}}},
		{"gated", Reply{Events: []Event{Text("a", 1)[0], {Type: "assistantResponseEvent", Payload: textPayload{"b"}, Gate: make(chan struct{})}}}},
		{"before first byte", Reply{FirstByteDelay: time.Hour, Events: Text("a", 1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := withAccount(t, Options{})
			s.Enqueue(tc.reply)
			ctx, cancel := context.WithCancel(testCtx(t))
			defer cancel()
			if tc.reply.FirstByteDelay > 0 {
				// No headers come back; cancel once the fake holds the call.
				go func() {
					if s.WaitFor(ctx, func(st Stats) bool { return st.Generations == 1 }) == nil {
						cancel()
					}
				}()
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/", bytes.NewReader(mustMarshal(t, simpleRequest("hi"))))
				req.Header.Set("Content-Type", "application/x-amz-json-1.0")
				req.Header.Set("X-Amz-Target", TargetGenerate)
				req.Header.Set("Authorization", "Bearer "+testToken)
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
					t.Fatal("call completed despite the first-byte stall")
				}
			} else {
				resp := generate(ctx, t, s, testToken, mustMarshal(t, simpleRequest("hi")))
				if _, err := readFrame(resp.Body); err != nil {
					t.Fatalf("first frame: %v", err)
				}
				cancel()
				resp.Body.Close()
			}
			if err := s.WaitFor(testCtx(t), func(st Stats) bool { return st.Canceled == 1 }); err != nil {
				t.Fatalf("cancellation not observed: %v (stats %+v)", err, s.Stats())
			}
			if s.Canceled() != 1 || s.Stats().Completed != 0 {
				t.Fatalf("stats %+v", s.Stats())
			}
		})
	}
}

func TestCloseAfterResetsConnection(t *testing.T) {
	s := withAccount(t, Options{})
	first := Text("partial", 1)[0]
	first.CloseAfter = true
	s.Enqueue(Reply{Events: []Event{first, ContextUsage(5)}})
	resp := generate(testCtx(t), t, s, testToken, mustMarshal(t, simpleRequest("hi")))
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	skipInitialResponse(t, r)
	if f, err := readFrame(r); err != nil || string(f.payload) != `{"content":"partial"}` {
		t.Fatalf("first frame %s: %v", f.payload, err)
	}
	_, err := io.ReadAll(r)
	if err == nil {
		t.Fatal("stream ended cleanly; want a broken chunked body")
	}
	if st := s.Stats(); st.Resets != 1 || st.Completed != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestScriptedDisturbances(t *testing.T) {
	s := withAccount(t, Options{})
	s.Enqueue(Reply{Events: []Event{Text("ok", 1)[0], CorruptCRC(Text("bad", 1)[0]), Garbage(10), Exception("ThrottlingException", "slow down")}})
	resp := generate(testCtx(t), t, s, testToken, mustMarshal(t, simpleRequest("hi")))
	body := readBody(t, resp)
	r := bytes.NewReader(body)
	skipInitialResponse(t, r)
	if f, err := readFrame(r); err != nil || string(f.payload) != `{"content":"ok"}` {
		t.Fatalf("first frame: %v", err)
	}
	if _, err := readFrame(r); !errors.Is(err, errBadCRC) {
		t.Fatalf("corrupt frame: %v, want a CRC error", err)
	}
	rest := body[len(body)-r.Len():]
	if !bytes.HasPrefix(rest, Garbage(10).Raw) {
		t.Fatal("garbage not sent verbatim")
	}
	f, err := readFrame(bytes.NewReader(rest[10:]))
	if err != nil || f.headers[":exception-type"] != "ThrottlingException" || f.headers[":message-type"] != "exception" {
		t.Fatalf("exception frame %v: %v", f.headers, err)
	}
}

func TestRepliesQueueResponderDefault(t *testing.T) {
	s := withAccount(t, Options{DefaultAnswer: "default answer"})
	body := mustMarshal(t, simpleRequest("question"))
	text := func() (int, string) {
		resp := generate(testCtx(t), t, s, testToken, body)
		b := readBody(t, resp)
		if resp.StatusCode != 200 {
			return resp.StatusCode, string(b)
		}
		var out string
		for _, f := range readAllFrames(t, b) {
			var p map[string]any
			if err := json.Unmarshal(f.payload, &p); err != nil {
				t.Fatal(err)
			}
			if c, ok := p["content"].(string); ok {
				out += c
			}
		}
		return 200, out
	}
	s.Enqueue(TextReply("first"), ErrorReply(500, `{"message":"Internal"}`), Reply{Status: 503, Body: `{}`, Header: map[string]string{"Retry-After": "3"}})
	s.SetResponder(func(r *Request) Reply { return TextReply("echo " + r.CurrentContent) })
	for i, want := range []struct {
		status int
		text   string
	}{{200, "first"}, {500, `{"message":"Internal"}`}, {503, `{}`}, {200, "echo question"}} {
		status, got := text()
		if status != want.status || got != want.text {
			t.Errorf("call %d: %d %q, want %d %q", i, status, got, want.status, want.text)
		}
	}
	s.SetResponder(nil)
	if _, got := text(); got != "default answer" {
		t.Errorf("default responder said %q", got)
	}
	reqs := s.Requests()
	if len(reqs) != 5 || reqs[0].CurrentContent != "question" || reqs[0].ModelID != "claude-sonnet-4.5" ||
		reqs[0].Account != "a1" || reqs[0].Style != StyleRuntime || reqs[1].Status != 500 || reqs[0].Status != 200 {
		t.Fatalf("recorded %d requests: %+v", len(reqs), reqs[0])
	}
}

func TestToolRoundTrip(t *testing.T) {
	s := withAccount(t, Options{})
	s.SetResponder(ToolRoundTrip("Read", "tooluse_abc", `{"path":"main.go"}`, "The file says:"))
	first := mustMarshal(t, simpleRequest("read main.go"))
	resp := generate(testCtx(t), t, s, testToken, first)
	var input string
	stopped := false
	for _, f := range readAllFrames(t, readBody(t, resp)) {
		if f.headers[":event-type"] != "toolUseEvent" {
			continue
		}
		var p toolUsePayload
		if err := json.Unmarshal(f.payload, &p); err != nil {
			t.Fatal(err)
		}
		if p.Name != "Read" || p.ToolUseID != "tooluse_abc" {
			t.Fatalf("tool frame %+v", p)
		}
		if p.Input != nil {
			input += *p.Input
		}
		stopped = stopped || p.Stop
	}
	if input != `{"path":"main.go"}` || !stopped {
		t.Fatalf("tool input %q stop %v", input, stopped)
	}

	second := mustMarshal(t, kiroRequest()) // carries the result "file body" for tooluse_abc
	resp = generate(testCtx(t), t, s, testToken, second)
	var text string
	for _, f := range readAllFrames(t, readBody(t, resp)) {
		var p map[string]any
		if err := json.Unmarshal(f.payload, &p); err != nil {
			t.Fatal(err)
		}
		if c, ok := p["content"].(string); ok {
			text += c
		}
	}
	if text != "The file says: file body" {
		t.Fatalf("final answer %q", text)
	}
	reqs := s.Requests()
	if len(reqs[1].ToolResults) != 1 || reqs[1].ToolResults[0].Text() != "file body" || reqs[1].HistoryLen != 4 ||
		len(reqs[1].Tools) != 1 || reqs[1].Tools[0] != "Read" || reqs[1].ProfileARN != DefaultProfileARN {
		t.Fatalf("second request recorded as %+v", reqs[1])
	}
}

func TestRecordLimit(t *testing.T) {
	for _, tc := range []struct {
		limit int
		want  int
	}{{2, 2}, {-1, 0}} {
		s := withAccount(t, Options{RecordLimit: tc.limit})
		for _, c := range []string{"one", "two", "three"} {
			readBody(t, generate(testCtx(t), t, s, testToken, mustMarshal(t, simpleRequest(c))))
		}
		reqs := s.Requests()
		if len(reqs) != tc.want {
			t.Fatalf("limit %d: kept %d", tc.limit, len(reqs))
		}
		if tc.want == 2 && (reqs[0].CurrentContent != "two" || reqs[1].CurrentContent != "three") {
			t.Fatalf("kept %q, %q", reqs[0].CurrentContent, reqs[1].CurrentContent)
		}
	}
}

// TestCloseEndsStalledStreams closes the fake while a stream is stalled:
// Close must return (handlers end) and the stall is not a client cancel.
func TestCloseEndsStalledStreams(t *testing.T) {
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.AddAccount(Account{ID: "a1", AccessToken: testToken})
	s.Enqueue(Reply{Events: []Event{Text("a", 1)[0], {Type: "assistantResponseEvent", Payload: textPayload{"b"}, Delay: time.Hour}}})
	resp := generate(testCtx(t), t, s, testToken, mustMarshal(t, simpleRequest("hi")))
	defer resp.Body.Close()
	if _, err := readFrame(resp.Body); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close() // idempotent
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Fatal("stream ended cleanly after Close")
	}
	if st := s.Stats(); st.Canceled != 0 || st.Completed != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestHandlerMounted serves the fake from a listener of the caller's, as
// the load tool does.
func TestHandlerMounted(t *testing.T) {
	s, err := New(Options{Style: StyleIDE})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.AddAccount(Account{ID: "a1", AccessToken: testToken})
	req, _ := http.NewRequest(http.MethodPost, "/generateAssistantResponse", bytes.NewReader(mustMarshal(t, simpleRequest("hi"))))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec := &recorder{header: http.Header{}}
	s.Handler().ServeHTTP(rec, req)
	if rec.status != 200 || len(readAllFrames(t, rec.body.Bytes())) != 6 || rec.flushes < 6 {
		t.Fatalf("status %d, %d bytes, %d flushes", rec.status, rec.body.Len(), rec.flushes)
	}
}

// recorder is a ResponseWriter that counts flushes.
type recorder struct {
	header  http.Header
	status  int
	body    bytes.Buffer
	flushes int
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(200)
	return r.body.Write(b)
}
func (r *recorder) Flush() { r.flushes++ }

func TestConcurrentStreams(t *testing.T) {
	s := withAccount(t, Options{})
	s.AddAccount(Account{ID: "a2", AccessToken: "second"})
	body := mustMarshal(t, simpleRequest("hi"))
	const n = 24
	errs := make(chan error, n)
	for i := range n {
		token := testToken
		if i%2 == 1 {
			token = "second"
		}
		go func() {
			req, err := http.NewRequest(http.MethodPost, s.URL+"/", bytes.NewReader(body))
			if err != nil {
				errs <- err
				return
			}
			req.Header.Set("Content-Type", "application/x-amz-json-1.0")
			req.Header.Set("X-Amz-Target", TargetGenerate)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			if _, err := io.ReadAll(resp.Body); err != nil {
				errs <- err
				return
			}
			if resp.StatusCode != 200 {
				errs <- errors.New(resp.Status)
				return
			}
			errs <- nil
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	st := s.Stats()
	if st.Completed != n || st.GenerationsByAccount["a1"] != n/2 || st.GenerationsByAccount["a2"] != n/2 {
		t.Fatalf("stats %+v", st)
	}
	if used := s.Account("a1").Used + s.Account("a2").Used; used < 0.239 || used > 0.241 {
		t.Fatalf("metered %v credits, want %v", used, 0.01*n)
	}
	if len(s.Requests()) != n {
		t.Fatalf("recorded %d", len(s.Requests()))
	}
}

func TestScriptedErrorKeepsContentType(t *testing.T) {
	s := withAccount(t, Options{})
	s.Enqueue(Reply{Status: 502, Body: "<html>bad gateway</html>", Header: map[string]string{"Content-Type": "text/html"}})
	resp := generate(testCtx(t), t, s, testToken, mustMarshal(t, simpleRequest("hi")))
	b := readBody(t, resp)
	if resp.StatusCode != 502 || string(b) != "<html>bad gateway</html>" || resp.Header.Get("Content-Type") != "text/html" {
		t.Fatalf("%d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
}
