package dashboard

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

const (
	// cookieName is the session cookie.
	cookieName = "kirobar_session"
	// csrfHeader carries the session's CSRF token on every POST.
	csrfHeader = "X-CSRF-Token"
	// signInPath takes a one-time token from LoginURL.
	signInPath = "/ui/signin"
	// oneTimeTTL is how long a LoginURL stays usable: long enough for a
	// browser to start, short enough that an old URL in a history file is
	// worthless (it is single-use anyway).
	oneTimeTTL = 2 * time.Minute
	// maxSessions bounds the session table; the oldest go first.
	maxSessions = 256
	// maxOneTime bounds outstanding one-time tokens.
	maxOneTime = 32
)

// session is one signed-in browser.
type session struct {
	csrf    string
	created time.Time
	expires time.Time
}

// auth keeps sessions and one-time tokens in memory: a restart signs
// every browser out, which is what a user expects of a local tool.
type auth struct {
	keys [][]byte
	now  func() time.Time
	ttl  time.Duration

	mu       sync.Mutex
	sessions map[string]*session
	tokens   map[string]time.Time
}

func newAuth(keys []string, now func() time.Time, ttl time.Duration) *auth {
	a := &auth{now: now, ttl: ttl, sessions: map[string]*session{}, tokens: map[string]time.Time{}}
	for _, k := range keys {
		if k != "" {
			a.keys = append(a.keys, []byte(k))
		}
	}
	return a
}

func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// oneTime issues a token that signs one browser in once.
func (a *auth) oneTime() (string, error) {
	tok, err := randomToken()
	if err != nil {
		return "", err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	for t, exp := range a.tokens {
		if !now.Before(exp) || len(a.tokens) >= maxOneTime {
			delete(a.tokens, t)
		}
	}
	a.tokens[tok] = now.Add(oneTimeTTL)
	return tok, nil
}

// consume redeems a one-time token; a second use fails.
func (a *auth) consume(tok string) bool {
	if tok == "" {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	exp, ok := a.tokens[tok]
	delete(a.tokens, tok)
	return ok && a.now().Before(exp)
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

// start creates a session and returns its id and CSRF token.
func (a *auth) start() (id string, s *session, err error) {
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
	s = &session{csrf: csrf, created: now, expires: now.Add(a.ttl)}
	a.prune(now)
	a.sessions[id] = s
	return id, s, nil
}

// prune drops expired sessions and, over the bound, the oldest ones.
func (a *auth) prune(now time.Time) {
	for id, s := range a.sessions {
		if !now.Before(s.expires) {
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

// lookup returns the live session named by the request's cookie.
func (a *auth) lookup(ctx *fasthttp.RequestCtx) (string, *session, bool) {
	id := string(ctx.Request.Header.Cookie(cookieName))
	if id == "" {
		return "", nil, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.sessions[id]
	if !ok {
		return "", nil, false
	}
	if !a.now().Before(s.expires) {
		delete(a.sessions, id)
		return "", nil, false
	}
	return id, s, true
}

// end signs a session out.
func (a *auth) end(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.sessions, id)
}

// setCookie sends the session cookie: HttpOnly so page scripts cannot read
// it, SameSite=Strict so no other site's page can send it.
func setCookie(ctx *fasthttp.RequestCtx, id string, maxAge time.Duration) {
	var c fasthttp.Cookie
	c.SetKey(cookieName)
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
	if !h.auth.consume(string(ctx.QueryArgs().Peek("token"))) {
		ctx.Redirect("/ui/#link-expired", fasthttp.StatusSeeOther)
		return
	}
	id, _, err := h.auth.start()
	if err != nil {
		writeError(ctx, fasthttp.StatusInternalServerError, err.Error())
		return
	}
	setCookie(ctx, id, h.deps.SessionTTL)
	ctx.Redirect("/ui/", fasthttp.StatusSeeOther)
}
