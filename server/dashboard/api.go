package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/kirobar/kirobar/internal/reqbody"
)

// actionTimeout bounds an account action (refresh, check, import) started
// from a page.
const actionTimeout = 2 * time.Minute

// apiRoute is one JSON route.
type apiRoute struct {
	method string
	// public routes need no session (sign-in itself).
	public bool
	serve  func(h *Handler, ctx *fasthttp.RequestCtx, p params)
}

// params are the path segments a route pattern captured.
type params map[string]string

// apiRoutes maps "METHOD /pattern" to a handler; {name} captures one path
// segment. No two patterns match the same path (a test checks), so the
// map's order does not matter.
var apiRoutes = map[string]apiRoute{
	"GET /api/session":                  {serve: (*Handler).getSession},
	"POST /api/session":                 {public: true, serve: (*Handler).postSession},
	"POST /api/logout":                  {serve: (*Handler).postLogout},
	"GET /api/overview":                 {serve: (*Handler).getOverview},
	"GET /api/accounts":                 {serve: (*Handler).getAccounts},
	"POST /api/accounts/import":         {serve: (*Handler).postImport},
	"POST /api/accounts/add":            {serve: (*Handler).postAdd},
	"POST /api/accounts/login":          {serve: (*Handler).postLogin},
	"POST /api/accounts/check":          {serve: (*Handler).postCheckAll},
	"POST /api/accounts/{id}/refresh":   {serve: (*Handler).postRefresh},
	"POST /api/accounts/{id}/check":     {serve: (*Handler).postCheck},
	"POST /api/accounts/{id}/enable":    {serve: (*Handler).postEnable},
	"POST /api/accounts/{id}/disable":   {serve: (*Handler).postDisable},
	"POST /api/accounts/{id}/remove":    {serve: (*Handler).postRemove},
	"POST /api/accounts/{id}/relogin":   {serve: (*Handler).postRelogin},
	"POST /api/accounts/{id}/speedtest": {serve: (*Handler).postSpeedTest},
	"GET /api/logins/{id}":              {serve: (*Handler).getLogin},
	"POST /api/logins/{id}/cancel":      {serve: (*Handler).postLoginCancel},
	"GET /api/flows":                    {serve: (*Handler).getFlows},
	"GET /api/flows/{id}":               {serve: (*Handler).getFlow},
	"GET /api/flows/{id}/bundle":        {serve: (*Handler).getBundle},
	"GET /api/stats":                    {serve: (*Handler).getStats},
	"GET /api/events":                   {serve: (*Handler).getEvents},
}

// match finds the route for method and path.
func match(method, path string) (apiRoute, params, bool, bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	pathKnown := false
	for key, r := range apiRoutes {
		m, pattern, _ := strings.Cut(key, " ")
		p, ok := matchPattern(pattern, segs)
		if !ok {
			continue
		}
		pathKnown = true
		if m == method {
			r.method = m
			return r, p, true, true
		}
	}
	return apiRoute{}, nil, pathKnown, false
}

func matchPattern(pattern string, segs []string) (params, bool) {
	ps := strings.Split(strings.Trim(pattern, "/"), "/")
	if len(ps) != len(segs) {
		return nil, false
	}
	var p params
	for i, s := range ps {
		if strings.HasPrefix(s, "{") {
			if segs[i] == "" {
				return nil, false
			}
			if p == nil {
				p = params{}
			}
			p[s[1:len(s)-1]] = segs[i]
			continue
		}
		if s != segs[i] {
			return nil, false
		}
	}
	return p, true
}

// serveAPI authenticates, checks CSRF and dispatches.
func (h *Handler) serveAPI(ctx *fasthttp.RequestCtx, path string) {
	method := string(ctx.Method())
	if method == fasthttp.MethodHead {
		method = fasthttp.MethodGet
	}
	r, p, known, ok := match(method, path)
	if !ok {
		if known {
			writeError(ctx, fasthttp.StatusMethodNotAllowed, "method "+string(ctx.Method())+" is not allowed on "+path)
			return
		}
		writeError(ctx, fasthttp.StatusNotFound, "the dashboard has no API route "+path)
		return
	}
	if r.public {
		r.serve(h, ctx, p)
		return
	}
	_, s, signedIn := h.auth.lookup(ctx)
	if !signedIn {
		writeError(ctx, fasthttp.StatusUnauthorized, "sign in first: open the dashboard from the tray, or enter a client key from config.toml")
		return
	}
	if r.method == fasthttp.MethodPost && !csrfOK(ctx, s) {
		writeError(ctx, fasthttp.StatusForbidden, "missing or wrong CSRF token: reload the page")
		return
	}
	r.serve(h, ctx, p)
}

// actionContext bounds work a request waits for; it also ends when the
// dashboard closes. Handlers never pass the fasthttp.RequestCtx itself as
// a context.Context: its Done channel is the server's, read without a lock
// by goroutines (database/sql's) that may outlive the request.
func (h *Handler) actionContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(h.ctx, actionTimeout)
}

// apiErrorBody is the JSON of every API error.
type apiErrorBody struct {
	Error string `json:"error"`
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = fasthttp.StatusInternalServerError
		b, _ = json.Marshal(apiErrorBody{Error: "encode response: " + err.Error()})
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json; charset=utf-8")
	ctx.SetBody(b)
}

func writeError(ctx *fasthttp.RequestCtx, status int, msg string) {
	writeJSON(ctx, status, apiErrorBody{Error: msg})
}

// Body limits: a signed-in page's JSON (a pasted refresh token, a path)
// is small, and a sign-in form smaller still; few sign-ins are read at
// once, each within a few seconds.
const (
	maxAPIBody        = 1 << 20
	maxSignInBody     = 16 << 10
	maxSignInBodies   = 4
	signInBodyTimeout = 5 * time.Second
)

// writeBodyError answers a body kirobar would not or could not read.
func writeBodyError(ctx *fasthttp.RequestCtx, err error) {
	var ne net.Error
	switch {
	case errors.Is(err, reqbody.ErrTooLarge):
		writeError(ctx, fasthttp.StatusRequestEntityTooLarge, "request body is too large for the dashboard")
	case errors.Is(err, reqbody.ErrBusy):
		ctx.Response.Header.Set("Retry-After", "1")
		writeError(ctx, fasthttp.StatusServiceUnavailable, "too many sign-ins at once: try again in a second")
	case errors.As(err, &ne) && ne.Timeout():
		writeError(ctx, fasthttp.StatusRequestTimeout, "the request was not received in time")
	default:
		writeError(ctx, fasthttp.StatusBadRequest, "could not read the request body")
	}
}

// readJSON decodes a request body strictly. A body must be JSON: a page on
// another site cannot send that without a CORS preflight kirobar never
// answers.
func readJSON(ctx *fasthttp.RequestCtx, v any) bool {
	ct := bytes.ToLower(ctx.Request.Header.ContentType())
	if !bytes.HasPrefix(ct, []byte("application/json")) {
		writeError(ctx, fasthttp.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return false
	}
	if err := reqbody.Read(ctx, maxAPIBody); err != nil {
		writeBodyError(ctx, err)
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(ctx.PostBody()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, "bad request body: "+err.Error())
		return false
	}
	return true
}
