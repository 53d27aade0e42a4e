package kiro

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/kirobar/kirobar/internal/duration"
)

func TestSendHeadersPerStyle(t *testing.T) {
	for _, tc := range []struct {
		style       string
		contentType string
		target      string
	}{
		{StyleRuntime, "application/x-amz-json-1.0", "AmazonCodeWhispererStreamingService.GenerateAssistantResponse"},
		{StyleIDE, "application/json", ""},
	} {
		t.Run(tc.style, func(t *testing.T) {
			srv, rec := newUpstream(t, streamOK(t, "Hel", "lo"))
			c, _ := newTestClient(t, testConfig(srv, srv))
			cr := creds()
			cr.APIStyle = tc.style
			resp, err := c.Send(context.Background(), cr, []byte(testState))
			if err != nil {
				t.Fatal(err)
			}
			got := readTexts(t, resp.Body)
			if err := resp.Body.Close(); err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "") != `{"content":"Hel"}{"content":"lo"}` {
				t.Fatalf("stream %q", got)
			}
			if resp.Style != tc.style {
				t.Fatalf("style %q, want %q", resp.Style, tc.style)
			}
			reqs := rec.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			r := reqs[0]
			if r.Method != http.MethodPost || r.Path != "/generateAssistantResponse" {
				t.Fatalf("%s %s", r.Method, r.Path)
			}
			if string(r.Body) != string(resp.Sent) {
				t.Fatalf("Sent differs from what the upstream received:\n%s\n%s", resp.Sent, r.Body)
			}
			if strings.Contains(string(resp.Sent), testAccessToken) {
				t.Fatal("Sent contains the access token")
			}
			want := map[string]string{
				"Content-Type":                tc.contentType,
				"X-Amz-Target":                tc.target,
				"Authorization":               "Bearer " + testAccessToken,
				"Accept":                      "*/*",
				"X-Amzn-Codewhisperer-Optout": "true",
				"X-Amzn-Kiro-Agent-Mode":      "vibe",
				"Amz-Sdk-Request":             "attempt=1; max=3",
				"X-Amz-User-Agent":            "aws-sdk-js/1.0.34 KiroIDE-" + DefaultKiroVersion + "-" + testMachineID,
			}
			for k, v := range want {
				if got := r.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			ua := r.Header.Get("User-Agent")
			if !strings.HasPrefix(ua, "aws-sdk-js/1.0.34 ua/2.1 os/") || !strings.HasSuffix(ua, "api/codewhispererstreaming#1.0.34 m/E KiroIDE-"+DefaultKiroVersion+"-"+testMachineID) {
				t.Errorf("User-Agent %q", ua)
			}
			if _, err := uuid.Parse(r.Header.Get("Amz-Sdk-Invocation-Id")); err != nil {
				t.Errorf("invocation id %q: %v", r.Header.Get("Amz-Sdk-Invocation-Id"), err)
			}
			if r.Close || r.Header.Get("Connection") != "" {
				t.Errorf("request asked to close the connection")
			}
		})
	}
}

func TestSendFreshInvocationIDAndConnectionReuse(t *testing.T) {
	rec := &recorder{answer: streamOK(t, "x")}
	srv := httptest.NewUnstartedServer(rec)
	var conns atomic.Int32
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c, _ := newTestClient(t, testConfig(srv, srv))
	for range 3 {
		resp, err := c.Send(context.Background(), creds(), []byte(testState))
		if err != nil {
			t.Fatal(err)
		}
		readTexts(t, resp.Body)
		if err := resp.Body.Close(); err != nil {
			t.Fatal(err)
		}
	}
	ids := map[string]bool{}
	for _, r := range rec.requests() {
		ids[r.Header.Get("Amz-Sdk-Invocation-Id")] = true
	}
	if len(ids) != 3 {
		t.Fatalf("invocation ids not unique: %v", ids)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("3 sequential streams used %d connections, want 1", n)
	}
}

func TestProfileARNRules(t *testing.T) {
	for _, tc := range []struct {
		style, auth, arn string
		want             bool
	}{
		{StyleRuntime, AuthSocial, testProfileARN, true},
		{StyleRuntime, AuthIdC, testProfileARN, true},
		{StyleRuntime, AuthIdC, "", false},
		{StyleIDE, AuthSocial, testProfileARN, true},
		{StyleIDE, "Social", testProfileARN, true},
		{StyleIDE, AuthIdC, testProfileARN, false},
		{StyleIDE, "builder-id", testProfileARN, false},
	} {
		t.Run(tc.style+"/"+tc.auth+"/"+tc.arn, func(t *testing.T) {
			srv, rec := newUpstream(t, streamOK(t, "x"))
			c, _ := newTestClient(t, testConfig(srv, srv))
			cr := creds()
			cr.APIStyle, cr.AuthMethod, cr.ProfileARN = tc.style, tc.auth, tc.arn
			resp, err := c.Send(context.Background(), cr, []byte(" "+testState+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			var body map[string]json.RawMessage
			if err := json.Unmarshal(rec.requests()[0].Body, &body); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if string(body["conversationState"]) != testState {
				t.Fatalf("conversationState %s", body["conversationState"])
			}
			arn, has := body["profileArn"]
			if has != tc.want || has && string(arn) != `"`+testProfileARN+`"` {
				t.Fatalf("profileArn present=%v (%s), want %v", has, arn, tc.want)
			}
		})
	}
}

func TestStyleFallback(t *testing.T) {
	for _, tc := range []struct {
		name          string
		primary       func(w http.ResponseWriter, r *http.Request, n int) // nil = unresolvable host
		style         string
		wantStyle     string
		wantClass     Class
		wantFallbacks int
	}{
		{"runtime 404 falls back to ide", status(404, `{"message":"not found"}`), StyleRuntime, StyleIDE, "", 1},
		{"runtime host unresolvable", nil, StyleRuntime, StyleIDE, "", 1},
		{"ide 404 falls back to runtime", status(404, ``), StyleIDE, StyleRuntime, "", 1},
		{"400 does not fall back", status(400, `{"message":"Improperly formed request.","reason":null}`), StyleRuntime, "", ClassBadRequest, 0},
		{"403 does not fall back", status(403, `{"message":"The bearer token included in the request is invalid."}`), StyleRuntime, "", ClassAuth, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			secondary, secRec := newUpstream(t, streamOK(t, "ok"))
			cfg := testConfig(nil, nil)
			primaryURL := "http://kirobar-nohost.invalid"
			var primRec *recorder
			if tc.primary != nil {
				var prim *httptest.Server
				prim, primRec = newUpstream(t, tc.primary)
				primaryURL = prim.URL
			}
			if tc.style == StyleRuntime {
				cfg.APIURL, cfg.IDEURL = primaryURL, secondary.URL
			} else {
				cfg.IDEURL, cfg.APIURL = primaryURL, secondary.URL
			}
			c, _ := newTestClient(t, cfg)
			cr := creds()
			cr.APIStyle = tc.style
			resp, err := c.Send(context.Background(), cr, []byte(testState))
			if got := len(secRec.requests()); got != tc.wantFallbacks {
				t.Fatalf("fallback requests %d, want %d", got, tc.wantFallbacks)
			}
			if primRec != nil && len(primRec.requests()) != 1 {
				t.Fatalf("primary requests %d", len(primRec.requests()))
			}
			if tc.wantClass != "" {
				mustError(t, err, tc.wantClass)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.Style != tc.wantStyle {
				t.Fatalf("style %q, want %q", resp.Style, tc.wantStyle)
			}
			if got := readTexts(t, resp.Body); len(got) != 1 {
				t.Fatalf("stream %q", got)
			}
			// The fallback request follows the other style's rules.
			r := secRec.requests()[0]
			if (r.Header.Get("X-Amz-Target") != "") != (tc.wantStyle == StyleRuntime) {
				t.Fatalf("fallback request headers do not match style %s: %v", tc.wantStyle, r.Header)
			}
		})
	}
}

func TestFallbackBothMissing(t *testing.T) {
	a, _ := newUpstream(t, status(404, `{"message":"no such route"}`))
	b, bRec := newUpstream(t, status(404, `{"message":"nothing here either"}`))
	c, _ := newTestClient(t, testConfig(a, b))
	_, err := c.Send(context.Background(), creds(), []byte(testState))
	e := mustError(t, err, ClassNotFound)
	if len(bRec.requests()) != 1 || e.Message != "nothing here either" {
		t.Fatalf("fallback not tried once: %d requests, %v", len(bRec.requests()), e)
	}
}

func TestSendUpstreamErrorsOverHTTP(t *testing.T) {
	for _, tc := range []struct {
		code       int
		header     map[string]string
		body       string
		want       Class
		reason     string
		retryAfter time.Duration
	}{
		{429, map[string]string{"Retry-After": "7"}, `{"message":"Too many requests, please wait before trying again.","reason":"SERVICE_REQUEST_RATE_EXCEEDED"}`, ClassThrottled, "SERVICE_REQUEST_RATE_EXCEEDED", 7 * time.Second},
		{402, nil, `{"message":"You have reached the limit.","reason":"MONTHLY_REQUEST_COUNT"}`, ClassQuota, "MONTHLY_REQUEST_COUNT", 0},
		{400, nil, `{"message":"Input is too long.","reason":"CONTENT_LENGTH_EXCEEDS_THRESHOLD"}`, ClassContextTooLong, "CONTENT_LENGTH_EXCEEDS_THRESHOLD", 0},
		{503, map[string]string{"Retry-After": "2"}, `<html>Service Unavailable</html>`, ClassServer, "", 2 * time.Second},
	} {
		t.Run(http.StatusText(tc.code), func(t *testing.T) {
			srv, _ := newUpstream(t, func(w http.ResponseWriter, r *http.Request, n int) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				status(tc.code, tc.body)(w, r, n)
			})
			c, _ := newTestClient(t, testConfig(srv, srv))
			_, err := c.Send(context.Background(), creds(), []byte(testState))
			e := mustError(t, err, tc.want)
			if e.Status != tc.code || e.Reason != tc.reason || e.RetryAfter != tc.retryAfter || e.Op != OpGenerate {
				t.Fatalf("got %+v", e)
			}
		})
	}
}

func TestFirstByteTimeout(t *testing.T) {
	for _, tc := range []struct {
		name        string
		sendHeaders bool // headers arrive in time, the body does not
	}{
		{"no headers", false},
		{"headers but no body", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan struct{})
			srv, _ := newUpstream(t, func(w http.ResponseWriter, r *http.Request, n int) {
				if tc.sendHeaders {
					w.WriteHeader(http.StatusOK)
					w.(http.Flusher).Flush()
				}
				<-r.Context().Done()
				close(done)
			})
			cfg := testConfig(srv, srv)
			cfg.FirstByteTimeout = duration.Duration(50 * time.Millisecond)
			c, _ := newTestClient(t, cfg)
			resp, err := c.Send(context.Background(), creds(), []byte(testState))
			if tc.sendHeaders {
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				_, err = io.ReadAll(resp.Body)
			}
			e := mustError(t, err, ClassTimeout)
			if !e.Failover() || !strings.Contains(e.Message, "50ms") {
				t.Fatalf("timeout error %v", e)
			}
			waitDone(t, done, "the upstream to see the request canceled")
		})
	}
}

func TestIdleTimeout(t *testing.T) {
	done := make(chan struct{})
	srv, _ := newUpstream(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(frames(t, "first"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		close(done)
	})
	cfg := testConfig(srv, srv)
	cfg.IdleTimeout = duration.Duration(50 * time.Millisecond)
	c, _ := newTestClient(t, cfg)
	resp, err := c.Send(context.Background(), creds(), []byte(testState))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if string(got) != string(frames(t, "first")) {
		t.Fatalf("read %q before the stall", got)
	}
	mustError(t, err, ClassTimeout)
	waitDone(t, done, "the upstream to see the request canceled")
}

func TestSlowReaderIsNotIdle(t *testing.T) {
	// Time the caller spends between reads (e.g. writing to a slow client)
	// is not upstream silence.
	srv, _ := newUpstream(t, streamOK(t, "a", "b", "c"))
	cfg := testConfig(srv, srv)
	cfg.IdleTimeout = duration.Duration(20 * time.Millisecond)
	c, _ := newTestClient(t, cfg)
	resp, err := c.Send(context.Background(), creds(), []byte(testState))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 100)
	var all []byte
	for {
		n, err := resp.Body.Read(buf)
		all = append(all, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read after a pause: %v", err)
		}
		time.Sleep(40 * time.Millisecond)
	}
	if string(all) != string(frames(t, "a", "b", "c")) {
		t.Fatalf("body differs")
	}
}

func TestCancelClosesUpstreamRequest(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(cancel context.CancelFunc, body io.Closer)
	}{
		{"context canceled", func(cancel context.CancelFunc, _ io.Closer) { cancel() }},
		{"body closed", func(_ context.CancelFunc, body io.Closer) { body.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			started := make(chan struct{})
			done := make(chan struct{})
			srv, _ := newUpstream(t, func(w http.ResponseWriter, r *http.Request, n int) {
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write(frames(t, "first"))
				w.(http.Flusher).Flush()
				close(started)
				<-r.Context().Done()
				close(done)
			})
			c, _ := newTestClient(t, testConfig(srv, srv))
			ctx, cancel := ctxWithCancel(t)
			resp, err := c.Send(ctx, creds(), []byte(testState))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			waitDone(t, started, "the upstream to start streaming")
			tc.stop(cancel, resp.Body)
			waitDone(t, done, "the upstream to see the request canceled")
			if tc.name == "context canceled" {
				_, err := io.ReadAll(resp.Body)
				e := mustError(t, err, ClassCanceled)
				if e.Failover() || !errors.Is(err, context.Canceled) {
					t.Fatalf("canceled error %v", e)
				}
			}
		})
	}
}

func TestCancelBeforeHeaders(t *testing.T) {
	arrived := make(chan struct{})
	done := make(chan struct{})
	srv, _ := newUpstream(t, func(w http.ResponseWriter, r *http.Request, n int) {
		close(arrived)
		<-r.Context().Done()
		close(done)
	})
	c, _ := newTestClient(t, testConfig(srv, srv))
	ctx, cancel := ctxWithCancel(t)
	go func() {
		<-arrived
		cancel()
	}()
	_, err := c.Send(ctx, creds(), []byte(testState))
	mustError(t, err, ClassCanceled)
	waitDone(t, done, "the upstream to see the request canceled")
}

func TestPerAccountProxy(t *testing.T) {
	for _, tc := range []struct {
		name         string
		account, cfg bool
	}{
		{"account proxy", true, false},
		{"config proxy", false, true},
		{"account proxy wins over config proxy", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The upstream host does not exist: only a proxy can reach it.
			accountProxy, accRec := newUpstream(t, streamOK(t, "via account proxy"))
			configProxy, cfgRec := newUpstream(t, streamOK(t, "via config proxy"))
			cfg := testConfig(nil, nil)
			cfg.APIURL = "http://runtime.{region}.kiro-upstream.invalid"
			if tc.cfg {
				cfg.Proxy = configProxy.URL
			}
			c, _ := newTestClient(t, cfg)
			cr := creds()
			cr.Region = "eu-central-1"
			if tc.account {
				cr.Proxy = accountProxy.URL
			}
			resp, err := c.Send(context.Background(), cr, []byte(testState))
			if err != nil {
				t.Fatal(err)
			}
			readTexts(t, resp.Body)
			resp.Body.Close()
			rec := cfgRec
			if tc.account {
				rec = accRec
			}
			reqs := rec.requests()
			if len(reqs) != 1 {
				t.Fatalf("proxy saw %d requests", len(reqs))
			}
			if want := "http://runtime.eu-central-1.kiro-upstream.invalid/generateAssistantResponse"; reqs[0].RequestURI != want {
				t.Fatalf("proxy request URI %q, want %q", reqs[0].RequestURI, want)
			}
			if tc.account && tc.cfg && len(cfgRec.requests()) != 0 {
				t.Fatal("config proxy used although the account has its own")
			}
		})
	}
}

func TestTransportsSharedPerProxy(t *testing.T) {
	c, _ := newTestClient(t, DefaultConfig())
	a1, err := c.httpClient("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := c.httpClient("http://127.0.0.1:1")
	env, _ := c.httpClient("")
	socks, err := c.httpClient("socks5://127.0.0.1:1080")
	if err != nil {
		t.Fatal(err)
	}
	if a1 != a2 || a1 == env || socks == env || len(c.clients) != 3 {
		t.Fatalf("transports not cached per proxy: %d", len(c.clients))
	}
	tr := a1.Transport.(*http.Transport)
	if tr.MaxIdleConnsPerHost != 256 || !tr.ForceAttemptHTTP2 || tr.TLSClientConfig.InsecureSkipVerify || a1.Timeout != 0 {
		t.Fatalf("transport settings %+v", tr)
	}
	if _, err := c.httpClient("ftp://user:hunter2secretpw@proxy:21"); err == nil || strings.Contains(err.Error(), "hunter2secretpw") {
		t.Fatalf("bad proxy: %v", err)
	}
}

func TestTLSIsVerified(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	cfg := testConfig(nil, nil)
	cfg.APIURL = srv.URL
	c, _ := newTestClient(t, cfg)
	_, err := c.Send(context.Background(), creds(), []byte(testState))
	e := mustError(t, err, ClassNetwork)
	if !strings.Contains(e.Error(), "certificate") {
		t.Fatalf("want a certificate error, got %v", e)
	}
}

func TestSendRejectsBadInput(t *testing.T) {
	srv, rec := newUpstream(t, streamOK(t, "x"))
	for _, tc := range []struct {
		name  string
		edit  func(*Credentials)
		state string
		want  Class
	}{
		{"state not JSON", nil, `{"conversationId":`, ClassBadRequest},
		{"state not an object", nil, `["x"]`, ClassBadRequest},
		{"no token", func(c *Credentials) { c.AccessToken = "" }, testState, ClassAuth},
		{"token with newline", func(c *Credentials) { c.AccessToken = testAccessToken + "\r\nX-Evil: 1" }, testState, ClassAuth},
		{"bad region", func(c *Credentials) { c.Region = "us-east-1.evil.com/" }, testState, ClassBadRequest},
		{"bad style", func(c *Credentials) { c.APIStyle = "legacy" }, testState, ClassBadRequest},
		{"bad proxy", func(c *Credentials) { c.Proxy = "gopher://x" }, testState, ClassNetwork},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newTestClient(t, testConfig(srv, srv))
			cr := creds()
			if tc.edit != nil {
				tc.edit(&cr)
			}
			_, err := c.Send(context.Background(), cr, []byte(tc.state))
			mustError(t, err, tc.want)
		})
	}
	if n := len(rec.requests()); n != 0 {
		t.Fatalf("%d invalid requests reached the upstream", n)
	}
}

func TestNoSecretInErrors(t *testing.T) {
	// An upstream that echoes everything it got must not make a token show
	// up in an error string.
	echo := func(code int) func(w http.ResponseWriter, r *http.Request, n int) {
		return func(w http.ResponseWriter, r *http.Request, n int) {
			body, _ := json.Marshal(map[string]string{
				"message": "denied for " + r.Header.Get("Authorization") + " " + r.URL.RawQuery,
				"reason":  "ECHO",
			})
			w.WriteHeader(code)
			_, _ = w.Write(body)
		}
	}
	for _, code := range []int{400, 401, 403, 429, 500} {
		srv, _ := newUpstream(t, echo(code))
		c, _ := newTestClient(t, testConfig(srv, srv))
		_, err := c.Send(context.Background(), creds(), []byte(testState))
		e := mustError(t, err, Classify(code, nil, []byte(`{"reason":"ECHO"}`), OpGenerate).Class)
		if !strings.Contains(e.Message, "[redacted]") {
			t.Fatalf("echoed token not redacted: %v", e)
		}
		_, err = c.UsageLimits(context.Background(), creds())
		mustError(t, err, e.Class)
		_, err = c.ListModels(context.Background(), creds())
		mustError(t, err, e.Class)
	}
}
