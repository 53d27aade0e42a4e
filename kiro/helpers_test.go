package kiro

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kirobar/kirobar/internal/duration"
	"github.com/kirobar/kirobar/kiro/eventstream"
)

// Secrets used in tests; long enough to look like the real thing, so a
// test can search every error and log line for them.
var (
	testAccessToken  = "aoaAAAAA" + strings.Repeat("accessTOKENsecret", 8)
	testRefreshToken = "aorAAAAA" + strings.Repeat("refreshTOKENsecret", 8)
	testClientSecret = "clientSECRET" + strings.Repeat("x", 40)
	testMachineID    = strings.Repeat("ab12", 16)
	testProfileARN   = "arn:aws:codewhisperer:us-east-1:699475941385:profile/EHGA3GRVQMUK"
)

// secrets returns every test secret.
func secrets() []string { return []string{testAccessToken, testRefreshToken, testClientSecret} }

// recorded is what a test server saw of one request.
type recorded struct {
	Method, Path, RawQuery, RequestURI, Host string
	Header                                   http.Header
	Body                                     []byte
	Close                                    bool
}

// recorder is a test upstream handler that records requests and answers
// with a per-test function.
type recorder struct {
	mu     sync.Mutex
	reqs   []recorded
	answer func(w http.ResponseWriter, r *http.Request, n int)
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	n := len(rec.reqs)
	rec.reqs = append(rec.reqs, recorded{
		Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, RequestURI: r.RequestURI, Host: r.Host,
		Header: r.Header.Clone(), Body: body, Close: r.Close,
	})
	rec.mu.Unlock()
	rec.answer(w, r, n)
}

func (rec *recorder) requests() []recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]recorded(nil), rec.reqs...)
}

// newUpstream starts a recording server.
func newUpstream(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, n int)) (*httptest.Server, *recorder) {
	t.Helper()
	rec := &recorder{answer: answer}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return srv, rec
}

// streamOK answers 200 with an event stream carrying text events.
func streamOK(t testing.TB, texts ...string) func(w http.ResponseWriter, r *http.Request, n int) {
	body := frames(t, texts...)
	return func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	}
}

// status answers with a fixed status and body.
func status(code int, body string) func(w http.ResponseWriter, r *http.Request, n int) {
	return func(w http.ResponseWriter, r *http.Request, n int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

// frames encodes assistantResponseEvent frames.
func frames(t testing.TB, texts ...string) []byte {
	t.Helper()
	var b []byte
	for _, s := range texts {
		var err error
		b, err = eventstream.Append(b, eventstream.Message{
			Headers: eventstream.Headers{
				{Name: eventstream.HeaderEventType, Value: "assistantResponseEvent"},
				{Name: eventstream.HeaderContentType, Value: "application/json"},
				{Name: eventstream.HeaderMessageType, Value: "event"},
			},
			Payload: []byte(`{"content":"` + s + `"}`),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// readTexts decodes a response body into its payloads.
func readTexts(t *testing.T, body io.Reader) []string {
	t.Helper()
	d := eventstream.NewDecoder(body)
	var out []string
	for {
		m, err := d.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		out = append(out, string(m.Payload))
	}
}

// testConfig points every URL at the given servers (nil = unused default).
func testConfig(runtime, ide *httptest.Server) Config {
	cfg := DefaultConfig()
	if runtime != nil {
		cfg.APIURL = runtime.URL
		cfg.AuthURL = runtime.URL
		cfg.OIDCURL = runtime.URL
	}
	if ide != nil {
		cfg.IDEURL = ide.URL
	}
	cfg.FirstByteTimeout = duration.Duration(10 * time.Second)
	cfg.IdleTimeout = duration.Duration(10 * time.Second)
	cfg.ConnectTimeout = duration.Duration(5 * time.Second)
	return cfg
}

// logBuffer captures log output to check it for secrets.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// newTestClient builds a client logging at debug level into the returned
// buffer, closing idle connections at the end of the test.
func newTestClient(t *testing.T, cfg Config) (*Client, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	c, err := NewClient(cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.CloseIdleConnections()
		for _, s := range secrets() {
			if strings.Contains(logs.String(), s) {
				t.Errorf("a secret reached the log:\n%s", logs.String())
			}
		}
	})
	return c, logs
}

// creds returns a social account's credentials.
func creds() Credentials {
	return Credentials{
		AccountID:   "acct-1",
		AuthMethod:  AuthSocial,
		AccessToken: testAccessToken,
		ProfileARN:  testProfileARN,
		MachineID:   testMachineID,
	}
}

const testState = `{"conversationId":"0b4445e1","currentMessage":{"userInputMessage":{"content":"hi","modelId":"claude-sonnet-4.5","origin":"AI_EDITOR"}}}`

// mustError asserts err is a *Error of class want and carries no secret.
func mustError(t *testing.T, err error, want Class) *Error {
	t.Helper()
	e, ok := AsError(err)
	if !ok {
		t.Fatalf("error %v (%T) is not a *kiro.Error", err, err)
	}
	if e.Class != want {
		t.Fatalf("class %q, want %q: %v", e.Class, want, e)
	}
	for _, s := range secrets() {
		if strings.Contains(e.Error(), s) || strings.Contains(e.Message, s) {
			t.Fatalf("error text contains a secret: %v", e)
		}
	}
	return e
}

// waitDone waits for ch, failing the test after a generous bound instead of
// hanging forever.
func waitDone(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// ctxWithCancel is context.WithCancel with cleanup.
func ctxWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx, cancel
}
