package dashboard

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

const (
	// cookiePrefix starts the session cookie's name; the listener's port
	// ends it. Browsers send a cookie to every port of a host, so two
	// kirobars (or kirobar and any other local server) share a cookie
	// jar: the port keeps each kirobar's session apart, and a session is
	// accepted only on the listener that issued it.
	cookiePrefix = "kirobar_session_"
	// csrfHeader carries the session's CSRF token on every POST.
	csrfHeader = "X-CSRF-Token"
	// signInPath takes a one-time token from LoginURL.
	signInPath = "/ui/signin"
	// oneTimeTTL is how long a LoginURL stays usable: long enough for a
	// browser to start, short enough that the URL, which sits in the
	// browser launcher's command line where other local users can read
	// it, is worthless soon after (it is single-use anyway).
	oneTimeTTL = time.Minute
	// maxSessions bounds the session table; the oldest go first.
	maxSessions = 256
	// maxOneTime bounds outstanding one-time tokens.
	maxOneTime = 32
)

// session is one signed-in browser.
type session struct {
	csrf    string
	port    int // the listener that issued it
	created time.Time
	expires time.Time // created + the absolute lifetime
	idle    time.Time // when it lapses unless used again
}

// auth keeps sessions and one-time tokens in memory: a restart signs
// every browser out, which is what a user expects of a local tool. A
// session lapses after idleTTL without use (each use renews it, and an
// open page's live-update stream keeps it in use) and ends after ttl in
// any case, so a cookie that leaked to another local server is soon
// worthless.
type auth struct {
	keys    [][]byte
	now     func() time.Time
	ttl     time.Duration
	idleTTL time.Duration

	mu       sync.Mutex
	sessions map[string]*session
	tokens   map[string]oneTimeToken
}

// oneTimeToken is an outstanding LoginURL token: it signs one browser in
// once, on the listener it was issued for.
type oneTimeToken struct {
	port    int
	expires time.Time
}

func newAuth(keys []string, now func() time.Time, ttl, idleTTL time.Duration) *auth {
	a := &auth{now: now, ttl: ttl, idleTTL: min(idleTTL, ttl), sessions: map[string]*session{}, tokens: map[string]oneTimeToken{}}
	for _, k := range keys {
		if k != "" {
			a.keys = append(a.keys, []byte(k))
		}
	}
	return a
}

// listenerPort is the port of the listener a request arrived on.
func listenerPort(ctx *fasthttp.RequestCtx) int {
	if ta, ok := ctx.LocalAddr().(*net.TCPAddr); ok {
		return ta.Port
	}
	return 0
}

// cookieNameFor is the session cookie's name on a listener port.
func cookieNameFor(port int) string {
	return cookiePrefix + strconv.Itoa(port)
}

func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// oneTime issues a token that signs one browser in once on port.
func (a *auth) oneTime(port int) (string, error) {
	tok, err := randomToken()
	if err != nil {
		return "", err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	for t, ot := range a.tokens {
		if !now.Before(ot.expires) || len(a.tokens) >= maxOneTime {
			delete(a.tokens, t)
		}
	}
	a.tokens[tok] = oneTimeToken{port: port, expires: now.Add(oneTimeTTL)}
	return tok, nil
}

// consume redeems a one-time token on port; its first use spends it,
// whether or not that use succeeds.
func (a *auth) consume(tok string, port int) bool {
	if tok == "" {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ot, ok := a.tokens[tok]
	delete(a.tokens, tok)
	return ok && a.now().Before(ot.expires) && (ot.port == 0 || ot.port == port)
}

// keyMatches compares key with every client key in constant time.
func (a *auth) keyMatches(key []byte) bool {
	if len(key) == 0 {
		return false
	}
	match := 0
	for _, k := range a.keys {
		match |= subtle.ConstantTimeCompare(key, k)
	}
	return match == 1
}

// start creates a session on port and returns its id and CSRF token.
func (a *auth) start(port int) (id string, s *session, err error) {
	id, err = randomToken()
	if err != nil {
		return "", nil, err
	}
	csrf, err := randomToken()
	if err != nil {
		return "", nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	s = &session{csrf: csrf, port: port, created: now, expires: now.Add(a.ttl), idle: now.Add(a.idleTTL)}
	a.prune(now)
	a.sessions[id] = s
	return id, s, nil
}

// live reports whether s is still valid at now.
func (s *session) live(now time.Time) bool {
	return now.Before(s.expires) && now.Before(s.idle)
}

// prune drops expired sessions and, over the bound, the oldest ones.
func (a *auth) prune(now time.Time) {
	for id, s := range a.sessions {
		if !s.live(now) {
			delete(a.sessions, id)
		}
	}
	for len(a.sessions) >= maxSessions {
		oldest, at := "", time.Time{}
		for id, s := range a.sessions {
			if oldest == "" || s.created.Before(at) {
				oldest, at = id, s.created
			}
		}
		delete(a.sessions, oldest)
	}
}

// lookup returns the live session named by the request's cookie for this
// listener, and renews it (the sliding part of its lifetime).
func (a *auth) lookup(ctx *fasthttp.RequestCtx) (string, *session, bool) {
	port := listenerPort(ctx)
	id := string(ctx.Request.Header.Cookie(cookieNameFor(port)))
	if id == "" {
		return "", nil, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.sessions[id]
	if !ok || s.port != port {
		return "", nil, false
	}
	now := a.now()
	if !s.live(now) {
		delete(a.sessions, id)
		return "", nil, false
	}
	s.idle = now.Add(a.idleTTL)
	return id, s, true
}

// touch renews a session still in use (an open live-update stream) and
// reports whether it is still live.
func (a *auth) touch(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.sessions[id]
	if !ok {
		return false
	}
	now := a.now()
	if !s.live(now) {
		delete(a.sessions, id)
		return false
	}
	s.idle = now.Add(a.idleTTL)
	return true
}

// end signs a session out.
func (a *auth) end(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.sessions, id)
}

// setCookie sends the session cookie for this listener: HttpOnly so page
// scripts cannot read it, SameSite=Strict so no other site's page can
// send it, no Domain so it stays with this host. maxAge <= 0 deletes it.
func setCookie(ctx *fasthttp.RequestCtx, id string, maxAge time.Duration) {
	var c fasthttp.Cookie
	c.SetKey(cookieNameFor(listenerPort(ctx)))
	c.SetValue(id)
	c.SetPath("/")
	c.SetHTTPOnly(true)
	c.SetSameSite(fasthttp.CookieSameSiteStrictMode)
	c.SetMaxAge(int(maxAge / time.Second))
	if maxAge <= 0 {
		c.SetMaxAge(-1)
	}
	ctx.Response.Header.SetCookie(&c)
}

// sameOrigin refuses requests another site's page started: a browser
// names the page's origin in Origin and says cross-site in Sec-Fetch-Site.
func sameOrigin(ctx *fasthttp.RequestCtx) bool {
	if site := string(ctx.Request.Header.Peek("Sec-Fetch-Site")); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	origin := string(ctx.Request.Header.Peek("Origin"))
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return u.Host == string(ctx.Host())
}

// csrfOK checks the request's CSRF token against the session's.
func csrfOK(ctx *fasthttp.RequestCtx, s *session) bool {
	got := ctx.Request.Header.Peek(csrfHeader)
	return len(got) > 0 && subtle.ConstantTimeCompare(got, []byte(s.csrf)) == 1 && sameOrigin(ctx)
}

// signInLink redeems the one-time token of a LoginURL, sets the session
// cookie and sends the browser on to /ui/ without the token in its URL.
func (h *Handler) signInLink(ctx *fasthttp.RequestCtx) {
	if !ctx.IsGet() {
		writeError(ctx, fasthttp.StatusMethodNotAllowed, "use GET")
		return
	}
	port := listenerPort(ctx)
	if !h.auth.consume(string(ctx.QueryArgs().Peek("token")), port) {
		ctx.Redirect("/ui/#link-expired", fasthttp.StatusSeeOther)
		return
	}
	id, _, err := h.auth.start(port)
	if err != nil {
		writeError(ctx, fasthttp.StatusInternalServerError, err.Error())
		return
	}
	setCookie(ctx, id, h.deps.SessionTTL)
	ctx.Redirect("/ui/", fasthttp.StatusSeeOther)
}
