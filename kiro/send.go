package kiro

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"syscall"

	"github.com/google/uuid"
)

// maxErrorBody bounds how much of an error response is read for
// classification.
const maxErrorBody = 64 << 10

// Response is an upstream answer with status 200: its body is the binary
// event stream.
type Response struct {
	// Style is the API style that answered; it differs from the requested
	// one after a fallback, so the caller can remember it per account.
	Style string
	// Body enforces the first-byte timeout until the first byte and the
	// idle timeout on each read after it; a timeout is a read error that
	// classifies as ClassTimeout. Close releases the connection and cancels
	// the request.
	Body io.ReadCloser
	// Sent is the exact body sent upstream (for flow records; it contains
	// no token).
	Sent []byte
}

// Send posts one generateAssistantResponse. conversationState is the
// already-built JSON object; Send wraps it as
// {"conversationState":…,"profileArn":…}, adding the members of each
// fields object (payload.Result.Fields, such as
// additionalModelRequestFields) at the top level, sending profileArn on the runtime
// style whenever it is known and on the ide style only for social accounts
// (Builder ID tokens are refused when it is present).
//
// It returns once the upstream answered 200, or a classified *Error. When the
// account's style finds no host (DNS) or answers 404, Send retries once with
// the other style and reports the one that worked in Response.Style.
func (c *Client) Send(ctx context.Context, cr Credentials, conversationState []byte, fields ...[]byte) (*Response, error) {
	style := cr.APIStyle
	if style == "" {
		style = c.cfg.APIStyle
	}
	if err := checkStyle(style); err != nil {
		return nil, &Error{Class: ClassBadRequest, Op: OpGenerate, Message: "account api style: " + err.Error()}
	}
	if err := checkCredentials(cr); err != nil {
		return nil, &Error{Class: ClassAuth, Op: OpGenerate, Message: err.Error()}
	}
	if err := checkObject(conversationState); err != nil {
		return nil, &Error{Class: ClassBadRequest, Op: OpGenerate, Message: err.Error()}
	}
	resp, err := c.send(ctx, cr, style, conversationState, fields)
	if err == nil || !styleMissing(err) {
		return resp, err
	}
	other := StyleIDE
	if style == StyleIDE {
		other = StyleRuntime
	}
	c.log.Info("kiro api style unavailable, trying the other one",
		"account", cr.AccountID, "style", style, "fallback", other, "error", err.Error())
	return c.send(ctx, cr, other, conversationState, fields)
}

// styleMissing reports whether an error means the style's endpoint does not
// exist (unresolvable host or 404), as opposed to a failure of the request.
func styleMissing(err error) bool {
	e, ok := AsError(err)
	if !ok {
		return false
	}
	var dns *net.DNSError
	return e.Class == ClassNotFound || e.Class == ClassNetwork && errors.As(e.Err, &dns)
}

// send makes one attempt with one style.
func (c *Client) send(ctx context.Context, cr Credentials, style string, state []byte, fields [][]byte) (*Response, error) {
	fail := func(e *Error) (*Response, error) { return nil, scrub(e, cr.AccessToken) }
	region, err := c.region(cr.Region)
	if err != nil {
		return fail(&Error{Class: ClassBadRequest, Op: OpGenerate, Message: err.Error()})
	}
	tmpl := c.cfg.APIURL
	if style == StyleIDE {
		tmpl = c.cfg.IDEURL
	}
	base, err := baseURL(tmpl, region)
	if err != nil {
		return fail(&Error{Class: ClassBadRequest, Op: OpGenerate, Message: "api url: " + err.Error()})
	}
	hc, err := c.httpClient(cr.Proxy)
	if err != nil {
		return fail(&Error{Class: ClassNetwork, Op: OpGenerate, Message: "account " + err.Error()})
	}
	arn := profileFor(style, cr)
	body := generateBody(state, arn, fields)

	reqCtx, cancel := context.WithCancelCause(ctx)
	first := c.cfg.FirstByteTimeout.D()
	w := newWatchdog(cancel, first, fmt.Sprintf("no response from upstream within %s", first))
	resp, err := c.post(reqCtx, hc, base+"/generateAssistantResponse", body, style, cr)
	if err != nil {
		w.disarm()
		cancel(err)
		e := failure(ctx, OpGenerate, w.firedWhat(), err)
		if e.Class == ClassNetwork {
			e.Message = unreachable(base, region, true)
		}
		return fail(e)
	}
	if resp.StatusCode != http.StatusOK {
		msg, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		_ = resp.Body.Close() // the body was read as far as needed; a close error changes nothing
		w.disarm()
		cancel(context.Canceled)
		if rerr != nil && len(msg) == 0 {
			return fail(failure(ctx, OpGenerate, w.firedWhat(), fmt.Errorf("read HTTP %d error body: %w", resp.StatusCode, rerr)))
		}
		e := Classify(resp.StatusCode, resp.Header, msg, OpGenerate)
		if e.Class == ClassForbidden && arn != "" && notAuthorized(e) {
			// The service refused the profile ARN the request named:
			// another account's, or the Builder ID placeholder where this
			// variant of the service does not take it (kiro-protocol.md
			// §11.1). The account's profile or style must change.
			e.Class = ClassProfileRefused
		}
		c.log.Debug("kiro upstream error", "account", cr.AccountID, "style", style, "status", resp.StatusCode, "class", e.Class)
		return fail(e)
	}
	return &Response{
		Style: style,
		Body: &streamBody{
			rc: resp.Body, ctx: ctx, cancel: cancel, w: w,
			idle: c.cfg.IdleTimeout.D(), op: OpGenerate,
		},
		Sent: body,
	}, nil
}

// post sends the request once, and once more when it failed on a pooled
// connection the upstream had already closed (it closes idle keep-alive
// connections on its own schedule; net/http does not replay a POST by
// itself). The retry is safe: a dead pooled connection fails before the
// upstream saw a request, and without it one stale connection costs a user
// a 502 and the account a breaker strike.
func (c *Client) post(ctx context.Context, hc *http.Client, url string, body []byte, style string, cr Credentials) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("build request: %w", err)
		}
		c.generateHeaders(req.Header, style, cr)
		var reused bool
		req = req.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
		}))
		resp, err := hc.Do(req)
		if err == nil || attempt > 0 || !reused || ctx.Err() != nil || !staleConn(err) {
			return resp, err
		}
		c.log.Debug("kiro: pooled connection was closed by the upstream; sending again on a new one", "account", cr.AccountID)
	}
}

// staleConn reports errors of writing to or reading from a connection the
// peer closed before answering.
func staleConn(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// checkObject refuses a conversationState that is not framed as one JSON
// object. It checks the framing only: the payload builder's output is valid
// JSON by construction (its fuzz test checks it), and a full json.Valid scan
// cost every request 0.2 ms per 50 KB of history (the profile of the load
// tool's Claude Code scenario). A body broken inside is refused by Kiro.
func checkObject(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return errors.New("conversationState is not a JSON object")
	}
	return nil
}

// profileFor is the profile ARN a generation of this style sends: the runtime host requires one from every account (kiro-protocol.md
// §11.1; the official client sends its profile on every
// generate_assistant_response, crates/chat-cli/src/api_client/mod.rs); on
// the q host only social accounts send it, as IdC and Builder ID tokens
// are refused there with one (hank9999/kiro.rs#161, §2.3).
func profileFor(style string, cr Credentials) string {
	if cr.ProfileARN != "" && (style == StyleRuntime || isSocial(cr.AuthMethod)) {
		return cr.ProfileARN
	}
	return ""
}

// generateBody wraps the conversation state as
// {"conversationState":…,"profileArn":…} plus the members of each of
// fields (one JSON object each, such as additionalModelRequestFields); an
// empty arn is left out.
func generateBody(state []byte, arn string, fields [][]byte) []byte {
	size := len(state) + len(arn) + 48
	for _, f := range fields {
		size += len(f)
	}
	b := make([]byte, 0, size)
	b = append(b, `{"conversationState":`...)
	b = append(b, bytes.TrimSpace(state)...)
	if arn != "" {
		enc, _ := json.Marshal(arn) // marshaling a string cannot fail
		b = append(b, `,"profileArn":`...)
		b = append(b, enc...)
	}
	for _, f := range fields {
		// f is one JSON object: its members join the top level.
		if f = bytes.TrimSpace(f); len(f) > 2 && f[0] == '{' && f[len(f)-1] == '}' {
			b = append(b, ',')
			b = append(b, f[1:len(f)-1]...)
		}
	}
	return append(b, '}')
}

// notAuthorized reports the service's "User is not authorized to make this
// call." refusal.
func notAuthorized(e *Error) bool {
	return strings.Contains(strings.ToLower(e.Message), "not authorized")
}

// generateHeaders sets the headers the Kiro IDE sends (kiro-protocol.md
// §1.2–1.4). No "Connection: close": connections are reused.
func (c *Client) generateHeaders(h http.Header, style string, cr Credentials) {
	if style == StyleRuntime {
		h.Set("Content-Type", "application/x-amz-json-1.0")
		h.Set("X-Amz-Target", "AmazonCodeWhispererStreamingService.GenerateAssistantResponse")
	} else {
		h.Set("Content-Type", "application/json")
	}
	agent := c.kiroAgent(cr.MachineID)
	h.Set("Authorization", "Bearer "+cr.AccessToken)
	h.Set("Accept", "*/*")
	h.Set("x-amzn-codewhisperer-optout", "true")
	h.Set("x-amzn-kiro-agent-mode", "vibe")
	h.Set("amz-sdk-invocation-id", uuid.NewString())
	h.Set("amz-sdk-request", "attempt=1; max=3")
	h.Set("x-amz-user-agent", "aws-sdk-js/1.0.34 "+agent)
	h.Set("User-Agent", "aws-sdk-js/1.0.34 ua/2.1 os/"+osToken(cr.MachineID)+
		" lang/js md/nodejs#22.22.0 api/codewhispererstreaming#1.0.34 m/E "+agent)
}
