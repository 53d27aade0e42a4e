// Package dashboard serves kirobar's browser dashboard on the proxy's own
// listener: the static pages under /ui/ and their JSON API under /api/.
//
// The API is the same data the CLI and the tray use (accounts.View,
// flows.Row and flows.Details, flows.Stats). Every /api/ route but sign-in
// needs a session cookie (HttpOnly, SameSite=Strict); every state-changing
// route is a POST that must carry the session's CSRF token in the
// X-CSRF-Token header. No token or client key is ever part of a response:
// account tokens arrive already masked by accounts.View.
package dashboard

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
	"gorm.io/gorm"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/assets"
	"github.com/kirobar/kirobar/flows"
	"github.com/kirobar/kirobar/internal/keyguard"
	"github.com/kirobar/kirobar/internal/reqbody"
	"github.com/kirobar/kirobar/internal/team"
	"github.com/kirobar/kirobar/kiro/models"
	"github.com/kirobar/kirobar/server"
)

// Accounts is what the dashboard reads and changes in the account pool;
// *accounts.Manager implements it.
type Accounts interface {
	List() []accounts.View
	View(id string) (accounts.View, error)
	Refresh(ctx context.Context, ids ...string) error
	Check(ctx context.Context, ids []string, progress func(done, total int)) ([]accounts.CheckResult, error)
	SetEnabled(id string, on bool) error
	Remove(id string) error
	ImportPath(ctx context.Context, path string) ([]accounts.View, error)
	DefaultImportPath() string
	AddRefreshToken(ctx context.Context, r accounts.AddRequest) (accounts.View, error)
	Subscribe() (<-chan struct{}, func())
	Acquire(ctx context.Context, r accounts.AcquireRequest) (*accounts.Lease, error)
	Release(l *accounts.Lease, o accounts.Outcome)
}

// Server is the proxy's state as the overview shows it; *server.Server
// implements it.
type Server interface {
	Running() bool
	Addr() string
	RequestsToday() int
	// SpeedTest times one tiny request pinned to an account, through the
	// server's request path.
	SpeedTest(ctx context.Context, accountID string) server.SpeedResult
}

// Feed announces newly stored flows; *flows.Recorder implements it.
type Feed interface {
	Subscribe() (<-chan flows.Row, func())
}

// Team lists the kirobar instances sharing this one's store;
// *team.Registry implements it.
type Team interface {
	Self() team.Instance
	Peers() []team.Peer
	StoreUp() bool
}

// Deps are the parts of kirobar the dashboard works with.
type Deps struct {
	Accounts Accounts
	Server   Server
	Models   *models.Resolver
	// DB and Home locate the flow index and details; a nil DB means flows
	// are off and the flow pages say so.
	DB   *gorm.DB
	Home string
	// Feed streams new flows to open pages; it may be nil.
	Feed Feed
	// Team lists the instances of a team gateway; nil when this kirobar
	// keeps its state in its own kirobar.db.
	Team Team
	// Keys are the client keys the sign-in form accepts.
	Keys []string
	// KeyGuard counts failed key checks per client address, shared with
	// the API; nil: a new one.
	KeyGuard *keyguard.Guard
	// Bundle fills the diagnostic bundle's sections only main knows.
	Bundle flows.BundleExtras
	// Login runs a sign-in flow that adds an account (or signs one in
	// again); nil when this kirobar cannot sign in, and the page then
	// offers import and pasted refresh tokens only.
	Login   LoginFunc
	Version string
	Log     *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// SessionTTL is how long a sign-in lasts at most; 0 means 12 hours.
	SessionTTL time.Duration
	// SessionIdle is how long a sign-in lasts without use (each request,
	// and an open page's live-update stream, renews it); 0 means 30
	// minutes.
	SessionIdle time.Duration
	// PingInterval keeps live-update streams alive and notices closed
	// pages; 0 means 15 seconds.
	PingInterval time.Duration
}

// Handler serves the dashboard. Use Serve as server.Deps.Extra.
type Handler struct {
	deps   Deps
	store  *flows.Store
	static fs.FS
	auth   *auth
	logins *logins
	// signIns caps the sign-in bodies read at once: they are the only
	// bodies kirobar reads before it knows who sent them.
	signIns *reqbody.Gate

	ctx    context.Context // ends with Close: live streams and sign-ins stop
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a dashboard handler over deps.
func New(deps Deps) (*Handler, error) {
	if deps.Accounts == nil || deps.Server == nil {
		return nil, errors.New("dashboard: accounts and server are required")
	}
	if deps.Log == nil {
		deps.Log = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.SessionTTL <= 0 {
		deps.SessionTTL = 12 * time.Hour
	}
	if deps.SessionIdle <= 0 {
		deps.SessionIdle = 30 * time.Minute
	}
	if deps.PingInterval <= 0 {
		deps.PingInterval = 15 * time.Second
	}
	if deps.KeyGuard == nil {
		deps.KeyGuard = keyguard.New(deps.Log)
	}
	static, err := assets.UI()
	if err != nil {
		return nil, err
	}
	h := &Handler{deps: deps, static: static, auth: newAuth(deps.Keys, deps.Now, deps.SessionTTL, deps.SessionIdle),
		signIns: reqbody.NewGate(maxSignInBodies, signInBodyTimeout)}
	if deps.DB != nil {
		h.store = flows.NewStore(deps.DB, deps.Home)
		if deps.Team != nil {
			h.store = h.store.ForInstance(deps.Team.Self().Name)
		}
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.logins = newLogins(deps.Now)
	return h, nil
}

// Close ends open live-update streams and running sign-ins and waits for
// them.
func (h *Handler) Close() {
	h.cancel()
	h.wg.Wait()
}

// LoginURL returns a URL that opens the dashboard signed in: it carries a
// one-time token, valid for a minute on this listener, that its first
// use exchanges for a session cookie. The tray opens it; nobody should log
// or show it.
func (h *Handler) LoginURL() (string, error) {
	host := browserHost(h.deps.Server.Addr())
	port := 0
	if _, p, err := net.SplitHostPort(host); err == nil {
		port, _ = strconv.Atoi(p)
	}
	tok, err := h.auth.oneTime(port)
	if err != nil {
		return "", err
	}
	return "http://" + host + signInPath + "?token=" + tok, nil
}

// browserHost turns a listen address into one a local browser can open:
// an unspecified address (0.0.0.0, ::) becomes the loopback address.
func browserHost(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// Serve answers dashboard paths and reports whether it did; the proxy
// routes everything else.
func (h *Handler) Serve(ctx *fasthttp.RequestCtx) bool {
	path := string(ctx.Path())
	switch {
	case path == "/" || path == "/ui":
		if !ctx.IsGet() && !ctx.IsHead() {
			return false
		}
		secure(ctx)
		ctx.Redirect("/ui/", fasthttp.StatusFound)
		return true
	case path == signInPath:
		secure(ctx)
		h.signInLink(ctx)
		return true
	case strings.HasPrefix(path, "/ui/"):
		secure(ctx)
		h.serveStatic(ctx, strings.TrimPrefix(path, "/ui/"))
		return true
	case strings.HasPrefix(path, "/api/"):
		secure(ctx)
		ctx.Response.Header.Set("Cache-Control", "no-store")
		h.serveAPI(ctx, path)
		return true
	}
	return false
}

// contentSecurityPolicy allows nothing but kirobar's own files: no inline
// script, no other origin, no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// secure sets the headers every dashboard response carries.
func secure(ctx *fasthttp.RequestCtx) {
	hd := &ctx.Response.Header
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
}
