// Package server is kirobar's HTTP front: a fasthttp listener that checks
// client keys and Host headers, routes each API surface, and runs the
// request path from client to Kiro and back.
package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/flows"
	"github.com/kirobar/kirobar/internal/keyguard"
	"github.com/kirobar/kirobar/internal/reqbody"
	"github.com/kirobar/kirobar/kiro"
	"github.com/kirobar/kirobar/kiro/models"
	"github.com/kirobar/kirobar/kiro/payload"
)

// Pool is what the request path needs from the account pool.
type Pool interface {
	Acquire(ctx context.Context, r accounts.AcquireRequest) (*accounts.Lease, error)
	Release(l *accounts.Lease, o accounts.Outcome)
	// Recover fixes what made Kiro refuse a lease (a token to refresh, a
	// profile to resolve), so the request may retry on the same account.
	Recover(ctx context.Context, l *accounts.Lease, ke *kiro.Error) error
	Ready() (ready, total int)
	// ServedModels and ServedModelIDs are the models the accounts were
	// offered (each account's ListAvailableModels); empty until listed,
	// when the static table decides.
	ServedModels() []accounts.ServedModel
	ServedModelIDs() []string
}

// imageCacheBytes bounds the scaled-down images kept across requests: a
// few dozen screenshots at Kiro's size.
const imageCacheBytes = 16 << 20

// Upstream is Kiro: Send posts one generation (fields are extra top-level
// body members, payload.Result.Fields); WebSearch runs one search of the
// web search loop (websearch.go).
type Upstream interface {
	Send(ctx context.Context, cr kiro.Credentials, conversationState []byte, fields ...[]byte) (*kiro.Response, error)
	WebSearch(ctx context.Context, cr kiro.Credentials, query string) (*kiro.SearchResults, error)
}

// Recorder takes finished flows; it must not block.
type Recorder interface {
	Record(f *flows.Flow)
}

// Deps are the collaborators a Server uses.
type Deps struct {
	Pool     Pool
	Upstream Upstream
	Flows    Recorder // nil: flows are off
	Models   *models.Resolver
	// DefaultModel serves names no alias, table or family rule knows.
	DefaultModel string
	// MaxAttempts bounds failover before the first byte.
	MaxAttempts int
	Log         *slog.Logger
	Version     string
	// Hint tells a user how to add an account; shown by /health and in
	// errors while the pool is empty.
	Hint string
	// Extra serves paths outside the API (the dashboard under /ui/ and its
	// /api/ JSON routes). It runs after the Host check and before routing,
	// does its own authentication, and reports whether it answered.
	Extra func(ctx *fasthttp.RequestCtx) bool
	// Metrics serves GET /metrics (Prometheus's text format) to callers
	// with a client key, as the API routes are; nil: no /metrics.
	Metrics fasthttp.RequestHandler
	// KeyGuard counts failed key checks per client address; share one
	// with the dashboard so guesses on either count. nil: a new one.
	KeyGuard *keyguard.Guard
}

// Server is the proxy. Start and Stop may be called repeatedly (the tray
// toggles it); each Start uses a fresh fasthttp.Server.
type Server struct {
	cfg   Config
	deps  Deps
	keys  [][]byte
	hosts *hostGuard

	mu      sync.Mutex
	srv     *fasthttp.Server
	ln      net.Listener
	addr    string
	baseCtx context.Context
	cancel  context.CancelFunc
	done    chan struct{}
	lastErr error
	active  activeCalls
	today   atomic.Int64
	day     atomic.Int64
	images  *payload.ImageCache // scaled-down images, so history screenshots are scaled once
}

// New returns a stopped server.
func New(cfg Config, deps Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Pool == nil || deps.Upstream == nil || deps.Models == nil {
		return nil, errors.New("server: pool, upstream and models are required")
	}
	if deps.Log == nil {
		deps.Log = slog.Default()
	}
	if deps.MaxAttempts <= 0 {
		deps.MaxAttempts = 3
	}
	if deps.KeyGuard == nil {
		deps.KeyGuard = keyguard.New(deps.Log)
	}
	proxies, err := keyguard.ParseProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("server.trusted_proxies: %w", err)
	}
	deps.KeyGuard.TrustProxies(proxies)
	s := &Server{cfg: cfg, deps: deps, hosts: newHostGuard(cfg), images: payload.NewImageCache(imageCacheBytes)}
	for i, k := range cfg.APIKeys {
		s.keys = append(s.keys, []byte(k))
		if len(k) < StrongKeyLen {
			deps.Log.Warn("a client key is short enough to guess: replace it with one of "+strconv.Itoa(StrongKeyLen)+
				" characters or more, such as the output of `openssl rand -hex 24`",
				"key", "server.api_keys["+strconv.Itoa(i)+"]", "length", len(k))
		}
	}
	return s, nil
}

// Start binds the listener synchronously, so a busy port is an immediate
// error, then serves in the background.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		s.lastErr = fmt.Errorf("listen on %s: %w", s.cfg.Listen, err)
		return s.lastErr
	}
	srv := &fasthttp.Server{
		Handler:                       s.handle,
		Logger:                        fasthttpLogger{s.deps.Log},
		SecureErrorLogMessage:         true,
		Name:                          "kirobar",
		MaxRequestBodySize:            s.cfg.MaxBodyMB << 20,
		ReadTimeout:                   s.cfg.ReadTimeout.D(),
		IdleTimeout:                   s.cfg.IdleTimeout.D(),
		ReadBufferSize:                16 << 10,
		NoDefaultServerHeader:         true,
		DisableHeaderNamesNormalizing: false,
		CloseOnShutdown:               true,
		ErrorHandler:                  s.transportError,
		// The handler runs as soon as the headers are in: Host, Origin
		// and the client key are checked before any body is read, so a
		// client without a key cannot make kirobar hold its body.
		StreamRequestBody: true,
	}
	// A stream holds its connection for its whole life: without this it
	// also holds the 16 KB read buffer it no longer reads from, and every
	// idle keep-alive connection holds its read and write buffers (7 MB of
	// the heap at 256 streams in kirobench's heap profile). The buffers go
	// back to fasthttp's pools instead.
	srv.ReduceMemoryUsage = true
	s.baseCtx, s.cancel = context.WithCancel(context.Background())
	s.srv, s.ln, s.addr, s.lastErr = srv, ln, ln.Addr().String(), nil
	done := make(chan struct{})
	s.done = done
	go func() {
		defer close(done)
		if err := srv.Serve(lingerListener{ln}); err != nil {
			s.deps.Log.Error("server stopped", "err", err)
		}
	}()
	s.deps.Log.Info("kirobar listening", "addr", s.addr)
	return nil
}

// Stop stops accepting requests and lets open streams finish until ctx
// ends (at most ShutdownGrace); streams still open then are cut with an
// error event. Stop is idempotent.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	srv, cancel, done := s.srv, s.cancel, s.done
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	grace, stop := context.WithTimeout(ctx, s.cfg.ShutdownGrace.D())
	defer stop()
	err := srv.ShutdownWithContext(grace)
	cancel() // cuts streams still running: their upstream reads fail
	if err != nil {
		// Streams were cut; let their writers send the error event and
		// fasthttp write it out and close each connection. (A second
		// ShutdownWithContext would return at once: the listener is gone.)
		waitConnsClosed(ctx, srv)
	}
	<-done
	// Cut streams record their flows as their writers end; the caller
	// flushes the recorder next, so wait for them.
	if werr := s.active.wait(ctx); werr != nil {
		s.deps.Log.Warn("stopped before every request was recorded", "err", werr)
	}
	s.active.stopTrim()
	s.deps.Log.Info("kirobar stopped")
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("stop server: %w", err)
	}
	return nil
}

// Running reports whether the listener is up.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.srv != nil
}

// Addr is the bound address ("127.0.0.1:8999"), or the configured one when
// stopped.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.addr != "" {
		return s.addr
	}
	return s.cfg.Listen
}

// Err is the error that stopped or failed to start the server.
func (s *Server) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

// RequestsToday counts API requests since local midnight.
func (s *Server) RequestsToday() int {
	if s.day.Load() != dayNumber(time.Now()) {
		return 0
	}
	return int(s.today.Load())
}

// SeedRequestsToday starts today's count at n (the requests already
// recorded today), so a restart does not show the tray "0 requests today".
func (s *Server) SeedRequestsToday(n int) {
	s.day.Store(dayNumber(time.Now()))
	s.today.Store(int64(n))
}

func (s *Server) countRequest() {
	d := dayNumber(time.Now())
	if s.day.Swap(d) != d {
		s.today.Store(0)
	}
	s.today.Add(1)
}

func dayNumber(t time.Time) int64 {
	y, m, d := t.Date()
	return int64(y)*400 + int64(m)*32 + int64(d)
}

// transportError answers a request fasthttp could not read. The rest of
// such a request may still be on its way, so the connection drains it
// before closing (see lingerConn).
func (s *Server) transportError(ctx *fasthttp.RequestCtx, err error) {
	markLinger(ctx)
	writeError(ctx, surfaceFor(ctx), s.readError(err))
}

// readError is the answer to a request kirobar could not read whole.
func (s *Server) readError(err error) *apiError {
	status := fasthttp.StatusBadRequest
	msg := "kirobar could not read the request: " + err.Error()
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge), errors.Is(err, reqbody.ErrTooLarge):
		status = fasthttp.StatusRequestEntityTooLarge
		msg = "request body is larger than server.max_body_mb (" + strconv.Itoa(s.cfg.MaxBodyMB) + " MB)"
	case isTimeout(err):
		status = fasthttp.StatusRequestTimeout
		msg = "the request was not received in time"
	case errors.As(err, &small):
		status = fasthttp.StatusRequestHeaderFieldsTooLarge
		msg = "request headers are too large"
	}
	return &apiError{Status: status, Type: errorTypeForStatus(status), Message: msg}
}

// markLinger makes the request's connection drain unread input before it
// closes.
func markLinger(ctx *fasthttp.RequestCtx) {
	if lc, ok := ctx.Conn().(*lingerConn); ok {
		lc.markLinger()
	}
}

// closeUnread closes the connection of a request answered without reading
// its body: those bytes are not the next request. The connection drains
// them first (bounded), so the client reads the answer, not a reset.
func closeUnread(ctx *fasthttp.RequestCtx) {
	if reqbody.Unread(ctx) {
		ctx.SetConnectionClose()
		markLinger(ctx)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// authorize checks the client key in constant time. A client address
// that presented too many wrong keys has its checks refused for a while
// (429 with Retry-After), so keys cannot be guessed at speed.
func (s *Server) authorize(ctx *fasthttp.RequestCtx) (keyName string, ae *apiError) {
	key := ctx.Request.Header.Peek("x-api-key")
	if len(key) == 0 {
		auth := ctx.Request.Header.Peek("Authorization")
		if len(auth) > 7 && (string(auth[:7]) == "Bearer " || string(auth[:7]) == "bearer ") {
			key = auth[7:]
		}
	}
	if len(key) == 0 {
		return "", errNoKey
	}
	ip := s.deps.KeyGuard.Client(ctx.RemoteIP(), ctx.Request.Header.Peek("X-Forwarded-For"))
	if wait, ok := s.deps.KeyGuard.Allow(ip); !ok {
		return "", tooManyWrongKeys(wait)
	}
	match := -1
	for i, k := range s.keys {
		if subtle.ConstantTimeCompare(key, k) == 1 {
			match = i
		}
	}
	if match < 0 {
		s.deps.KeyGuard.Failed(ip, string(ctx.Path()))
		return "", errNoKey
	}
	return "key" + strconv.Itoa(match+1), nil
}

// errNoKey answers a request without a valid client key.
var errNoKey = &apiError{Status: 401, Type: "authentication_error", Code: "invalid_api_key", Message: "invalid or missing client key: send one of server.api_keys from kirobar's config.toml as x-api-key or Authorization: Bearer"}

// tooManyWrongKeys answers a client address the key guard holds back.
func tooManyWrongKeys(wait time.Duration) *apiError {
	secs := int((wait + time.Second - 1) / time.Second)
	return &apiError{Status: 429, Type: "rate_limit_error", Code: "rate_limit_exceeded", RetryAfter: wait,
		Message: "too many wrong client keys from this address: kirobar checks no key from it for " + strconv.Itoa(secs) + " s"}
}

// hostAllowed defeats DNS rebinding: a browser page on evil.example that
// resolves to this machine still sends Host: evil.example.
func (s *Server) hostAllowed(ctx *fasthttp.RequestCtx) bool {
	return s.hosts.allow(string(ctx.Host()))
}

// originAllowed refuses requests a web page of another origin makes from
// the user's browser. Coding agents and SDKs send no Origin header; a
// browser sends one on every cross-origin request (and on same-origin
// POSTs), so only kirobar's own pages, whose origin is the Host they
// talk to, pass. kirobar never answers with CORS headers either, so a
// browser would not let a foreign page read a response even if one got
// through; refusing here also stops the request from running at all.
func originAllowed(ctx *fasthttp.RequestCtx) bool {
	origin := ctx.Request.Header.Peek("Origin")
	if len(origin) == 0 {
		return true
	}
	u, err := url.Parse(string(origin))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false // "null" (sandboxed frames, file: pages) and junk
	}
	return strings.EqualFold(u.Host, string(ctx.Host()))
}

// waitConnsClosed polls until the server has no open connection or ctx
// ends.
func waitConnsClosed(ctx context.Context, srv *fasthttp.Server) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for srv.GetOpenConnectionsCount() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
