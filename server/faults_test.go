package server_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/flows"
	"github.com/kirobar/kirobar/internal/db"
	"github.com/kirobar/kirobar/internal/duration"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
	"github.com/kirobar/kirobar/kiro"
)

// rawFake is a Kiro API host that accepts TCP connections and then
// misbehaves in ways an HTTP server library would not: it answers garbage,
// resets a stream, or says nothing at all. It records whether kirobar
// closed each connection, so a test can tell a released connection from a
// leaked one.
type rawFake struct {
	t      *testing.T
	ln     net.Listener
	behave func(conn net.Conn, req *http.Request)
	done   chan struct{}

	wg       sync.WaitGroup
	mu       sync.Mutex
	accepted int
	closed   int // connections kirobar closed (the fake saw EOF or a reset)
}

func startRawFake(t *testing.T, behave func(conn net.Conn, req *http.Request)) *rawFake {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &rawFake{t: t, ln: ln, behave: behave, done: make(chan struct{})}
	f.wg.Add(1)
	go f.serve()
	t.Cleanup(f.close)
	return f
}

func (f *rawFake) url() string { return "http://" + f.ln.Addr().String() }

func (f *rawFake) serve() {
	defer f.wg.Done()
	for {
		conn, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.accepted++
		f.mu.Unlock()
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer conn.Close()
			go func() { <-f.done; conn.Close() }()
			br := bufio.NewReader(conn)
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			f.behave(conn, req)
			// Whatever happened, wait for kirobar to let go of the
			// connection: a read ends with EOF or a reset when it does.
			_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			if _, err := io.Copy(io.Discard, br); err == nil || !isTimeoutErr(err) {
				f.mu.Lock()
				f.closed++
				f.mu.Unlock()
			}
		}()
	}
}

func isTimeoutErr(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func (f *rawFake) close() {
	select {
	case <-f.done:
		return
	default:
	}
	close(f.done)
	f.ln.Close()
	f.wg.Wait()
}

// waitReleased waits until kirobar closed every connection it opened.
func (f *rawFake) waitReleased(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		f.mu.Lock()
		acc, cl := f.accepted, f.closed
		f.mu.Unlock()
		if acc > 0 && acc == cl {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("kirobar holds %d of %d upstream connections after the fault", acc-cl, acc)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// streamHead writes a 200 event-stream response head the way Kiro does.
// With close, the connection is not reusable after the response, so the
// fake can see kirobar let go of it.
func streamHead(conn net.Conn, close bool) {
	head := "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.amazon.eventstream\r\nTransfer-Encoding: chunked\r\n"
	if close {
		head += "Connection: close\r\n"
	}
	_, _ = io.WriteString(conn, head+"\r\n")
}

// chunk writes b as one HTTP chunk.
func chunk(conn net.Conn, b []byte) {
	_, _ = io.WriteString(conn, strconv.FormatInt(int64(len(b)), 16)+"\r\n")
	_, _ = conn.Write(b)
	_, _ = io.WriteString(conn, "\r\n")
}

func frame(t *testing.T, ev kirofake.Event) []byte {
	t.Helper()
	b, err := ev.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// resetConn closes with an RST instead of a FIN.
func resetConn(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// flowStore opens the harness database as `kirobar flows` does beside a
// running kirobar.
func flowStore(t *testing.T, h *harness) *flows.Store {
	t.Helper()
	gdb, err := db.Open(filepath.Join(h.home, "kirobar.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(gdb) })
	return flows.NewStore(gdb, h.home)
}

// lastFlow waits for the recorder to store n flows and returns the newest
// with its details.
func lastFlow(t *testing.T, h *harness, n int) (flows.Row, flows.Details) {
	t.Helper()
	st := flowStore(t, h)
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rows, err := st.List(ctx, flows.Filter{Limit: -1})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) >= n && rows[0].FilePath != "" {
			row, det, err := st.Get(ctx, rows[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			return row, det
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d flows recorded, want %d", len(rows), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitIdle waits until no lease is held: every attempt was released.
func waitIdle(t *testing.T, h *harness) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		busy := 0
		for _, v := range h.mgr.List() {
			busy += v.InFlight
		}
		if busy == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d leases still held after the request ended", busy)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fault is one upstream failure and everything it should lead to.
type fault struct {
	name     string
	accounts int
	// raw, when set, serves the generation endpoint instead of kirofake.
	raw func(t *testing.T) func(conn net.Conn, req *http.Request)
	// refused points the generation endpoint at a closed port.
	refused bool
	setup   func(h *harness)
	stream  bool

	status      int      // HTTP status the client gets
	clientWants []string // in the response body
	flowStatus  string
	flowHTTP    int
	attempts    []string // error class per attempt ("" for success)
	captureKind string   // "" for none
	// accountStates is the state of the account each attempt used.
	accountStates []string
}

const faultBody = `{"model":"claude-sonnet-4-5","max_tokens":10,"stream":%s,"messages":[{"role":"user","content":"hi"}]}`

// TestUpstreamFaults breaks the upstream in every way a network and a
// misbehaving service can, and checks what the client sees, what the flow
// says and what became of the account. Every fault ends with every lease
// released and, for the raw fake, every upstream connection closed.
func TestUpstreamFaults(t *testing.T) {
	text := func(s string) kirofake.Event { return kirofake.Text(s, 1)[0] }
	cases := []fault{
		{
			name: "connection refused", refused: true,
			status: 502, clientWants: []string{"api_error", "connection refused"},
			flowStatus: "failed", flowHTTP: 502, attempts: []string{"network"},
			accountStates: []string{accounts.StatusCooling},
		},
		{
			name: "reset mid-stream", stream: true,
			setup: func(h *harness) {
				ev := text("partial answer")
				ev.CloseAfter = true
				h.fake.Enqueue(kirofake.Reply{Events: []kirofake.Event{ev}})
			},
			status: 200, clientWants: []string{"partial answer", "event: error"},
			flowStatus: "failed", flowHTTP: 200, attempts: []string{""}, captureKind: "reset",
			accountStates: []string{accounts.StatusCooling},
		},
		{
			name: "stall past idle_timeout", stream: true,
			setup: func(h *harness) {
				later := text(" never")
				later.Delay = 3 * time.Second
				h.fake.Enqueue(kirofake.Reply{Events: []kirofake.Event{text("first"), later}})
			},
			status: 200, clientWants: []string{"first", "event: error", "no data from upstream"},
			flowStatus: "failed", flowHTTP: 200, attempts: []string{""}, captureKind: "timeout",
			accountStates: []string{accounts.StatusCooling},
		},
		{
			name: "garbage instead of frames",
			setup: func(h *harness) {
				h.fake.Enqueue(kirofake.Reply{Events: []kirofake.Event{kirofake.Garbage(200)}})
			},
			status: 502, clientWants: []string{"api_error", "garbage"},
			flowStatus: "failed", flowHTTP: 502, attempts: []string{"server"}, captureKind: "decode",
			accountStates: []string{accounts.StatusCooling},
		},
		{
			name: "garbage after content", stream: true,
			setup: func(h *harness) {
				h.fake.Enqueue(kirofake.Reply{Events: []kirofake.Event{text("some text"), kirofake.Garbage(200)}})
			},
			status: 200, clientWants: []string{"some text", "event: error"},
			flowStatus: "failed", flowHTTP: 200, attempts: []string{""}, captureKind: "decode",
			accountStates: []string{accounts.StatusCooling},
		},
		{
			name: "bad CRC", stream: true,
			setup: func(h *harness) {
				h.fake.Enqueue(kirofake.Reply{Events: []kirofake.Event{text("good"), kirofake.CorruptCRC(text(" bad"))}})
			},
			status: 200, clientWants: []string{"good", "event: error"},
			flowStatus: "failed", flowHTTP: 200, attempts: []string{""}, captureKind: "decode",
			accountStates: []string{accounts.StatusCooling},
		},
		{
			name: "exception frame mid-stream", stream: true,
			setup: func(h *harness) {
				h.fake.Enqueue(kirofake.Reply{Events: []kirofake.Event{text("partial"), kirofake.Exception("InternalServerException", "boom")}})
			},
			status: 200, clientWants: []string{"partial", "event: error", "boom"},
			flowStatus: "failed", flowHTTP: 200, attempts: []string{""},
			accountStates: []string{accounts.StatusReady},
		},
		{
			name: "throttling frame mid-stream cools the account", stream: true,
			setup: func(h *harness) {
				h.fake.Enqueue(kirofake.Reply{Events: []kirofake.Event{text("partial"), kirofake.Exception("ThrottlingException", "Too many requests, please wait before trying again.")}})
			},
			status: 200, clientWants: []string{"partial", "event: error", "overloaded_error"},
			flowStatus: "failed", flowHTTP: 200, attempts: []string{""},
			accountStates: []string{accounts.StatusCooling},
		},
		{
			name: "exception frame first fails over", accounts: 2,
			setup: func(h *harness) {
				h.fake.Enqueue(kirofake.Reply{Events: []kirofake.Event{kirofake.Exception("InternalServerException", "boom")}})
			},
			status: 200, clientWants: []string{"Hello from kirofake."},
			flowStatus: "completed", flowHTTP: 200, attempts: []string{"server", ""},
			accountStates: []string{accounts.StatusCooling, accounts.StatusReady},
		},
		{
			name: "throttling frame before content cools down and fails over", accounts: 2,
			setup: func(h *harness) {
				h.fake.Enqueue(kirofake.Reply{Events: []kirofake.Event{kirofake.Exception("ThrottlingException", "Too many requests, please wait before trying again.")}})
			},
			status: 200, clientWants: []string{"Hello from kirofake."},
			flowStatus: "completed", flowHTTP: 200, attempts: []string{"throttled", ""},
			accountStates: []string{accounts.StatusCooling, accounts.StatusReady},
		},
		{
			name: "capacity throttle at HTTP 400 fails over", accounts: 2,
			setup: func(h *harness) {
				h.fake.Enqueue(kirofake.ErrorReply(400, kirofake.BodyCapacity))
			},
			status: 200, clientWants: []string{"Hello from kirofake."},
			flowStatus: "completed", flowHTTP: 200, attempts: []string{"capacity", ""},
			accountStates: []string{accounts.StatusCooling, accounts.StatusReady},
		},
		{
			name: "capacity throttle at HTTP 400 on the only account is a 429",
			setup: func(h *harness) {
				for range 3 {
					h.fake.Enqueue(kirofake.ErrorReply(400, kirofake.BodyCapacity))
				}
			},
			status: 429, clientWants: []string{"rate_limit_error", "INSUFFICIENT_MODEL_CAPACITY", "free again in"},
			flowStatus: "failed", flowHTTP: 429, attempts: []string{"capacity"},
			accountStates: []string{accounts.StatusCooling},
		},
		{
			name: "daily limit at HTTP 400 rests the account until tomorrow",
			setup: func(h *harness) {
				h.fake.Enqueue(kirofake.ErrorReply(400, kirofake.BodyDailyLimit))
			},
			status: 429, clientWants: []string{"rate_limit_error", "daily request limit", "DAILY_REQUEST_COUNT"},
			flowStatus: "failed", flowHTTP: 429, attempts: []string{"daily_limit"},
			accountStates: []string{accounts.StatusCooling},
		},
		{
			name: "input too long at HTTP 429 is prompt too long",
			setup: func(h *harness) {
				h.fake.Enqueue(kirofake.ErrorReply(429, kirofake.BodyInputTooLong))
			},
			status: 400, clientWants: []string{"invalid_request_error", "prompt is too long"},
			flowStatus: "failed", flowHTTP: 400, attempts: []string{"context_too_long"},
			accountStates: []string{accounts.StatusReady},
		},
		{
			name: "5xx burst fails over", accounts: 2,
			setup: func(h *harness) {
				h.fake.Enqueue(kirofake.ErrorReply(503, `{"message":"Service unavailable"}`))
			},
			status: 200, clientWants: []string{"Hello from kirofake."},
			flowStatus: "completed", flowHTTP: 200, attempts: []string{"server", ""},
			accountStates: []string{accounts.StatusCooling, accounts.StatusReady},
		},
		{
			name: "5xx burst on the only account",
			setup: func(h *harness) {
				for range 3 {
					h.fake.Enqueue(kirofake.ErrorReply(500, `{"message":"Internal failure"}`))
				}
			},
			status: 502, clientWants: []string{"api_error", "HTTP 500", "Internal failure"},
			flowStatus: "failed", flowHTTP: 502, attempts: []string{"server"},
			accountStates: []string{accounts.StatusCooling},
		},
		{
			name: "slow first byte",
			setup: func(h *harness) {
				h.fake.Enqueue(kirofake.Reply{FirstByteDelay: 3 * time.Second, Events: kirofake.Text("late", 1)})
			},
			status: 504, clientWants: []string{"api_error", "did not answer in time", "no response from upstream within 400ms"},
			flowStatus: "failed", flowHTTP: 504, attempts: []string{"timeout"},
			accountStates: []string{accounts.StatusCooling},
		},
		{
			name: "raw: connection closed before an answer",
			raw: func(t *testing.T) func(net.Conn, *http.Request) {
				return func(conn net.Conn, _ *http.Request) { conn.Close() }
			},
			status: 502, clientWants: []string{"api_error", "network", "EOF"},
			flowStatus: "failed", flowHTTP: 502, attempts: []string{"network"},
			accountStates: []string{accounts.StatusCooling},
		},
		{
			name: "raw: not HTTP at all",
			raw: func(t *testing.T) func(net.Conn, *http.Request) {
				return func(conn net.Conn, _ *http.Request) {
					_, _ = io.WriteString(conn, "\x00\x00\x00\x10garbage {\"not\":\"http\"}\r\n\r\n")
				}
			},
			status: 502, clientWants: []string{"api_error", "network", "malformed HTTP"},
			flowStatus: "failed", flowHTTP: 502, attempts: []string{"network"},
			accountStates: []string{accounts.StatusCooling},
		},
		{
			name: "raw: reset mid-stream", stream: true,
			raw: func(t *testing.T) func(net.Conn, *http.Request) {
				first := frame(t, text("half"))
				return func(conn net.Conn, _ *http.Request) {
					streamHead(conn, false)
					chunk(conn, first)
					resetConn(conn)
				}
			},
			status: 200, clientWants: []string{"half", "event: error"},
			flowStatus: "failed", flowHTTP: 200, attempts: []string{""}, captureKind: "reset",
			accountStates: []string{accounts.StatusCooling},
		},
		{
			name: "raw: frame cut in half", stream: true,
			raw: func(t *testing.T) func(net.Conn, *http.Request) {
				first, second := frame(t, text("whole")), frame(t, text(" cut"))
				return func(conn net.Conn, _ *http.Request) {
					streamHead(conn, true)
					chunk(conn, first)
					chunk(conn, second[:len(second)/2])
					_, _ = io.WriteString(conn, "0\r\n\r\n")
				}
			},
			status: 200, clientWants: []string{"whole", "event: error"},
			flowStatus: "failed", flowHTTP: 200, attempts: []string{""}, captureKind: "decode",
			accountStates: []string{accounts.StatusCooling},
		},
		{
			name: "raw: silent after the request",
			raw: func(t *testing.T) func(net.Conn, *http.Request) {
				return func(net.Conn, *http.Request) {}
			},
			status: 504, clientWants: []string{"api_error", "did not answer in time"},
			flowStatus: "failed", flowHTTP: 504, attempts: []string{"timeout"},
			accountStates: []string{accounts.StatusCooling},
		},
		{
			name: "raw: stall after the head", stream: true,
			raw: func(t *testing.T) func(net.Conn, *http.Request) {
				first := frame(t, text("started"))
				return func(conn net.Conn, _ *http.Request) {
					streamHead(conn, false)
					chunk(conn, first)
				}
			},
			status: 200, clientWants: []string{"started", "event: error", "no data from upstream"},
			flowStatus: "failed", flowHTTP: 200, attempts: []string{""}, captureKind: "timeout",
			accountStates: []string{accounts.StatusCooling},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var raw *rawFake
			apiURL := ""
			switch {
			case tc.raw != nil:
				raw = startRawFake(t, tc.raw(t))
				apiURL = raw.url()
			case tc.refused:
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				apiURL = "http://" + ln.Addr().String()
				ln.Close()
			}
			h := newHarness(t, harnessOptions{
				accounts: tc.accounts,
				kiro: func(c *kiro.Config) {
					c.FirstByteTimeout = duration.Duration(400 * time.Millisecond)
					c.IdleTimeout = duration.Duration(400 * time.Millisecond)
					if apiURL != "" {
						c.APIURL = apiURL
					}
				},
				accountsC: func(c *accountsConfig) {
					// One failure is enough to cool an account down, so the
					// test sees the class's handling in one request.
					c.BreakerThreshold = 1
					c.Strategy = "fill_first"
				},
			})
			if tc.setup != nil {
				tc.setup(h)
			}
			stream := "false"
			if tc.stream {
				stream = "true"
			}
			resp := h.post("/v1/messages", strings.Replace(faultBody, "%s", stream, 1), nil)
			got := readAll(t, resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, got)
			}
			if tc.status != 200 {
				decodeError(t, "anthropic", got)
			}
			for _, w := range tc.clientWants {
				if !strings.Contains(got, w) {
					t.Fatalf("response lacks %q:\n%s\nflows: %+v", w, got, func() any { r, d := lastFlow(t, h, 1); return []any{r, d.Capture} }())
				}
			}
			if tc.stream && tc.status == 200 && strings.Contains(got, "event: error") && strings.Contains(got, "message_stop") {
				t.Fatalf("a failed stream also claims to have ended normally:\n%s", got)
			}

			row, det := lastFlow(t, h, 1)
			if row.Status != tc.flowStatus || row.HTTPStatus != tc.flowHTTP {
				t.Fatalf("flow status %s/%d, want %s/%d (%+v)", row.Status, row.HTTPStatus, tc.flowStatus, tc.flowHTTP, row)
			}
			if tc.flowStatus == "failed" && (row.ErrorType == "" || row.ErrorMessage == "") {
				t.Fatalf("failed flow without an error: %+v", row)
			}
			var classes []string
			for _, a := range row.Attempts {
				classes = append(classes, a.ErrorClass)
			}
			if strings.Join(classes, ",") != strings.Join(tc.attempts, ",") {
				t.Fatalf("attempt classes %q, want %q (%+v)", classes, tc.attempts, row.Attempts)
			}
			gotKind := ""
			if det.Capture != nil {
				gotKind = det.Capture.Kind
			}
			if gotKind != tc.captureKind {
				t.Fatalf("capture kind %q, want %q (%+v)", gotKind, tc.captureKind, det.Capture)
			}

			waitIdle(t, h)
			for i, want := range tc.accountStates {
				v, err := h.mgr.View(row.Attempts[i].AccountID)
				if err != nil {
					t.Fatal(err)
				}
				if v.Status != want {
					t.Fatalf("account of attempt %d is %s, want %s (last error %q)", i, v.Status, want, v.LastError)
				}
				if want == accounts.StatusCooling && (v.CooldownUntil.IsZero() || v.LastError == "") {
					t.Fatalf("account of attempt %d cools down without an end or a reason: %+v", i, v)
				}
			}
			if raw != nil {
				raw.waitReleased(t)
			}
		})
	}
}
