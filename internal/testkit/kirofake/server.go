package kirofake

import (
	"context"
	"errors"
	"fmt"
	"github.com/kirobar/kirobar/kiro/rules"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Server is a running fake. All methods are safe for concurrent use.
type Server struct {
	// URL is the base URL (http://127.0.0.1:port) every kirobar upstream URL
	// should point at. It is empty for a Server made by New and mounted with
	// Handler on a listener of the caller's.
	URL string

	opts    Options
	rules   *rules.Checker
	handler http.Handler

	srv       *http.Server
	serveDone chan struct{}
	closing   chan struct{}
	closeOnce sync.Once

	mu        sync.Mutex
	closed    bool
	inflight  sync.WaitGroup
	changed   chan struct{}
	queue     []Reply
	responder func(*Request) Reply
	requests  []Request
	calls     []Call
	stats     Stats
	seq       int

	accounts map[string]*accountState
	order    []string
	access   map[string]accessGrant // access token -> grant
	refresh  map[string]string      // refresh token -> account id
	clients  map[string]oidcClient  // client id -> registration
	devices  map[string]*deviceAuth // device code -> pending authorization
	scripts  [][]DeviceStep         // scripts for the next device authorizations
	codes    map[string]*authCode   // PKCE authorization codes

	mcp mcpState // web search (mcp.go)
}

// Stats counts what the fake saw. Maps are keyed by account ID (Rejections
// by rule). Stats returns a copy.
type Stats struct {
	// Generations is every generation request that reached the handler.
	Generations          int
	GenerationsByAccount map[string]int
	// Streams is generations answered with a 200 stream; Completed those
	// whose events were all written; Canceled those whose client went away
	// before the fake finished (during FirstByteDelay or mid-stream); Resets
	// those the fake cut with Event.CloseAfter.
	Streams   int
	Completed int
	Canceled  int
	Resets    int
	// Rejections counts generations refused by the fake, by rule.
	Rejections map[Rule]int
	// Throttled counts 429 answers per account.
	Throttled map[string]int
	// Refreshes counts successful token refreshes per account;
	// FailedRefreshes counts refused ones.
	Refreshes       map[string]int
	FailedRefreshes int
	// UsageChecks counts getUsageLimits calls per account; ModelListings
	// counts ListAvailableModels pages served.
	UsageChecks   map[string]int
	ModelListings int
	// ProfileListings counts ListAvailableProfiles calls.
	ProfileListings int
	// Unreachable counts calls to a host the real service does not have
	// in the region they named (see HostURLs).
	Unreachable int
	// Searches counts InvokeMCP calls, answered or refused.
	Searches int
	// DevicePolls counts device-code polls of /token; Logins counts
	// completed device and PKCE logins.
	DevicePolls int
	Logins      int
}

func newStats() Stats {
	return Stats{
		GenerationsByAccount: map[string]int{},
		Rejections:           map[Rule]int{},
		Throttled:            map[string]int{},
		Refreshes:            map[string]int{},
		UsageChecks:          map[string]int{},
	}
}

func (st Stats) clone() Stats {
	c := st
	c.GenerationsByAccount = cloneMap(st.GenerationsByAccount)
	c.Rejections = cloneMap(st.Rejections)
	c.Throttled = cloneMap(st.Throttled)
	c.Refreshes = cloneMap(st.Refreshes)
	c.UsageChecks = cloneMap(st.UsageChecks)
	return c
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	c := make(map[K]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// New makes a fake without a listener; mount Handler on your own server.
// Close still ends streams in progress and waits for handlers.
func New(opts Options) (*Server, error) {
	opts = opts.withDefaults()
	switch opts.Style {
	case StyleRuntime, StyleIDE, StyleAny:
	default:
		return nil, fmt.Errorf("kirofake: unknown style %q (want %s, %s or %s)", opts.Style, StyleRuntime, StyleIDE, StyleAny)
	}
	s := &Server{
		opts:     opts,
		closing:  make(chan struct{}),
		changed:  make(chan struct{}),
		stats:    newStats(),
		accounts: map[string]*accountState{},
		access:   map[string]accessGrant{},
		refresh:  map[string]string{},
		clients:  map[string]oidcClient{},
		devices:  map[string]*deviceAuth{},
		codes:    map[string]*authCode{},
	}
	s.rules = rules.NewChecker(opts.limits(), opts.Models)
	s.handler = s.track(s.hostRouter(s.routes()))
	return s, nil
}

// Start makes a fake and serves it on 127.0.0.1 at a free port.
func Start(opts Options) (*Server, error) {
	s, err := New(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("kirofake: listen on loopback: %w", err)
	}
	s.URL = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	s.serveDone = make(chan struct{})
	go func() {
		defer close(s.serveDone)
		// Serve returns http.ErrServerClosed after Close; any other error
		// means the listener died, and requests then fail visibly.
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Handler is the fake's HTTP handler, for a load tool that serves it on its
// own listener.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the fake: it refuses new requests, closes every connection,
// ends streams in progress and waits for all handlers to return. It is
// idempotent.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		if s.srv != nil {
			// Closing the connections first breaks streams in progress, as a
			// dying server does. Close reports only listener close errors,
			// which at teardown of a loopback listener have no remedy.
			_ = s.srv.Close()
			<-s.serveDone
		}
		close(s.closing)
		s.inflight.Wait()
	})
}

// track counts handlers in flight so Close can wait for them, and refuses
// requests once Close has begun.
func (s *Server) track(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			writeJSON(w, http.StatusServiceUnavailable, `{"message":"Service is shutting down."}`)
			return
		}
		s.inflight.Add(1)
		s.mu.Unlock()
		defer s.inflight.Done()
		next.ServeHTTP(w, r)
	})
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /generateAssistantResponse", only(s.handleGenerate, HostRuntime, HostQ))
	mux.HandleFunc("POST /{$}", only(s.handleRoot, HostRuntime, HostQ))
	mux.HandleFunc("POST /refreshToken", only(s.handleSocialRefresh, HostAuth))
	mux.HandleFunc("POST /token", only(s.handleToken, HostOIDC))
	// The runtime host has no usage or model listing (kiro-protocol.md
	// §7.2, §11.9).
	mux.HandleFunc("GET /getUsageLimits", only(s.handleUsageLimits, HostQ))
	mux.HandleFunc("GET /ListAvailableModels", only(s.handleListModels, HostQ))
	mux.HandleFunc("POST /client/register", only(s.handleRegisterClient, HostOIDC))
	mux.HandleFunc("POST /device_authorization", only(s.handleDeviceAuthorization, HostOIDC))
	mux.HandleFunc("GET /login", only(s.handleLogin, HostAuth))
	mux.HandleFunc("POST /oauth/token", only(s.handleOAuthToken, HostAuth))
	return mux
}

// Enqueue appends replies that the next generation calls answer, in order,
// before the responder is consulted.
func (s *Server) Enqueue(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, replies...)
}

// SetResponder sets the function that answers generations when the queue
// is empty; nil restores the default short text answer. fn runs
// concurrently for concurrent requests.
func (s *Server) SetResponder(fn func(r *Request) Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.responder = fn
}

// Requests returns the recorded generation requests, oldest first (at most
// Options.RecordLimit).
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Canceled is the number of generations whose client went away before the
// fake finished answering.
func (s *Server) Canceled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats.Canceled
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats.clone()
}

// WaitFor blocks until cond holds for the counters, or ctx ends. Tests use
// it instead of sleeping, for example to wait until a cancellation was
// observed: s.WaitFor(ctx, func(st Stats) bool { return st.Canceled == 1 }).
func (s *Server) WaitFor(ctx context.Context, cond func(Stats) bool) error {
	for {
		s.mu.Lock()
		ok := cond(s.stats.clone())
		changed := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("kirofake: wait for stats: %w", ctx.Err())
		}
	}
}

// update applies fn to the counters and wakes WaitFor callers.
func (s *Server) update(fn func(st *Stats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updateLocked(fn)
}

func (s *Server) updateLocked(fn func(st *Stats)) {
	fn(&s.stats)
	close(s.changed)
	s.changed = make(chan struct{})
}

// wait sleeps for d, or until the gate opens when gate is non-nil; it
// returns errClientGone when the client went away and errClosing when the
// fake is closing.
func (s *Server) wait(ctx context.Context, d time.Duration, gate <-chan struct{}) error {
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return errClientGone
		case <-s.closing:
			return errClosing
		}
	}
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return errClientGone
	case <-s.closing:
		return errClosing
	}
}

var (
	errClientGone = errors.New("client went away")
	errClosing    = errors.New("fake is closing")
)
