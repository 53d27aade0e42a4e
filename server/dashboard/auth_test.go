package dashboard

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// sampleParams fills a route pattern's captures.
func samplePath(pattern string) string {
	return strings.NewReplacer("{id}", "someid").Replace(pattern)
}

// TestEveryRouteNeedsASession sends every API route without a cookie and
// with a made-up one: only sign-in answers.
func TestEveryRouteNeedsASession(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	for key, r := range apiRoutes {
		if r.public {
			continue
		}
		method, pattern, _ := strings.Cut(key, " ")
		for _, cookie := range []string{"", h.cookieName() + "=not-a-session", h.cookieName() + "=" + strings.Repeat("0", 64)} {
			hd := map[string]string{"Content-Type": "application/json"}
			if cookie != "" {
				hd["Cookie"] = cookie
			}
			resp := h.do(method, samplePath(pattern), "{}", hd)
			body := readAll(t, resp)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s with cookie %q: %d %s, want 401", key, cookie, resp.StatusCode, body)
			}
		}
	}
}

// TestEveryPostNeedsCSRF sends every state-changing route with a valid
// session but a missing, wrong or cross-site token.
func TestEveryPostNeedsCSRF(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	b := h.signIn()
	cases := []struct {
		name   string
		header map[string]string
	}{
		{"no token", map[string]string{}},
		{"wrong token", map[string]string{csrfHeader: strings.Repeat("a", 64)}},
		{"cross-site with the right token", map[string]string{csrfHeader: b.csrf, "Sec-Fetch-Site": "cross-site"}},
		{"other origin with the right token", map[string]string{csrfHeader: b.csrf, "Origin": "http://evil.example"}},
	}
	for key, r := range apiRoutes {
		method, pattern, _ := strings.Cut(key, " ")
		if method != http.MethodPost || r.public {
			continue
		}
		for _, tc := range cases {
			hd := map[string]string{"Cookie": h.cookieName() + "=" + b.cookie, "Content-Type": "application/json"}
			for k, v := range tc.header {
				hd[k] = v
			}
			resp := h.do(method, samplePath(pattern), "{}", hd)
			body := readAll(t, resp)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s, %s: %d %s, want 403", key, tc.name, resp.StatusCode, body)
			}
		}
	}
	// The account is untouched by all of that.
	if v := h.mgr.List(); len(v) != 1 || !v[0].Enabled {
		t.Fatalf("accounts changed by refused requests: %+v", v)
	}
}

func TestSignInWithKey(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	tests := []struct {
		name   string
		body   string
		header map[string]string
		want   int
	}{
		{"wrong key", `{"key":"kb-not-the-key-000000"}`, map[string]string{"Content-Type": "application/json"}, 401},
		{"empty key", `{"key":""}`, map[string]string{"Content-Type": "application/json"}, 401},
		{"prefix of the key", `{"key":"` + testKey[:10] + `"}`, map[string]string{"Content-Type": "application/json"}, 401},
		{"form post", `key=` + testKey, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415},
		{"other origin", `{"key":"` + testKey + `"}`, map[string]string{"Content-Type": "application/json", "Origin": "http://evil.example"}, 403},
		{"right key", `{"key":"` + testKey + `"}`, map[string]string{"Content-Type": "application/json"}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.do(http.MethodPost, "/api/session", tc.body, tc.header)
			body := readAll(t, resp)
			if resp.StatusCode != tc.want {
				t.Fatalf("%d %s, want %d", resp.StatusCode, body, tc.want)
			}
			cookies := resp.Header.Values("Set-Cookie")
			if tc.want != 200 {
				if len(cookies) > 0 {
					t.Fatalf("refused sign-in set %v", cookies)
				}
				return
			}
			checkCookie(t, h, cookies)
			if strings.Contains(body, testKey) {
				t.Fatal("sign-in answer contains the client key")
			}
		})
	}
}

// checkCookie asserts the session cookie's attributes.
func checkCookie(t *testing.T, h *harness, cookies []string) {
	t.Helper()
	if len(cookies) != 1 {
		t.Fatalf("Set-Cookie %v, want one", cookies)
	}
	c := strings.ToLower(cookies[0])
	for _, want := range []string{h.cookieName() + "=", "httponly", "samesite=strict", "path=/"} {
		if !strings.Contains(c, want) {
			t.Errorf("cookie %q lacks %q", cookies[0], want)
		}
	}
}

func TestOneTimeLink(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	link, err := h.dash.LoginURL()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link, h.url+signInPath+"?token=") {
		t.Fatalf("LoginURL %q does not point at %s", link, h.url)
	}
	path := strings.TrimPrefix(link, h.url)

	resp := h.do(http.MethodGet, path, "", nil)
	readAll(t, resp)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "/ui/") {
		t.Fatalf("first use: %d to %q, want 303 to /ui/", resp.StatusCode, resp.Header.Get("Location"))
	}
	checkCookie(t, h, resp.Header.Values("Set-Cookie"))
	var cookie string
	for _, c := range resp.Cookies() {
		cookie = c.Value
	}
	b := &browser{h: h, cookie: cookie}
	if code, body := b.get("/api/session"); code != 200 || !strings.Contains(body, `"csrf"`) {
		t.Fatalf("session after the link: %d %s", code, body)
	}

	// Replayed: refused, no cookie, and the page explains.
	resp = h.do(http.MethodGet, path, "", nil)
	readAll(t, resp)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "#link-expired") || len(resp.Header.Values("Set-Cookie")) > 0 {
		t.Fatalf("replay: %d to %q with %v", resp.StatusCode, resp.Header.Get("Location"), resp.Header.Values("Set-Cookie"))
	}

	// Expired before first use.
	start := time.Now()
	h.clock.set(start)
	link, err = h.dash.LoginURL()
	if err != nil {
		t.Fatal(err)
	}
	h.clock.set(start.Add(oneTimeTTL + time.Second))
	resp = h.do(http.MethodGet, strings.TrimPrefix(link, h.url), "", nil)
	readAll(t, resp)
	if len(resp.Header.Values("Set-Cookie")) > 0 || !strings.HasSuffix(resp.Header.Get("Location"), "#link-expired") {
		t.Fatalf("expired link signed in: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestSessionExpiresAndLogout(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	start := time.Now()
	h.clock.set(start)
	b := h.signIn()
	if code, _ := b.get("/api/accounts"); code != 200 {
		t.Fatalf("fresh session: %d", code)
	}
	h.clock.set(start.Add(12*time.Hour + time.Second))
	if code, _ := b.get("/api/accounts"); code != 401 {
		t.Fatalf("expired session: %d, want 401", code)
	}
	h.clock.set(start)
	b = h.signIn()
	if code, body := b.post("/api/logout", ""); code != 200 {
		t.Fatalf("logout: %d %s", code, body)
	}
	if code, _ := b.get("/api/accounts"); code != 401 {
		t.Fatalf("after logout: %d, want 401", code)
	}
}

// TestHostCheckCoversTheDashboard: the proxy's DNS-rebinding guard runs
// before the dashboard sees a request.
func TestHostCheckCoversTheDashboard(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	b := h.signIn()
	for _, path := range []string{"/ui/", "/api/session", "/api/accounts", signInPath + "?token=x"} {
		resp := h.do(http.MethodGet, path, "", map[string]string{"Host": "evil.example", "Cookie": h.cookieName() + "=" + b.cookie})
		body := readAll(t, resp)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s with Host evil.example: %d %s", path, resp.StatusCode, body)
		}
	}
}

func TestStaticFilesAndHeaders(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	tests := []struct {
		path, wantType string
		want           int
	}{
		{"/ui/", "text/html", 200},
		{"/ui/index.html", "text/html", 200},
		{"/ui/app.css", "text/css", 200},
		{"/ui/js/main.js", "text/javascript", 200},
		{"/ui/js/nothing.js", "application/json", 404},
		{"/ui/../app.go", "application/json", 404},
		{"/ui/js/", "application/json", 404},
	}
	for _, tc := range tests {
		resp := h.do(http.MethodGet, tc.path, "", nil)
		body := readAll(t, resp)
		if resp.StatusCode != tc.want || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.wantType) {
			t.Errorf("%s: %d %q, want %d %s", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), tc.want, tc.wantType)
		}
		if strings.Contains(tc.path, "..") {
			continue // the listener cleans the path to /app.go, which is not the dashboard's
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP %q", tc.path, csp)
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: missing framing or sniffing headers", tc.path)
		}
		if tc.want == 200 && strings.Contains(tc.wantType, "html") && strings.Contains(body, "<script>") {
			t.Errorf("%s has an inline script", tc.path)
		}
	}
	resp := h.do(http.MethodGet, "/", "", nil)
	readAll(t, resp)
	if resp.StatusCode != http.StatusFound || !strings.HasSuffix(resp.Header.Get("Location"), "/ui/") {
		t.Fatalf("/: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The API itself is not the dashboard's: /v1 routes still answer.
	resp = h.do(http.MethodGet, "/health", "", nil)
	readAll(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("/health: %d", resp.StatusCode)
	}
}

// TestRoutePatternsDoNotOverlap keeps the route table unambiguous.
func TestRoutePatternsDoNotOverlap(t *testing.T) {
	for key := range apiRoutes {
		method, pattern, _ := strings.Cut(key, " ")
		segs := strings.Split(strings.Trim(samplePath(pattern), "/"), "/")
		n := 0
		for other := range apiRoutes {
			m, p, _ := strings.Cut(other, " ")
			if _, ok := matchPattern(p, segs); ok && m == method {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s matches %d routes", key, n)
		}
	}
}
