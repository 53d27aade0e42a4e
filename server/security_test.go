package server_test

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kirobar/kirobar/internal/keyguard"
	"github.com/kirobar/kirobar/kiro"
)

// do sends a request with optional key, Host and headers.
func do(t *testing.T, method, url, host, body string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp, readAll(t, resp.Body)
}

// TestHostHeader: a web page that rebinds its own name to 127.0.0.1 still
// sends its name as Host; only loopback names and addresses are served.
func TestHostHeader(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	port := h.srv.Addr()[strings.LastIndex(h.srv.Addr(), ":")+1:]
	key := map[string]string{"Authorization": "Bearer " + testKey}
	for _, tc := range []struct {
		host   string
		status int
	}{
		{"127.0.0.1:" + port, 200},
		{"localhost:" + port, 200},
		{"localhost", 200},
		{"[::1]:" + port, 200},
		{"127.0.0.2:" + port, 200}, // all of 127/8 is loopback
		{"evil.example:" + port, 403},
		{"evil.example", 403},
		{"localhost.evil.example:" + port, 403},
		{"127.0.0.1.nip.io:" + port, 403},
		{"192.168.1.10:" + port, 403},
		{"[::1].evil.example", 400}, // not even a valid Host
	} {
		t.Run(tc.host, func(t *testing.T) {
			resp, got := do(t, http.MethodGet, h.url+"/v1/models", tc.host, "", key)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, got)
			}
			if tc.status != 200 {
				if e := decodeError(t, "openai", got); tc.status == 403 && !strings.Contains(e.Message, "Host header") {
					t.Fatalf("error %+v", e)
				}
			}
		})
	}
}

// TestNoCORS: kirobar never grants CORS, answers a preflight without
// Access-Control-Allow-* headers, and refuses any request carrying an
// Origin other than its own, so a page in the user's browser can neither
// read from nor act through the proxy. Clients (SDKs, agents) send no
// Origin and are unaffected.
func TestNoCORS(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	body := surfaces[0].valid
	anth := func(extra map[string]string) map[string]string {
		m := map[string]string{"x-api-key": testKey, "Content-Type": "application/json"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		name, method string
		header       map[string]string
		status       int
	}{
		{"preflight from a web page", http.MethodOptions, map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-api-key,content-type"}, 403},
		{"preflight without origin", http.MethodOptions, nil, 405},
		{"post from a web page", http.MethodPost, anth(map[string]string{"Origin": "https://evil.example"}), 403},
		{"post from a file page", http.MethodPost, anth(map[string]string{"Origin": "null"}), 403},
		{"post from another local port", http.MethodPost, anth(map[string]string{"Origin": "http://127.0.0.1:1"}), 403},
		{"post from kirobar's own page", http.MethodPost, anth(map[string]string{"Origin": h.url}), 200},
		{"post from a client", http.MethodPost, anth(nil), 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, got := do(t, tc.method, h.url+"/v1/messages", "", body, tc.header)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, got)
			}
			for k := range resp.Header {
				if strings.HasPrefix(strings.ToLower(k), "access-control-") {
					t.Fatalf("CORS header %s: %s", k, resp.Header.Get(k))
				}
			}
		})
	}
	if n := len(h.fake.Requests()); n != 2 {
		t.Fatalf("%d requests reached the upstream, want the 2 allowed ones", n)
	}
}

// TestKeyRequiredOnAPIRoutes: every API route wants a client key, also
// the free ones (models, count_tokens); /health needs none and says
// nothing secret.
func TestKeyRequiredOnAPIRoutes(t *testing.T) {
	// More wrong keys than the default guard lets through; its own test
	// is TestKeyGuessingThrottled.
	h := newHarness(t, harnessOptions{keyGuard: keyguard.NewWith(1, 1000, nil, time.Now)})
	for _, tc := range []struct {
		method, path, surface string
	}{
		{http.MethodPost, "/v1/messages", "anthropic"},
		{http.MethodPost, "/v1/messages/count_tokens", "anthropic"},
		{http.MethodPost, "/v1/chat/completions", "openai"},
		{http.MethodPost, "/v1/responses", "responses"},
		{http.MethodGet, "/v1/models", "openai"},
		{http.MethodGet, "/v1/models/claude-sonnet-4.5", "openai"},
	} {
		for _, header := range []map[string]string{
			{"Content-Type": "application/json"},
			{"Content-Type": "application/json", "Authorization": "Bearer kb-not-the-key-0000000"},
			{"Content-Type": "application/json", "x-api-key": testKey[:len(testKey)-1]},
			{"Content-Type": "application/json", "Authorization": "Basic " + testKey},
		} {
			t.Run(tc.method+tc.path, func(t *testing.T) {
				resp, got := do(t, tc.method, h.url+tc.path, "", surfaces[0].valid, header)
				if resp.StatusCode != 401 {
					t.Fatalf("status %d: %s", resp.StatusCode, got)
				}
				surface := tc.surface
				if _, ok := header["x-api-key"]; ok && strings.HasPrefix(tc.path, "/v1/models") {
					surface = "anthropic" // x-api-key marks an Anthropic client on shared paths
				}
				decodeError(t, surface, got)
				if strings.Contains(got, testKey) || strings.Contains(got, "kb-not-the-key") {
					t.Fatal("a key was echoed in the error")
				}
			})
		}
	}
	resp, got := do(t, http.MethodGet, h.url+"/health", "", "", nil)
	if resp.StatusCode != 200 || strings.Contains(got, testKey) || strings.Contains(got, "aorA") || strings.Contains(got, "aoaA") {
		t.Fatalf("health %d: %s", resp.StatusCode, got)
	}
	if n := len(h.fake.Requests()); n != 0 {
		t.Fatalf("unauthenticated requests reached the upstream %d times", n)
	}
}

// TestUpstreamTLSVerified: an upstream with a certificate no trusted
// authority signed is refused during the handshake, with an error that
// says so, and never receives the request (nor its bearer token).
func TestUpstreamTLSVerified(t *testing.T) {
	var hits atomic.Int32
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusTeapot)
	}))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	ts.StartTLS()
	defer ts.Close()
	h := newHarness(t, harnessOptions{kiro: func(c *kiro.Config) { c.APIURL = ts.URL }})
	resp := h.post("/v1/messages", surfaces[0].valid, nil)
	got := readAll(t, resp.Body)
	if resp.StatusCode != 502 {
		t.Fatalf("status %d: %s", resp.StatusCode, got)
	}
	if e := decodeError(t, "anthropic", got); !strings.Contains(e.Message, "certificate") {
		t.Fatalf("error does not name the certificate problem: %+v", e)
	}
	if hits.Load() != 0 {
		t.Fatal("a request reached an upstream whose certificate is not trusted")
	}
	row, _ := lastFlow(t, h, 1)
	if len(row.Attempts) == 0 || row.Attempts[0].ErrorClass != "network" || !strings.Contains(row.Attempts[0].Error, "certificate") {
		t.Fatalf("flow attempts %+v", row.Attempts)
	}
}

// TestKeyGuessingThrottled: after a burst of wrong keys from one address,
// kirobar refuses key checks from it with a 429 and Retry-After in the
// surface's format, the right key included (else the 429s would not slow
// guessing), until its allowance refills; requests without a key are not
// guesses and still get their 401.
func TestKeyGuessingThrottled(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	h := newHarness(t, harnessOptions{keyGuard: keyguard.NewWith(2, 5, nil, clock)})
	wrong := map[string]string{"x-api-key": "kb-guess-000000000000000000000"}
	statuses := map[int]int{}
	for i := 0; i < 20; i++ {
		resp, got := do(t, http.MethodGet, h.url+"/v1/models", "", "", wrong)
		statuses[resp.StatusCode]++
		if resp.StatusCode == 429 {
			if ra := resp.Header.Get("Retry-After"); ra != "1" {
				t.Fatalf("Retry-After %q", ra)
			}
			if e := decodeError(t, "anthropic", got); e.Type != "rate_limit_error" || !strings.Contains(e.Message, "wrong client keys") {
				t.Fatalf("429 error %+v", e)
			}
		}
	}
	if statuses[401] != 5 || statuses[429] != 15 {
		t.Fatalf("statuses %v, want 5 × 401 then 15 × 429", statuses)
	}
	right := map[string]string{"Authorization": "Bearer " + testKey}
	if resp, got := do(t, http.MethodGet, h.url+"/v1/models", "", "", right); resp.StatusCode != 429 {
		t.Fatalf("the right key was checked while throttled: %d %s", resp.StatusCode, got)
	}
	if resp, _ := do(t, http.MethodGet, h.url+"/v1/models", "", "", nil); resp.StatusCode != 401 {
		t.Fatalf("no key while throttled: %d, want 401", resp.StatusCode)
	}
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	if resp, got := do(t, http.MethodGet, h.url+"/v1/models", "", "", right); resp.StatusCode != 200 {
		t.Fatalf("the right key after the wait: %d %s", resp.StatusCode, got)
	}
}

// TestKeyGuessingBehindTrustedProxy: behind a team gateway's reverse
// proxy every client arrives from the proxy's address. With the proxy
// trusted, the client it names in X-Forwarded-For is counted, so one
// client's wrong keys do not lock out the others; from an address not
// trusted, the header changes nothing.
func TestKeyGuessingBehindTrustedProxy(t *testing.T) {
	for _, tc := range []struct {
		name         string
		trusted      []string
		othersLocked bool
	}{
		{"proxy trusted", []string{"127.0.0.1"}, false},
		{"proxy not trusted", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Unix(1_000_000, 0)
			h := newHarness(t, harnessOptions{
				keyGuard: keyguard.NewWith(2, 5, nil, func() time.Time { return now }),
				server:   func(c *serverConfig) { c.TrustedProxies = tc.trusted },
			})
			for range 10 {
				do(t, http.MethodGet, h.url+"/v1/models", "", "", map[string]string{"x-api-key": "kb-guess-000000000000000000000", "X-Forwarded-For": "203.0.113.7"})
			}
			resp, got := do(t, http.MethodGet, h.url+"/v1/models", "", "", map[string]string{"Authorization": "Bearer " + testKey, "X-Forwarded-For": "198.51.100.2"})
			if locked := resp.StatusCode == 429; locked != tc.othersLocked {
				t.Fatalf("another client behind the proxy: HTTP %d %s", resp.StatusCode, got)
			}
			resp, _ = do(t, http.MethodGet, h.url+"/v1/models", "", "", map[string]string{"Authorization": "Bearer " + testKey, "X-Forwarded-For": "203.0.113.7"})
			if resp.StatusCode != 429 {
				t.Fatalf("the guessing client: HTTP %d, want 429", resp.StatusCode)
			}
		})
	}
}
