package server

import (
	"bytes"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/flows"
	"github.com/kirobar/kirobar/internal/jsonw"
	"github.com/kirobar/kirobar/internal/reqbody"
	"github.com/kirobar/kirobar/server/anthropic"
	"github.com/kirobar/kirobar/server/openai"
)

// surface is the client API a request speaks; errors go out in its format.
type surface uint8

const (
	surfAnthropic surface = iota
	surfOpenAI
	surfResponses
)

func (s surface) String() string {
	switch s {
	case surfOpenAI:
		return "openai"
	case surfResponses:
		return "responses"
	}
	return "anthropic"
}

// surfaceFor picks the error format for a request, also for paths kirobar
// does not serve: Anthropic clients send anthropic-version or x-api-key.
func surfaceFor(ctx *fasthttp.RequestCtx) surface {
	p := ctx.Path()
	switch {
	case bytes.HasPrefix(p, []byte("/v1/messages")):
		return surfAnthropic
	case bytes.HasPrefix(p, []byte("/v1/chat/")):
		return surfOpenAI
	case bytes.HasPrefix(p, []byte("/v1/responses")):
		return surfResponses
	}
	if len(ctx.Request.Header.Peek("anthropic-version")) > 0 || len(ctx.Request.Header.Peek("x-api-key")) > 0 {
		return surfAnthropic
	}
	return surfOpenAI
}

func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	defer closeUnread(ctx)
	if !s.hostAllowed(ctx) {
		writeError(ctx, surfaceFor(ctx), &apiError{Status: 403, Type: "permission_error", Message: "Host header does not name this kirobar: it answers to localhost, loopback addresses and server.allowed_hosts (by default, when listening beyond loopback, this machine's own addresses)"})
		return
	}
	if !originAllowed(ctx) {
		writeError(ctx, surfaceFor(ctx), &apiError{Status: 403, Type: "permission_error", Message: "requests from web pages of other origins are refused: kirobar serves local clients, not browsers"})
		return
	}
	if s.deps.Extra != nil && s.deps.Extra(ctx) {
		return
	}
	path := string(ctx.Path())
	method := string(ctx.Method())
	if path == "/health" {
		if method != fasthttp.MethodGet && method != fasthttp.MethodHead {
			methodNotAllowed(ctx, "GET")
			return
		}
		s.health(ctx)
		return
	}
	if path == "/metrics" && s.deps.Metrics != nil {
		s.metrics(ctx, method)
		return
	}
	route, ok := routes[path]
	if !ok && len(path) > len("/v1/models/") && path[:len("/v1/models/")] == "/v1/models/" {
		route, ok = routes["/v1/models/{id}"], true
	}
	if !ok {
		writeError(ctx, surfaceFor(ctx), &apiError{Status: 404, Type: "not_found_error", Message: "kirobar does not serve " + method + " " + path})
		return
	}
	if method != route.method {
		methodNotAllowed(ctx, route.method)
		return
	}
	keyName, ae := s.authorize(ctx)
	if ae != nil {
		writeError(ctx, surfaceFor(ctx), ae)
		return
	}
	if route.method == fasthttp.MethodPost && !isJSON(ctx.Request.Header.ContentType()) {
		writeError(ctx, surfaceFor(ctx), &apiError{Status: 415, Type: "invalid_request_error", Message: "Content-Type must be application/json"})
		return
	}
	// Only now, with the client known, is the body read.
	if err := reqbody.Read(ctx, s.cfg.MaxBodyMB<<20); err != nil {
		writeError(ctx, surfaceFor(ctx), s.readError(err))
		return
	}
	s.countRequest()
	route.handler(s, ctx, keyName, start)
}

// metrics serves /metrics behind the same client keys as the API, and
// does not count as a request of the day.
func (s *Server) metrics(ctx *fasthttp.RequestCtx, method string) {
	if method != fasthttp.MethodGet && method != fasthttp.MethodHead {
		methodNotAllowed(ctx, "GET")
		return
	}
	if _, ae := s.authorize(ctx); ae != nil {
		// The same answer as the API's, guesses counted by the same guard.
		writeError(ctx, surfaceFor(ctx), ae)
		return
	}
	s.deps.Metrics(ctx)
}

type route struct {
	method  string
	handler func(s *Server, ctx *fasthttp.RequestCtx, keyName string, start time.Time)
}

var routes = map[string]route{
	"/v1/messages":              {fasthttp.MethodPost, (*Server).handleMessages},
	"/v1/messages/count_tokens": {fasthttp.MethodPost, (*Server).handleCountTokens},
}

func isJSON(ct []byte) bool {
	if len(ct) == 0 {
		return true // curl -d without -H; the body is still parsed strictly
	}
	return bytes.HasPrefix(bytes.ToLower(ct), []byte("application/json"))
}

func methodNotAllowed(ctx *fasthttp.RequestCtx, allow string) {
	ctx.Response.Header.Set("Allow", allow)
	writeError(ctx, surfaceFor(ctx), &apiError{Status: 405, Type: "invalid_request_error", Message: "method " + string(ctx.Method()) + " is not allowed here; use " + allow})
}

// newCall starts a call and its flow record. Decoding copies what it keeps
// out of the body, so without flows the call reads fasthttp's buffer in
// place (serve hands it back before the upstream call). The flow record
// outlives the handler while fasthttp recycles its buffers, so with flows
// the call takes the body over (SwapBody) instead of copying it: a 50 KB
// request then lives once, not twice, until it is recorded.
func (s *Server) newCall(ctx *fasthttp.RequestCtx, surf surface, keyName string, start time.Time) *call {
	c := &call{
		surf:    surf,
		keyName: keyName,
		path:    string(ctx.Path()),
		body:    ctx.PostBody(),
		start:   start,
	}
	if s.deps.Flows != nil {
		c.body = ctx.Request.SwapBody(nil)
		c.flow = &flows.Flow{Time: start.UTC(), KeyName: keyName, Surface: surf.String(), Path: c.path, ClientRequest: c.body}
	}
	return c
}

func (s *Server) handleMessages(ctx *fasthttp.RequestCtx, keyName string, start time.Time) {
	c := s.newCall(ctx, surfAnthropic, keyName, start)
	c.id = newID("msg_")
	req, err := anthropic.Decode(c.body)
	if err != nil {
		s.reject(ctx, c, badRequest(err.Error()))
		return
	}
	if !s.accept(ctx, c, req) {
		return
	}
	model := req.Model // the closure must not keep the decoded request alive
	enc := anthropic.NewStream(c.id, model, c.built.InputEstimate)
	s.serve(ctx, c, enc, func(r canon.Response) []byte { return anthropic.MessageBody(r, c.id, model) })
}

// accept takes a decoded request into the call and builds its Kiro
// request; on failure it has answered the client and returns false.
func (s *Server) accept(ctx *fasthttp.RequestCtx, c *call, req *canon.Request) bool {
	c.req = req
	if c.flow != nil {
		c.flow.ID, c.flow.ClientModel, c.flow.Stream = c.id, req.Model, req.Stream
	}
	if ae := s.prepare(c); ae != nil {
		s.reject(ctx, c, ae)
		return false
	}
	return true
}

func (s *Server) handleCountTokens(ctx *fasthttp.RequestCtx, keyName string, start time.Time) {
	c := s.newCall(ctx, surfAnthropic, keyName, start)
	c.flow = nil // counting is local and free; not a flow
	req, err := anthropic.DecodeCountTokens(c.body)
	if err != nil {
		writeError(ctx, surfAnthropic, badRequest(err.Error()))
		return
	}
	c.req = req
	if ae := s.prepare(c); ae != nil {
		writeError(ctx, surfAnthropic, ae)
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(anthropic.CountTokensBody(c.built.InputEstimate))
}

// reject answers a request that failed before any upstream call and
// records it.
func (s *Server) reject(ctx *fasthttp.RequestCtx, c *call, ae *apiError) {
	if c.flow != nil {
		if c.flow.ID == "" {
			c.flow.ID = newID("req_")
		}
		s.recordRejected(c, ae)
	}
	writeError(ctx, c.surf, ae)
}

func (s *Server) recordRejected(c *call, ae *apiError) {
	f := c.flow
	f.Status, f.HTTPStatus = flows.StatusFailed, ae.Status
	f.ErrorType, f.ErrorMessage = ae.Type, ae.Message
	f.Duration = time.Since(c.start)
	s.deps.Flows.Record(f)
}

func (s *Server) health(ctx *fasthttp.RequestCtx) {
	ready, total := s.deps.Pool.Ready()
	status := "ok"
	msg := ""
	switch {
	case total == 0:
		status, msg = "no_accounts", s.deps.Hint
	case ready == 0:
		status, msg = "degraded", "no account can serve right now; see `kirobar accounts list`"
	}
	dst := append(make([]byte, 0, 256), `{"status":`...)
	dst = jsonw.String(dst, status)
	dst = append(dst, `,"version":`...)
	dst = jsonw.String(dst, s.deps.Version)
	dst = append(dst, `,"accounts":{"ready":`...)
	dst = jsonw.Int(dst, ready)
	dst = append(dst, `,"total":`...)
	dst = jsonw.Int(dst, total)
	dst = append(dst, '}')
	if msg != "" {
		dst = append(dst, `,"message":`...)
		dst = jsonw.String(dst, msg)
	}
	dst = append(dst, '}')
	ctx.SetContentType("application/json")
	ctx.SetBody(dst)
}

// writeError answers in the surface's own error format.
func writeError(ctx *fasthttp.RequestCtx, surf surface, e *apiError) {
	ctx.SetStatusCode(e.Status)
	ctx.SetContentType("application/json")
	if e.RetryAfter > 0 {
		secs := int((e.RetryAfter + time.Second - 1) / time.Second)
		ctx.Response.Header.Set("Retry-After", itoa(secs))
	}
	if surf == surfAnthropic {
		ctx.SetBody(anthropic.ErrorBody(e.Type, e.Message))
		return
	}
	ctx.SetBody(openAIErrorBody(e))
}

func itoa(n int) string { return string(jsonw.Int(nil, n)) }

// openAIErrorBody writes {"error":{"message","type","param","code"}}.
func openAIErrorBody(e *apiError) []byte {
	typ := openai.ErrorType(e.Status)
	if e.Code == "insufficient_quota" {
		typ = "insufficient_quota"
	}
	return openai.ErrorBody(e.Message, typ, e.Param, e.Code)
}

func errorTypeForStatus(status int) string {
	switch {
	case status == 413:
		return "request_too_large"
	case status >= 500:
		return "api_error"
	}
	return "invalid_request_error"
}
