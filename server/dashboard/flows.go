package dashboard

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/kirobar/kirobar/flows"
)

const (
	// defaultPage and maxPage bound one page of the flow list.
	defaultPage = 50
	maxPage     = 200
)

// flowRow is a flow's index row with its cursor: pass the last row's seq
// as before= to get the next page.
type flowRow struct {
	flows.Row
	Seq int64 `json:"seq"`
}

// flowPage is GET /api/flows.
type flowPage struct {
	Flows []flowRow `json:"flows"`
	// Next is the before= cursor of the next page; 0 when this is the last.
	Next int64 `json:"next"`
}

// flowsOff answers the flow routes when recording is off.
func (h *Handler) flowsOff(ctx *fasthttp.RequestCtx) bool {
	if h.store != nil {
		return false
	}
	writeError(ctx, fasthttp.StatusNotFound, "flow recording is off (flows.enabled = false in config.toml)")
	return true
}

// parseFilter reads the flow list's query: status, model, account, key,
// since and until (RFC 3339 times, or since as a duration back from now
// such as 1h), before (a cursor) and limit.
func (h *Handler) parseFilter(ctx *fasthttp.RequestCtx) (flows.Filter, error) {
	q := ctx.QueryArgs()
	f := flows.Filter{
		Status:  string(q.Peek("status")),
		Model:   string(q.Peek("model")),
		Account: string(q.Peek("account")),
		KeyName: string(q.Peek("key")),
		Limit:   defaultPage,
	}
	var err error
	if f.Since, err = h.parseTime(string(q.Peek("since"))); err != nil {
		return f, errors.New("since: " + err.Error())
	}
	if f.Until, err = h.parseTime(string(q.Peek("until"))); err != nil {
		return f, errors.New("until: " + err.Error())
	}
	if s := string(q.Peek("before")); s != "" {
		if f.Before, err = strconv.ParseInt(s, 10, 64); err != nil || f.Before < 0 {
			return f, errors.New("before must be a flow's seq")
		}
	}
	if s := string(q.Peek("limit")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return f, errors.New("limit must be a positive number")
		}
		f.Limit = min(n, maxPage)
	}
	return f, nil
}

// parseTime reads an RFC 3339 time, or a duration back from now ("90m",
// "7d").
func (h *Handler) parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := parseSpan(s)
	if err != nil {
		return time.Time{}, errors.New("want an RFC 3339 time or a duration such as 1h or 7d")
	}
	return h.deps.Now().Add(-d), nil
}

// parseSpan is time.ParseDuration plus whole days ("7d").
func parseSpan(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 1 {
			return 0, errors.New("bad day count")
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errors.New("bad duration")
	}
	return d, nil
}

func (h *Handler) getFlows(ctx *fasthttp.RequestCtx, _ params) {
	if h.flowsOff(ctx) {
		return
	}
	f, err := h.parseFilter(ctx)
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	qctx, cancel := h.actionContext()
	defer cancel()
	rows, err := h.store.List(qctx, f)
	if err != nil {
		writeError(ctx, fasthttp.StatusInternalServerError, err.Error())
		return
	}
	page := flowPage{Flows: make([]flowRow, 0, len(rows))}
	for _, r := range rows {
		page.Flows = append(page.Flows, flowRow{Row: r, Seq: r.Seq})
	}
	if len(rows) == f.Limit {
		page.Next = rows[len(rows)-1].Seq
	}
	writeJSON(ctx, fasthttp.StatusOK, page)
}

// flowDetail is GET /api/flows/{id}: the index row and the details line
// (client request, upstream request, response, upstream events, raw
// capture), all redacted when they were written.
type flowDetail struct {
	Row     flowRow       `json:"row"`
	Details flows.Details `json:"details"`
	// Elsewhere names the team instance that keeps the details, when
	// another instance served the flow.
	Elsewhere string `json:"elsewhere,omitempty"`
}

func (h *Handler) getFlow(ctx *fasthttp.RequestCtx, p params) {
	if h.flowsOff(ctx) {
		return
	}
	qctx, cancel := h.actionContext()
	defer cancel()
	row, d, err := h.store.Get(qctx, p["id"])
	if errors.Is(err, flows.ErrDetailsElsewhere) {
		// Another instance of the team served it: the row is all there is.
		writeJSON(ctx, fasthttp.StatusOK, flowDetail{Row: flowRow{Row: row, Seq: row.Seq}, Elsewhere: row.Instance})
		return
	}
	if err != nil {
		flowError(ctx, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, flowDetail{Row: flowRow{Row: row, Seq: row.Seq}, Details: d})
}

func flowError(ctx *fasthttp.RequestCtx, err error) {
	switch {
	case errors.Is(err, flows.ErrNotFound):
		writeError(ctx, fasthttp.StatusNotFound, err.Error())
		return
	case errors.Is(err, flows.ErrAmbiguous):
		writeError(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	writeError(ctx, fasthttp.StatusInternalServerError, err.Error())
}

// getBundle downloads the flow's diagnostic bundle, the same zip
// `kirobar flows bundle` writes.
func (h *Handler) getBundle(ctx *fasthttp.RequestCtx, p params) {
	if h.flowsOff(ctx) {
		return
	}
	qctx, cancel := h.actionContext()
	defer cancel()
	zip, row, err := flows.Bundle(qctx, h.store, p["id"], h.deps.Bundle, h.deps.Now())
	if err != nil {
		flowError(ctx, err)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("application/zip")
	ctx.Response.Header.Set("Content-Disposition", `attachment; filename="kirobar-flow-`+safeName(row.ID)+`.zip"`)
	ctx.SetBody(zip)
}

// safeName keeps an id usable inside a quoted file name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, s)
}
