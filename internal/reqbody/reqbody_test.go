package reqbody

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// serve runs a streaming fasthttp server whose handler is h and returns a
// function that sends one raw request and returns the raw answer.
func serve(t *testing.T, h fasthttp.RequestHandler) func(raw string) string {
	t.Helper()
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: h, StreamRequestBody: true, MaxRequestBodySize: 1 << 20, ReadTimeout: 5 * time.Second}
	go srv.Serve(ln) //nolint:errcheck
	t.Cleanup(func() { _ = srv.Shutdown() })
	return func(raw string) string {
		c, err := ln.Dial()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte(raw)); err != nil {
			t.Fatal(err)
		}
		var resp fasthttp.Response
		if err := resp.Read(bufio.NewReader(c)); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%d %s", resp.StatusCode(), resp.Body())
	}
}

func post(body string, chunked bool) string {
	if chunked {
		return "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
			fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body)
	}
	return fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}

func TestRead(t *testing.T) {
	const limit = 64 << 10
	send := serve(t, func(ctx *fasthttp.RequestCtx) {
		err := Read(ctx, limit)
		if Unread(ctx) {
			ctx.SetConnectionClose()
		}
		switch {
		case errors.Is(err, ErrTooLarge):
			ctx.SetStatusCode(413)
		case err != nil:
			ctx.SetStatusCode(400)
		default:
			// A caller that keeps the body takes it over with SwapBody:
			// it must find the same body PostBody shows.
			posted := string(ctx.PostBody())
			taken := string(ctx.Request.SwapBody(nil))
			if taken != posted {
				ctx.SetStatusCode(500)
				ctx.SetBodyString(fmt.Sprintf("SwapBody took %d bytes, PostBody shows %d", len(taken), len(posted)))
				return
			}
			ctx.SetBody([]byte(fmt.Sprintf("%d", len(taken))))
		}
	})
	big := strings.Repeat("b", 40<<10) // past fasthttp's 8 KB prefetch
	for _, tc := range []struct {
		name string
		raw  string
		want string
	}{
		{"small", post("hello", false), "200 5"},
		{"beyond the prefetch", post(big, false), fmt.Sprintf("200 %d", len(big))},
		{"chunked", post(big, true), fmt.Sprintf("200 %d", len(big))},
		{"at the limit", post(strings.Repeat("c", limit), false), fmt.Sprintf("200 %d", limit)},
		{"over the limit", post(strings.Repeat("c", limit+1), false), "413 "},
		{"chunked over the limit", post(strings.Repeat("c", limit+1), true), "413 "},
		{"no body", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "200 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := send(tc.raw); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestUnread: a handler that answers without reading leaves the body
// unread, which Unread reports so the connection is closed.
func TestUnread(t *testing.T) {
	send := serve(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetBody([]byte(fmt.Sprint(Unread(ctx))))
	})
	if got := send(post(strings.Repeat("u", 20<<10), false)); got != "200 true" {
		t.Fatalf("unread body: %q", got)
	}
	if got := send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"); got != "200 false" {
		t.Fatalf("no body: %q", got)
	}
}

// TestGate: with every slot held by a slow body, another is refused at
// once with ErrBusy; a body slower than the gate's timeout fails.
func TestGate(t *testing.T) {
	g := NewGate(1, 300*time.Millisecond)
	var mu sync.Mutex
	var results []string
	// Real TCP: the deadline error must be a net.Error timeout, as it is
	// for kirobar's listener.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{StreamRequestBody: true, Handler: func(ctx *fasthttp.RequestCtx) {
		err := g.Read(ctx, 16<<10)
		var ne net.Error
		res := "ok"
		switch {
		case errors.Is(err, ErrBusy):
			res = "busy"
		case errors.As(err, &ne) && ne.Timeout():
			res = "timeout"
		case err != nil:
			res = err.Error()
		}
		mu.Lock()
		results = append(results, res)
		mu.Unlock()
	}}
	go srv.Serve(ln)     //nolint:errcheck
	defer srv.Shutdown() //nolint:errcheck
	slow, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	// Headers and more than fasthttp's 8 KB prefetch (it calls the
	// handler only once that much, or the whole body, is in), then nothing.
	if _, err := slow.Write([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n" + strings.Repeat("s", 9000))); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	fast, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	if _, err := fast.Write([]byte(post("x", false))); err != nil {
		t.Fatal(err)
	}
	var resp fasthttp.Response
	if err := resp.Read(bufio.NewReader(fast)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		got := strings.Join(results, ",")
		mu.Unlock()
		if got == "busy,timeout" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("results %q, want busy then timeout", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
