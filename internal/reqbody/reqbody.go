// Package reqbody reads the request bodies fasthttp streams
// (Server.StreamRequestBody) only once a request has passed kirobar's Host,
// Origin and key checks, so a client without a key never makes kirobar
// hold its body: the checks run when the headers arrive, and a refused
// request's body is drained and discarded as its connection closes.
package reqbody

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/valyala/fasthttp"
)

// ErrTooLarge is a body over the limit; it is left unread.
var ErrTooLarge = errors.New("request body is too large")

// ErrBusy means every slot for unauthenticated bodies is taken.
var ErrBusy = errors.New("too many unauthenticated requests at once")

// Read reads the whole body, at most limit bytes, into the request, so
// PostBody (or SwapBody) returns it afterwards. A body over limit is ErrTooLarge; a body
// the client does not finish in time is a timeout error from the
// connection (errors.As a net.Error).
func Read(ctx *fasthttp.RequestCtx, limit int) error {
	r := &ctx.Request
	if !r.IsBodyStream() {
		return nil // no body, or already read
	}
	n := r.Header.ContentLength()
	if n > limit {
		return ErrTooLarge
	}
	stream := r.BodyStream()
	var body []byte
	if n >= 0 {
		// The length is known and within the limit, and the client
		// holds a key (or a session): allocate once.
		body = make([]byte, n)
		if _, err := io.ReadFull(stream, body); err != nil {
			return fmt.Errorf("read request body: %w", err)
		}
	} else {
		var buf bytes.Buffer
		got, err := buf.ReadFrom(io.LimitReader(stream, int64(limit)+1))
		if err != nil {
			return fmt.Errorf("read request body: %w", err)
		}
		if got > int64(limit) {
			return ErrTooLarge
		}
		body = buf.Bytes()
	}
	// The body goes into fasthttp's own body buffer, not SetBodyRaw: then
	// every body, read here or by fasthttp, is where SwapBody finds it, so
	// a caller can take it over (SwapBody ignores a raw body and would
	// return nothing). ResetBody also ends the stream, so Unread reports
	// false afterwards.
	r.ResetBody()
	r.SwapBody(body)
	return nil
}

// Unread reports whether the request may still have body bytes on the
// connection that nobody read. Its connection must then close after the
// answer (the bytes are not the next request), draining them first so
// the client reads the answer instead of a reset.
func Unread(ctx *fasthttp.RequestCtx) bool {
	return ctx.Request.IsBodyStream() && ctx.Request.Header.ContentLength() != 0
}

// Gate caps the unauthenticated bodies read at once (the dashboard's
// sign-in form is the one kirobar reads before it knows the client), and
// how long each may take, so clients without a key cannot make kirobar
// hold many bodies or wait on slow ones.
type Gate struct {
	slots   chan struct{}
	timeout time.Duration
}

// NewGate allows n bodies at once, each read within timeout.
func NewGate(n int, timeout time.Duration) *Gate {
	return &Gate{slots: make(chan struct{}, n), timeout: timeout}
}

// Read is Read through the gate: ErrBusy when every slot is taken.
func (g *Gate) Read(ctx *fasthttp.RequestCtx, limit int) error {
	if !ctx.Request.IsBodyStream() {
		return nil
	}
	select {
	case g.slots <- struct{}{}:
	default:
		return ErrBusy
	}
	defer func() { <-g.slots }()
	if g.timeout > 0 {
		// fasthttp sets the connection's read deadline again before the
		// next request, so shortening it here only bounds this body.
		if err := ctx.Conn().SetReadDeadline(time.Now().Add(g.timeout)); err != nil {
			return fmt.Errorf("read request body: %w", err)
		}
	}
	return Read(ctx, limit)
}
