package server

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/flows"
	"github.com/kirobar/kirobar/kiro"
	"github.com/kirobar/kirobar/kiro/models"
	"github.com/kirobar/kirobar/kiro/payload"
	"github.com/kirobar/kirobar/kiro/stream"
)

// encoder writes canonical events in one surface's streaming format.
type encoder interface {
	Begin(dst []byte) []byte
	Event(dst []byte, ev canon.Event) []byte
	Ping(dst []byte) []byte
	Fail(dst []byte, e *canon.StreamError) []byte
}

// call is one client request on its way through kirobar.
type call struct {
	surf      surface
	keyName   string
	path      string
	id        string
	body      []byte
	req       *canon.Request
	kiroModel string
	window    int
	built     *payload.Result
	// pin keeps every attempt on one account (the dashboard's speed test).
	pin       string
	buildOpts payload.Options // what built was built with; a web search loop rebuilds with it
	start     time.Time
	sendAt    time.Time
	firstAt   time.Time
	flow      *flows.Flow
}

func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// prepare resolves the model and builds the Kiro request once; every
// attempt reuses it.
func (s *Server) prepare(c *call) *apiError {
	served := s.servedIDs()
	id, ok := s.deps.Models.ResolveServed(c.req.Model, served)
	if !ok {
		id = s.deps.DefaultModel
		if id == "" {
			id = models.Default
		}
	}
	c.kiroModel, c.window = id, s.contextWindow(id)
	maxPayload := s.cfg.MaxPayloadKB * 1000
	c.buildOpts = payload.Options{ModelID: id, MaxPayloadBytes: maxPayload, Images: s.images}
	built, err := payload.Build(c.req, c.buildOpts)
	if err != nil {
		if ae := mapError(err, estimateBody(c.body), c.window); ae.Status != 500 {
			return ae
		}
		return badRequest(err.Error())
	}
	if built.Trimmed > 0 {
		s.deps.Log.Info("history trimmed to fit server.max_payload_kb", "path", c.path, "entries", built.Trimmed, "max_payload_kb", s.cfg.MaxPayloadKB)
	}
	c.built = built
	return nil
}

// estimateBody is a last-resort token estimate when the builder refused
// the request before estimating it.
func estimateBody(body []byte) int { return len(body) / 4 }

// sessionKey keeps a conversation on one account: Claude Code's session
// id when present, else the client key plus the first user message.
func sessionKey(keyName string, req *canon.Request) string {
	if req.Metadata != nil && req.Metadata.UserID != "" {
		return req.Metadata.UserID
	}
	h := fnv.New64a()
	h.Write([]byte(keyName))
	for _, m := range req.Messages {
		if m.Role != "user" {
			continue
		}
		t := m.Content.Text("\n")
		if len(t) > 1024 {
			t = t[:1024]
		}
		h.Write([]byte(t))
		break
	}
	return keyName + ":" + strconv.FormatUint(h.Sum64(), 36)
}

// open tries accounts until one answers with content, bounded by
// MaxAttempts. Nothing has been sent to the client yet, so every failure
// here can still become a clean HTTP error or a silent failover. What
// happens after each failure is the policy table's call (kiro/policy.go):
// answer now, try the next account, fix this account and retry it, or
// retry once.
func (s *Server) open(ctx context.Context, c *call) (*upstream, error) {
	var (
		exclude []string
		lastErr error
		retryOn string                  // the account to retry on next
		fixed   = map[string]int{}      // recoveries per account in this request
		once    = map[kiro.Class]bool{} // RetryOnce classes already retried
	)
	session := sessionKey(c.keyName, c.req)
	for attempt := 0; attempt < s.deps.MaxAttempts; attempt++ {
		if c.pin != "" {
			retryOn = c.pin
		}
		lease, err := s.deps.Pool.Acquire(ctx, accounts.AcquireRequest{Session: session, Exclude: exclude, Model: c.kiroModel, AccountID: retryOn})
		retryOn = ""
		if err != nil {
			return nil, acquireFailed(ctx, err, lastErr)
		}
		u, err := s.attempt(ctx, c, lease)
		if err == nil {
			return u, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			return nil, context.Canceled
		}
		ke, ok := kiro.AsError(err)
		if !ok {
			return nil, err
		}
		switch ke.Policy().Retry {
		case kiro.RetryNever:
			return nil, err
		case kiro.RetrySameAfterFix:
			if fixed[lease.AccountID] < maxRecoveries {
				fixed[lease.AccountID]++
				rerr := s.deps.Pool.Recover(ctx, lease, ke)
				if rerr == nil {
					retryOn = lease.AccountID
					continue
				}
				s.deps.Log.Info("account could not be recovered; trying the next one", "account", lease.AccountID, "class", ke.Class, "err", rerr)
			}
		case kiro.RetryOnce:
			if !once[ke.Class] {
				once[ke.Class] = true
				if ready, _ := s.deps.Pool.Ready(); ready < 2 || c.pin != "" {
					// No other account to ask: ask this one again after a
					// moment, as a transient refusal passes.
					if err := pause(ctx, retryOncePause); err != nil {
						return nil, context.Canceled
					}
					retryOn = lease.AccountID
					continue
				}
			}
		}
		if c.pin != "" {
			return nil, err // no other account may answer a pinned call
		}
		exclude = append(exclude, lease.AccountID)
	}
	return nil, lastErr
}

// maxRecoveries bounds how often one request fixes one account and
// retries it: a refused token is refreshed, and a fresh one the runtime
// host still refuses moves the account to the q host (kiro-protocol.md
// §11.4); every successful Recover changed something, so the bound only
// keeps a request from spending all its attempts on one account.
const maxRecoveries = 2

// retryOncePause is how long a RetryOnce failure waits before asking the
// same account again.
const retryOncePause = 500 * time.Millisecond

// pause waits d or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// attempt sends the request on one lease and reads the stream up to its
// first content. On failure the lease is released with the outcome, so the
// account is judged before the caller decides what to do next.
func (s *Server) attempt(ctx context.Context, c *call, lease *accounts.Lease) (*upstream, error) {
	t0 := time.Now()
	if c.sendAt.IsZero() {
		c.sendAt = t0
	}
	resp, err := s.deps.Upstream.Send(ctx, lease.Credentials, c.built.ConversationState, c.built.Fields)
	if err == nil {
		if c.flow != nil && c.flow.UpstreamRequest == nil {
			c.flow.UpstreamRequest = resp.Sent
		}
		u := newUpstream(lease, resp, stream.Options{
			Thinking:      c.built.Thinking,
			ToolNames:     c.built.ToolNames,
			InputEstimate: c.built.InputEstimate,
			ContextWindow: c.window,
		}, c.flow != nil)
		if err = u.peek(); err == nil {
			c.firstAt = time.Now()
			c.addAttempt(lease.AccountID, 200, "", time.Since(t0), "")
			return u, nil
		}
		if c.flow != nil {
			c.flow.Capture = u.rawCapture() // why the stream was unusable
		}
		u.close()
	}
	class, status := "", 0
	if ke, ok := kiro.AsError(err); ok {
		class, status = string(ke.Class), ke.Status
	}
	c.addAttempt(lease.AccountID, status, class, time.Since(t0), err.Error())
	outcome := accounts.Outcome{Err: err}
	if resp != nil {
		outcome.Style = resp.Style
	}
	s.deps.Pool.Release(lease, outcome)
	return nil, err
}

// acquireFailed picks the answer when no account can be leased. The pool
// knows the earliest cooldown end, so its answer wins unless the last
// failure says more: a request-shape error, a model the accounts refused,
// or an upstream fault (5xx, network, timeout) that is why the pool ran
// dry.
func acquireFailed(ctx context.Context, err, lastErr error) error {
	if lastErr == nil || ctx.Err() != nil {
		return err
	}
	if _, exhausted := err.(*accounts.ExhaustedError); !exhausted {
		return err
	}
	ke, ok := kiro.AsError(lastErr)
	if !ok {
		return err
	}
	p := ke.Policy()
	if !p.Failover() || p.Account == kiro.ActStrike || p.Account == kiro.ActBlockModel {
		return lastErr
	}
	// Say what the last account met, then what the pool knows.
	ex := err.(*accounts.ExhaustedError)
	why := p.Say
	if ke.Message != "" {
		why += ": " + ke.Message
	}
	if ke.Reason != "" {
		why += " (" + ke.Reason + ")"
	}
	return &accounts.ExhaustedError{RetryAfter: ex.RetryAfter, Message: why + "; " + ex.Message}
}

func (c *call) addAttempt(account string, status int, class string, d time.Duration, msg string) {
	if c.flow == nil {
		return
	}
	c.flow.Attempts = append(c.flow.Attempts, flows.Attempt{AccountID: account, Status: status, ErrorClass: class, Duration: d, Error: msg})
}

// serve runs the request path for any surface: open the upstream, then
// stream it through enc or collect it into one body.
func (s *Server) serve(ctx *fasthttp.RequestCtx, c *call, enc encoder, body func(canon.Response) []byte) {
	s.active.add()
	streaming := false
	defer func() {
		if !streaming {
			s.active.done()
		}
	}()
	if c.flow == nil {
		// Decoded and built: fasthttp's body buffer goes back to its pool
		// now, not when the stream ends, and serves the next request.
		c.body = nil
		ctx.Request.ResetBody()
	}
	reqCtx, cancel := context.WithCancel(s.baseCtx)
	u, err := s.open(reqCtx, c)
	if err != nil {
		cancel()
		ae := mapError(err, c.built.InputEstimate, c.window)
		s.finish(c, nil, ae, nil)
		if ae.Status == 499 {
			ctx.SetConnectionClose()
			return
		}
		writeError(ctx, c.surf, ae)
		return
	}
	s.attachWebSearch(reqCtx, c, u) // hook: the web search loop (websearch.go)
	s.setTiming(ctx, c)
	stream := c.req.Stream
	// Failover is over: what only a retry needed can go, so an open stream
	// holds as little as possible (hundreds of streams may be open at once).
	c.req, c.built.ConversationState = nil, nil
	if !stream {
		defer cancel()
		var col canon.Collector
		for {
			evs, more := u.next()
			for _, ev := range evs {
				col.Add(ev)
			}
			if !more {
				break
			}
		}
		u.close()
		resp := col.Response()
		// A body that ends in an error is not the whole answer, and a 200
		// would present it as one; a web search loop's failure is the
		// request's too (websearch.go).
		if resp.Err != nil {
			ae := &apiError{Status: 502, Type: resp.Err.Type, Message: resp.Err.Message, Code: "upstream_error", Class: "stream"}
			s.finish(c, u, ae, nil)
			writeError(ctx, c.surf, ae)
			return
		}
		out := body(resp)
		ctx.SetStatusCode(fasthttp.StatusOK)
		ctx.SetContentType("application/json")
		ctx.SetBody(out)
		s.finish(c, u, nil, out)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("text/event-stream; charset=utf-8")
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	ctx.Response.Header.Set("X-Accel-Buffering", "no")
	streaming = true // the writer below ends the call
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		defer s.active.done()
		defer cancel()
		s.pump(reqCtx, cancel, w, c, u, enc)
	})
}

// pump copies the upstream to the client. It runs in fasthttp's stream
// writer, after the handler returned, and must not touch the RequestCtx.
func (s *Server) pump(ctx context.Context, cancel context.CancelFunc, w *bufio.Writer, c *call, u *upstream, enc encoder) {
	batches := make(chan []canon.Event, 8)
	go func() {
		defer close(batches)
		for {
			evs, more := u.next()
			if len(evs) > 0 {
				// The loop below receives until this channel closes, also
				// after the client went away or kirobar cut the stream, so
				// the last batch (a shutdown's error event) is never lost.
				batches <- evs
			}
			if !more {
				return
			}
		}
	}()
	var capture []byte
	capLimit := 0
	if c.flow != nil {
		capLimit = 256 << 10
	}
	buf := enc.Begin(make([]byte, 0, 4096))
	clientGone := false
	var failed *canon.StreamError
	write := func() {
		if clientGone || len(buf) == 0 {
			buf = buf[:0]
			return
		}
		if len(capture) < capLimit {
			n := min(len(buf), capLimit-len(capture))
			capture = append(capture, buf[:n]...)
		}
		if _, err := w.Write(buf); err != nil || w.Flush() != nil {
			clientGone = true
			cancel() // a client that hung up cancels the upstream
		}
		buf = buf[:0]
	}
	ping := time.NewTicker(s.cfg.PingInterval.D())
	defer ping.Stop()
	wrote := true
	for {
		select {
		case evs, ok := <-batches:
			if !ok {
				u.close()
				var ae *apiError
				if clientGone {
					ae = &apiError{Status: 499, Type: "api_error", Message: "the client closed the connection", Class: string(kiro.ClassCanceled)}
				} else if failed != nil {
					ae = &apiError{Status: 200, Type: failed.Type, Message: failed.Message, Class: "stream"}
				}
				s.finish(c, u, ae, capture)
				return
			}
			for {
				for _, ev := range evs {
					if ev.Kind == canon.Error {
						if ctx.Err() != nil && !clientGone {
							// Only Stop cancels a stream whose client is
							// still there: say so instead of "canceled".
							ev.Err = &canon.StreamError{Type: "api_error", Message: "kirobar is shutting down and cut this response after server.shutdown_grace; retry the request"}
						}
						failed = ev.Err
					}
					buf = enc.Event(buf, ev)
				}
				// Batches that are already waiting go out in the same
				// write: one flush instead of one per upstream frame when
				// the upstream is ahead of the client, and no delay when
				// it is not. A closed channel is seen by the outer select.
				if len(batches) == 0 {
					break
				}
				if evs, ok = <-batches; !ok {
					break
				}
			}
			write()
			wrote = true
		case <-ping.C:
			if !wrote {
				buf = enc.Ping(buf)
				write()
			}
			wrote = false
		}
	}
}

// setTiming adds Server-Timing: kirobar's own time and the upstream's time
// to first byte, so any client can see the proxy's overhead.
func (s *Server) setTiming(ctx *fasthttp.RequestCtx, c *call) {
	upstream := c.firstAt.Sub(c.sendAt)
	own := time.Since(c.start) - upstream
	ctx.Response.Header.Set("Server-Timing",
		"kirobar;dur="+strconv.FormatFloat(float64(own.Microseconds())/1000, 'f', 3, 64)+
			", upstream;dur="+strconv.FormatFloat(float64(upstream.Microseconds())/1000, 'f', 3, 64))
}

// finish releases the account and records the flow.
func (s *Server) finish(c *call, u *upstream, ae *apiError, response []byte) {
	var usage canon.Usage
	if u != nil {
		usage = u.usage()
		outcome := accounts.Outcome{Started: true, Credits: usage.Credits, InputTokens: usage.InputTokens, OutputTokens: usage.OutputTokens, Style: u.resp.Style}
		outcome.Err = u.outcomeErr()
		s.deps.Pool.Release(u.lease, outcome)
	}
	f := c.flow
	if f == nil || s.deps.Flows == nil {
		return
	}
	f.KiroModel = c.kiroModel
	f.Duration = time.Since(c.start)
	if !c.firstAt.IsZero() {
		f.TTFB = c.firstAt.Sub(c.start)
	}
	f.Response = response
	f.InputTokens, f.OutputTokens, f.Credits = usage.InputTokens, usage.OutputTokens, usage.Credits
	f.Status, f.HTTPStatus = flows.StatusCompleted, 200
	if u != nil {
		f.AccountID = u.lease.AccountID
		f.UpstreamEvents, f.EventsOmitted = u.events, u.omitted
		if cp := u.rawCapture(); cp != nil {
			f.Capture = cp // else keep what a failed earlier attempt left
		}
		f.StopReason = u.stop
	}
	if c.built != nil {
		f.Notes = append(f.Notes, c.built.Notes...) // what the builder changed, such as resized images
	}
	if u != nil {
		f.Notes = append(f.Notes, u.conv.Notes()...) // a cut stream, a refusal
	}
	if ae != nil {
		f.Status = flows.StatusFailed
		if ae.Status == 499 {
			f.Status = flows.StatusCancelled
		}
		if ae.Status != 200 {
			f.HTTPStatus = ae.Status
		}
		f.ErrorType, f.ErrorMessage, f.Retryable = ae.Type, ae.Message, ae.Retryable
	}
	s.deps.Flows.Record(f)
}
