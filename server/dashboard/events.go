package dashboard

import (
	"bufio"
	"encoding/json"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/kirobar/kirobar/flows"
)

// getEvents is the live-update stream (server-sent events): "flow" with
// each newly stored flow's row, "accounts" with the account list after
// any change, and a comment every PingInterval so a closed page is
// noticed (fasthttp reports a hang-up only as a failed flush). Each ping
// renews the session: an open page keeps its sign-in.
func (h *Handler) getEvents(ctx *fasthttp.RequestCtx, _ params) {
	sessionID, _, _ := h.auth.lookup(ctx)
	var rows <-chan flows.Row
	stopRows := func() {}
	if h.deps.Feed != nil {
		rows, stopRows = h.deps.Feed.Subscribe()
	}
	changes, stopChanges := h.deps.Accounts.Subscribe()
	serverDone := ctx.Done() // closes when the server shuts down
	closed := h.ctx.Done()
	ping := h.deps.PingInterval

	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("text/event-stream; charset=utf-8")
	ctx.Response.Header.Set("X-Accel-Buffering", "no")
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		defer stopRows()
		defer stopChanges()
		send := func(event string, v any) bool {
			b, err := json.Marshal(v)
			if err != nil {
				return false
			}
			_, _ = w.WriteString("event: " + event + "\ndata: ")
			_, _ = w.Write(b)
			_, _ = w.WriteString("\n\n")
			return w.Flush() == nil
		}
		_, _ = w.WriteString("retry: 3000\n\n")
		if !send("hello", map[string]time.Time{"now": h.deps.Now().UTC()}) {
			return
		}
		t := time.NewTicker(ping)
		defer t.Stop()
		for {
			ok := true
			select {
			case r, open := <-rows:
				if !open {
					rows = nil
					continue
				}
				ok = send("flow", flowRow{Row: r, Seq: r.Seq})
			case _, open := <-changes:
				if !open {
					changes = nil
					continue
				}
				ok = send("accounts", h.accountList())
			case <-t.C:
				// An open page is a session in use; a session that
				// ended (signed out, or past its lifetime) ends the
				// stream.
				if !h.auth.touch(sessionID) {
					return
				}
				_, _ = w.WriteString(": ping\n\n")
				ok = w.Flush() == nil
			case <-serverDone:
				return
			case <-closed:
				return
			}
			if !ok {
				return
			}
		}
	})
}
