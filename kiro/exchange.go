package kiro

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
)

// maxJSONBody bounds a JSON answer (token, usage, model list).
const maxJSONBody = 4 << 20

// exchange is one small request/response call (refresh, usage, models). The
// whole exchange is bounded by FirstByteTimeout. Any error is a *Error with
// the given secrets scrubbed.
type exchange struct {
	op      string
	method  string
	url     string
	proxy   string
	header  http.Header
	body    []byte // nil for GET
	secrets []string
	// region is the region the URL was made for and api whether it is
	// one of Kiro's API hosts; a network failure names both.
	region string
	api    bool
}

// do runs x and returns the 2xx body.
func (c *Client) do(ctx context.Context, x exchange) ([]byte, error) {
	fail := func(e *Error) ([]byte, error) { return nil, scrub(e, x.secrets...) }
	hc, err := c.httpClient(x.proxy)
	if err != nil {
		return fail(&Error{Class: ClassNetwork, Op: x.op, Message: "account " + err.Error()})
	}
	limit := c.cfg.FirstByteTimeout.D()
	reqCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(context.Canceled)
	w := newWatchdog(cancel, limit, fmt.Sprintf("no complete answer from upstream within %s", limit))
	defer w.disarm()

	var rd io.Reader
	if x.body != nil {
		rd = bytes.NewReader(x.body)
	}
	req, err := http.NewRequestWithContext(reqCtx, x.method, x.url, rd)
	if err != nil {
		return fail(&Error{Class: ClassBadRequest, Op: x.op, Message: "build request", Err: err})
	}
	for k, v := range x.header {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		e := failure(ctx, x.op, w.firedWhat(), err)
		if e.Class == ClassNetwork && x.region != "" {
			e.Message = unreachable(x.url, x.region, x.api)
		}
		return fail(e)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJSONBody))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fail(Classify(resp.StatusCode, resp.Header, body, x.op))
	}
	if err != nil {
		return fail(failure(ctx, x.op, w.firedWhat(), fmt.Errorf("read answer: %w", err)))
	}
	return body, nil
}
