package dashboard

import (
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// sessionInfo is what a signed-in page needs to start: the CSRF token for
// its POSTs and what this kirobar can do.
type sessionInfo struct {
	CSRF    string `json:"csrf"`
	Version string `json:"version"`
	// Flows is false when flow recording is off.
	Flows bool `json:"flows"`
	// Login is true when this kirobar can run the sign-in flows.
	Login bool `json:"login"`
}

func (h *Handler) info(s *session) sessionInfo {
	return sessionInfo{CSRF: s.csrf, Version: h.deps.Version, Flows: h.store != nil, Login: h.deps.Login != nil}
}

// getSession tells a page whether it is signed in, and its CSRF token.
func (h *Handler) getSession(ctx *fasthttp.RequestCtx, _ params) {
	_, s, _ := h.auth.lookup(ctx)
	writeJSON(ctx, fasthttp.StatusOK, h.info(s))
}

// signInRequest is the sign-in form.
type signInRequest struct {
	Key string `json:"key"`
}

// postSession signs in with a client key.
func (h *Handler) postSession(ctx *fasthttp.RequestCtx, _ params) {
	if !sameOrigin(ctx) {
		writeError(ctx, fasthttp.StatusForbidden, "sign-in must come from kirobar's own page")
		return
	}
	ip := h.deps.KeyGuard.Client(ctx.RemoteIP(), ctx.Request.Header.Peek("X-Forwarded-For"))
	if wait, ok := h.deps.KeyGuard.Allow(ip); !ok {
		secs := int((wait + time.Second - 1) / time.Second)
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(secs))
		writeError(ctx, fasthttp.StatusTooManyRequests, "too many wrong client keys from this address: try again in "+strconv.Itoa(secs)+" s")
		return
	}
	// The one body read before the client is known: small, and only a
	// few at once.
	if err := h.signIns.Read(ctx, maxSignInBody); err != nil {
		writeBodyError(ctx, err)
		return
	}
	var req signInRequest
	if !readJSON(ctx, &req) {
		return
	}
	if !h.auth.keyMatches([]byte(req.Key)) {
		h.deps.KeyGuard.Failed(ip, "/api/session")
		writeError(ctx, fasthttp.StatusUnauthorized, "that is not one of the client keys in server.api_keys of config.toml")
		return
	}
	id, s, err := h.auth.start(listenerPort(ctx))
	if err != nil {
		writeError(ctx, fasthttp.StatusInternalServerError, err.Error())
		return
	}
	setCookie(ctx, id, h.deps.SessionTTL)
	writeJSON(ctx, fasthttp.StatusOK, h.info(s))
}

// postLogout ends the session.
func (h *Handler) postLogout(ctx *fasthttp.RequestCtx, _ params) {
	if id, _, ok := h.auth.lookup(ctx); ok {
		h.auth.end(id)
	}
	setCookie(ctx, "", 0)
	writeJSON(ctx, fasthttp.StatusOK, map[string]bool{"ok": true})
}
