package main

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	neturl "net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kirobar/kirobar/internal/testkit/kirofake"
)

// The tests in this file each replay an attack against the real binary
// (Host and Origin tricks, key guessing, memory exhaustion, leaked
// credentials) and assert what kirobar promises in README's security
// section.

// setConfig edits config.toml under home: each pair replaces its first
// string with its second.
func setConfig(t *testing.T, home string, pairs ...string) {
	t.Helper()
	path := filepath.Join(home, "config.toml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("config.toml has no %q", pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// httpDo sends one request and returns the response with its body read.
func httpDo(t *testing.T, method, url, body string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if strings.EqualFold(k, "host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp, readBody(t, resp)
}

// dashboardSignIn signs in to the dashboard with a client key, as its
// sign-in form does, and returns the session cookie.
func dashboardSignIn(t *testing.T, url, key string) *http.Cookie {
	t.Helper()
	resp, body := httpDo(t, http.MethodPost, url+"/api/session", `{"key":"`+key+`"}`, map[string]string{"Content-Type": "application/json"})
	if resp.StatusCode != 200 {
		t.Fatalf("dashboard sign-in: %d %s", resp.StatusCode, body)
	}
	for _, c := range resp.Cookies() {
		if strings.HasPrefix(c.Name, "kirobar_session") && c.Value != "" {
			return c
		}
	}
	t.Fatalf("dashboard sign-in set no session cookie: %v", resp.Header["Set-Cookie"])
	return nil
}

// zipText is every file of a zip archive, names and contents.
func zipText(t *testing.T, path string) string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var b bytes.Buffer
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(f.Name + "\n")
		b.Write(data)
	}
	return b.String()
}

// TestSecurityProxyCredentials: proxy URLs with passwords (the global
// [kiro] proxy and an account's set-proxy) are used, yet their passwords
// appear in nothing kirobar shows or exports: accounts list --json, the
// dashboard's /api/accounts, a set-proxy error, the diagnostic bundle's
// account.json and config.json, the log and the flow records.
func TestSecurityProxyCredentials(t *testing.T) {
	fake, err := kirofake.Start(kirofake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	refresh := "aorAAAAA" + strings.Repeat("p", 120)
	fake.AddAccount(kirofake.Account{ID: "acct1", AuthMethod: kirofake.AuthSocial, RefreshToken: refresh})
	home := filepath.Join(t.TempDir(), "home")
	addr := freePort(t)
	key := "kb-proxy-test-key-0123456789abcdefghij"
	writeConfig(t, home, addr, key, fake.URL)
	// The fake serves absolute-form requests, so it doubles as the HTTP
	// proxy both URLs name: requests really go through them.
	fakeHost := strings.TrimPrefix(fake.URL, "http://")
	const globalPass, accountPass, typoPass = "GlobalProxyPass-7731", "AccountProxyPass-4417", "TypoProxyPass-2093"
	setConfig(t, home, "[kiro]\n", "[kiro]\nproxy = \"http://bob:"+globalPass+"@"+fakeHost+"\"\n")

	var shown strings.Builder
	cli := func(wantCode int, args ...string) string {
		t.Helper()
		out, code := kirobar(t, home, args...)
		shown.WriteString(out)
		if code != wantCode {
			t.Fatalf("kirobar %v: exit %d, want %d\n%s", args, code, wantCode, out)
		}
		return out
	}
	cli(0, "accounts", "add", "--refresh-token", refresh)
	var views []map[string]any
	if err := json.Unmarshal([]byte(cli(0, "accounts", "list", "--json")), &views); err != nil || len(views) != 1 {
		t.Fatalf("accounts list: %v %v", err, views)
	}
	id := views[0]["id"].(string)
	cli(0, "accounts", "set-proxy", id, "http://alice:"+accountPass+"@"+fakeHost)
	out := cli(1, "accounts", "set-proxy", id, "http://alice:"+typoPass+"%zz@"+fakeHost)
	if !strings.Contains(out, "not a valid URL") || !strings.Contains(out, "alice:xxxxx@") {
		t.Fatalf("set-proxy with a bad URL does not explain it with the password masked:\n%s", out)
	}
	list := cli(0, "accounts", "list", "--json")
	if !strings.Contains(list, `"proxy": "http://alice:xxxxx@`+fakeHost) {
		t.Fatalf("accounts list --json does not show the masked proxy:\n%s", list)
	}

	serve := startServe(t, home)
	url := "http://" + addr
	waitHealthy(t, url)
	resp, body := httpDo(t, http.MethodPost, url+"/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"x-api-key": key, "Content-Type": "application/json"})
	if resp.StatusCode != 200 {
		t.Fatalf("request through the proxies: %d %s", resp.StatusCode, body)
	}
	shown.WriteString(body)
	cookie := dashboardSignIn(t, url, key)
	resp, body = httpDo(t, http.MethodGet, url+"/api/accounts", "", map[string]string{"Cookie": cookie.Name + "=" + cookie.Value})
	if resp.StatusCode != 200 || !strings.Contains(body, "alice:xxxxx@") {
		t.Fatalf("/api/accounts: %d %s", resp.StatusCode, body)
	}
	shown.WriteString(body)
	shown.WriteString(serve.stop())

	flowsOut := cli(0, "flows", "list", "--json")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(flowsOut), &rows); err != nil || len(rows) == 0 {
		t.Fatalf("flows list: %v\n%s", err, flowsOut)
	}
	bundle := filepath.Join(t.TempDir(), "bundle.zip")
	cli(0, "flows", "bundle", rows[0]["id"].(string), "--out", bundle)
	archive := zipText(t, bundle)
	if !strings.Contains(archive, "account.json") || !strings.Contains(archive, "config.json") || !strings.Contains(archive, "bob:xxxxx@") {
		t.Fatalf("the bundle lacks the sections this test checks:\n%s", archive)
	}
	shown.WriteString(archive)
	reqs := fake.Requests()
	if len(reqs) == 0 || reqs[len(reqs)-1].Header.Get("Proxy-Authorization") != "Basic "+base64.StdEncoding.EncodeToString([]byte("alice:"+accountPass)) {
		t.Fatal("the request did not go through the account's proxy with its credentials")
	}
	assertNoSecret(t, home, shown.String(), globalPass, accountPass, typoPass, key, refresh)
}

// ownIPv4 returns one of the machine's non-loopback IPv4 addresses, or "".
func ownIPv4(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	return ""
}

// TestSecurityHostCheckBeyondLoopback: listening on every interface, a
// DNS-rebinding page (its own name in Host, a matching Origin) reaches
// neither the API nor the dashboard sign-in, while the machine's own
// addresses and loopback still work; server.allowed_hosts replaces the
// machine's addresses with the names listed.
func TestSecurityHostCheckBeyondLoopback(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	addr := freePort(t)
	port := addr[strings.LastIndex(addr, ":")+1:]
	key := "kb-host-check-key-0123456789abcdefghij"
	writeConfig(t, home, "0.0.0.0:"+port, key, "http://127.0.0.1:1")
	url := "http://127.0.0.1:" + port
	own := ownIPv4(t)

	type probe struct {
		name, method, path, body, host, origin string
		want                                   int
	}
	run := func(probes []probe) {
		t.Helper()
		for _, p := range probes {
			h := map[string]string{"Host": p.host, "Content-Type": "application/json", "x-api-key": key}
			if p.origin != "" {
				h["Origin"] = p.origin
			}
			resp, body := httpDo(t, p.method, url+p.path, p.body, h)
			if resp.StatusCode != p.want {
				t.Errorf("%s: %s %s with Host %s: %d, want %d: %s", p.name, p.method, p.path, p.host, resp.StatusCode, p.want, body)
			}
			if p.want == 403 && !strings.Contains(body, "Host header") {
				t.Errorf("%s: the refusal does not say why: %s", p.name, body)
			}
		}
	}
	signIn := `{"key":"` + key + `"}`
	evil := "rebind.evil.example:" + port
	serve := startServe(t, home)
	waitHealthy(t, url)
	probes := []probe{
		{"rebinding page signs in", http.MethodPost, "/api/session", signIn, evil, "http://" + evil, 403},
		{"rebinding page loads the dashboard", http.MethodGet, "/ui/", "", evil, "", 403},
		{"rebinding page calls the API", http.MethodGet, "/v1/models", "", evil, "http://" + evil, 403},
		{"loopback", http.MethodGet, "/v1/models", "", "127.0.0.1:" + port, "", 200},
		{"localhost sign-in", http.MethodPost, "/api/session", signIn, "localhost:" + port, "http://localhost:" + port, 200},
	}
	if own != "" {
		probes = append(probes, probe{"own address", http.MethodGet, "/v1/models", "", own + ":" + port, "", 200})
	}
	run(probes)
	serve.stop()

	setConfig(t, home, "[server]\n", "[server]\nallowed_hosts = [\"kirobar.test\"]\n")
	serve = startServe(t, home)
	waitHealthy(t, url)
	probes = []probe{
		{"listed name", http.MethodGet, "/v1/models", "", "kirobar.test:" + port, "", 200},
		{"rebinding page", http.MethodPost, "/api/session", signIn, evil, "http://" + evil, 403},
	}
	if own != "" {
		probes = append(probes, probe{"own address not listed", http.MethodGet, "/v1/models", "", own + ":" + port, "", 403})
	}
	run(probes)
	serve.stop()
}

// TestSecurityKeyGuessing: 600 wrong keys as fast as the client can send
// them, on the API and the dashboard's sign-in alternately, get a handful
// of 401s and then 429s with Retry-After; the log says so once rather
// than 600 times and never shows a guess; a key shorter than 32
// characters is warned about at start.
func TestSecurityKeyGuessing(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	addr := freePort(t)
	short := "kb-short-key-123" // 16 characters: accepted, with a warning
	writeConfig(t, home, addr, "kb-guess-test-key-0123456789abcdefghij", "http://127.0.0.1:1")
	setConfig(t, home, `api_keys = ["kb-guess`, `api_keys = ["`+short+`", "kb-guess`)
	serve := startServe(t, home)
	url := "http://" + addr
	waitHealthy(t, url)

	statuses := map[int]int{}
	for i := 0; i < 600; i++ {
		guess := fmt.Sprintf("kb-guess-%030d", i)
		var resp *http.Response
		var body string
		if i%2 == 0 {
			resp, body = httpDo(t, http.MethodGet, url+"/v1/models", "", map[string]string{"x-api-key": guess})
		} else {
			resp, body = httpDo(t, http.MethodPost, url+"/api/session", `{"key":"`+guess+`"}`, map[string]string{"Content-Type": "application/json"})
		}
		statuses[resp.StatusCode]++
		if resp.StatusCode == 429 && (resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "wrong client keys")) {
			t.Fatalf("429 without Retry-After or reason: %v %s", resp.Header, body)
		}
	}
	// 10 at once, then 1 a second: the run takes a few seconds at most.
	if statuses[401] > 20 || statuses[429] < 580 || statuses[401]+statuses[429] != 600 {
		t.Fatalf("statuses %v: want at most 20 × 401 and the rest 429", statuses)
	}
	// The right key is refused while throttled, and works again later.
	resp, _ := httpDo(t, http.MethodGet, url+"/v1/models", "", map[string]string{"x-api-key": short})
	if resp.StatusCode != 429 {
		t.Fatalf("the right key during throttling: %d, want 429", resp.StatusCode)
	}
	wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	time.Sleep(time.Duration(wait) * time.Second)
	if resp, body := httpDo(t, http.MethodGet, url+"/v1/models", "", map[string]string{"x-api-key": short}); resp.StatusCode != 200 {
		t.Fatalf("the right key after Retry-After: %d %s", resp.StatusCode, body)
	}
	logs := serve.stop()
	if n := strings.Count(logs, `msg="failed client key check"`); n < 5 || n > 20 {
		t.Fatalf("%d failure lines in the log, want one per 401", n)
	}
	if !strings.Contains(logs, "too many failed client key checks") || strings.Contains(logs, "kb-guess-0000") {
		t.Fatalf("the log does not report the throttling, or shows a guess:\n%s", logs)
	}
	if !strings.Contains(logs, "short enough to guess") || !strings.Contains(logs, "server.api_keys[0]") || strings.Contains(logs, short) {
		t.Fatalf("no warning about the short key (or the key itself in the log):\n%s", logs)
	}
}

// patternReader yields n bytes of JSON-string filler without holding them.
type patternReader struct{ n int }

func (r *patternReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.n)
	for i := range n {
		p[i] = 'a'
	}
	r.n -= n
	return n, nil
}

// vmHWM is a process's peak resident memory in kB (/proc/PID/status).
func vmHWM(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// TestSecurityUnauthenticatedMemory: ten parallel 30 MB POSTs without a
// key to the API, and ten to the dashboard's sign-in, are refused from
// their headers; kirobar's peak memory grows by less than one such body,
// every client reads its refusal (no reset), and kirobar still serves.
func TestSecurityUnauthenticatedMemory(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	addr := freePort(t)
	key := "kb-memory-test-key-0123456789abcdefghij"
	writeConfig(t, home, addr, key, "http://127.0.0.1:1")
	serve := startServe(t, home)
	url := "http://" + addr
	waitHealthy(t, url)
	pid := serve.cmd.Process.Pid
	before := vmHWM(t, pid)

	const bodySize = 30 << 20
	type answer struct {
		path   string
		status int
		err    error
	}
	answers := make(chan answer, 20)
	for i := 0; i < 20; i++ {
		path := "/v1/messages"
		if i%2 == 1 {
			path = "/api/session"
		}
		go func() {
			prefix := `{"key":"` // both bodies are JSON strings of filler
			if path == "/v1/messages" {
				prefix = `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"`
			}
			body := io.MultiReader(strings.NewReader(prefix), &patternReader{bodySize}, strings.NewReader(`"}`))
			req, err := http.NewRequest(http.MethodPost, url+path, body)
			if err != nil {
				answers <- answer{path, 0, err}
				return
			}
			req.ContentLength = int64(len(prefix) + bodySize + 2)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				answers <- answer{path, 0, err}
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			answers <- answer{path, resp.StatusCode, nil}
		}()
	}
	for i := 0; i < 20; i++ {
		a := <-answers
		want := 401
		if a.path == "/api/session" {
			want = 413 // a sign-in form is tiny; its size alone refuses it
		}
		if a.err != nil || a.status != want {
			t.Errorf("%s: status %d err %v, want %d", a.path, a.status, a.err, want)
		}
	}
	grew := vmHWM(t, pid) - before
	t.Logf("peak RSS %d kB before, grew by %d kB under 20 × 30 MB unauthenticated bodies", before, grew)
	if grew > 16<<10 {
		t.Fatalf("peak memory grew by %d kB: kirobar held unauthenticated bodies", grew)
	}
	if resp, body := httpDo(t, http.MethodGet, url+"/v1/models", "", map[string]string{"x-api-key": key}); resp.StatusCode != 200 {
		t.Fatalf("kirobar does not serve after the attack: %d %s", resp.StatusCode, body)
	}
	serve.stop()
}

// TestSecuritySessionCookiePerListener: browsers send a cookie to every
// port of a host, so each kirobar names its session cookie after its
// port: one browser signed in to two kirobars keeps both sessions, and a
// session cookie works only on the listener that issued it.
func TestSecuritySessionCookiePerListener(t *testing.T) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar}
	type instance struct {
		url, port string
		serve     *served
	}
	var kb []instance
	for i := range 2 {
		home := filepath.Join(t.TempDir(), "home")
		addr := freePort(t)
		writeConfig(t, home, addr, fmt.Sprintf("kb-cookie-test-key-%d-0123456789abcdefghij", i), "http://127.0.0.1:1")
		kb = append(kb, instance{"http://" + addr, addr[strings.LastIndex(addr, ":")+1:], startServe(t, home)})
	}
	for i, k := range kb {
		waitHealthy(t, k.url)
		req, _ := http.NewRequest(http.MethodPost, k.url+"/api/session", strings.NewReader(fmt.Sprintf(`{"key":"kb-cookie-test-key-%d-0123456789abcdefghij"}`, i)))
		req.Header.Set("Content-Type", "application/json")
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, resp)
		cookies := resp.Cookies()
		if resp.StatusCode != 200 || len(cookies) != 1 || cookies[0].Name != "kirobar_session_"+k.port || cookies[0].MaxAge <= 0 || cookies[0].MaxAge > 12*3600 || !cookies[0].HttpOnly {
			t.Fatalf("sign-in to kirobar %d: %d %v", i, resp.StatusCode, resp.Header["Set-Cookie"])
		}
	}
	for i, k := range kb {
		resp, err := browser.Get(k.url + "/api/accounts")
		if err != nil {
			t.Fatal(err)
		}
		if body := readBody(t, resp); resp.StatusCode != 200 {
			t.Fatalf("kirobar %d lost its session to the other's sign-in: %d %s", i, resp.StatusCode, body)
		}
	}
	// One kirobar's cookie, renamed for the other's port, is nothing there.
	u0, _ := neturl.Parse(kb[0].url)
	stolen := 0
	for _, c := range jar.Cookies(u0) { // the jar holds both: cookies ignore ports
		if c.Name != "kirobar_session_"+kb[0].port {
			continue
		}
		stolen++
		resp, body := httpDo(t, http.MethodGet, kb[1].url+"/api/accounts", "", map[string]string{"Cookie": "kirobar_session_" + kb[1].port + "=" + c.Value})
		if resp.StatusCode != 401 {
			t.Fatalf("kirobar 1 accepted kirobar 0's session: %d %s", resp.StatusCode, body)
		}
	}
	if stolen != 1 {
		t.Fatalf("the jar holds %d cookies of kirobar 0", stolen)
	}
	for _, k := range kb {
		k.serve.stop()
	}
}

// TestSecurityEchoAndRedaction: a megabyte-long max_tokens gets a 400
// that quotes only a short prefix of it; an upstream error about "the
// bearer token" reaches the client and the flow record readable, while
// the access token itself appears nowhere.
func TestSecurityEchoAndRedaction(t *testing.T) {
	fake, err := kirofake.Start(kirofake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	refresh := "aorAAAAA" + strings.Repeat("e", 120)
	fake.AddAccount(kirofake.Account{ID: "acct1", AuthMethod: kirofake.AuthSocial, RefreshToken: refresh})
	home := filepath.Join(t.TempDir(), "home")
	addr := freePort(t)
	key := "kb-echo-test-key-0123456789abcdefghijkl"
	writeConfig(t, home, addr, key, fake.URL)
	if out, code := kirobar(t, home, "accounts", "add", "--refresh-token", refresh); code != 0 {
		t.Fatalf("accounts add: %d\n%s", code, out)
	}
	serve := startServe(t, home)
	url := "http://" + addr
	waitHealthy(t, url)
	auth := map[string]string{"x-api-key": key, "Content-Type": "application/json"}

	huge := strings.Repeat("9", 1<<20)
	for _, path := range []string{"/v1/messages", "/v1/chat/completions"} {
		resp, body := httpDo(t, http.MethodPost, url+path, `{"model":"claude-sonnet-4-5","max_tokens":`+huge+`,"messages":[{"role":"user","content":"hi"}]}`, auth)
		if resp.StatusCode != 400 || len(body) > 1024 || !strings.Contains(body, "max_tokens") {
			t.Fatalf("%s: %d, %d-byte answer to a 1 MB max_tokens: %.300s", path, resp.StatusCode, len(body), body)
		}
	}

	bearer := `{"message":"The bearer token included in the request is invalid."}`
	for range 4 { // more than a forced refresh and its retry use
		fake.Enqueue(kirofake.ErrorReply(403, bearer))
	}
	resp, body := httpDo(t, http.MethodPost, url+"/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}`, auth)
	if resp.StatusCode < 400 {
		t.Fatalf("a rejected token was answered %d: %s", resp.StatusCode, body)
	}
	logs := serve.stop()
	var rows []map[string]any
	out, code := kirobar(t, home, "flows", "list", "--json")
	if err := json.Unmarshal([]byte(out), &rows); code != 0 || err != nil || len(rows) == 0 {
		t.Fatalf("flows list: %d %v\n%s", code, err, out)
	}
	shown, code := kirobar(t, home, "flows", "show", rows[0]["id"].(string))
	if code != 0 || !strings.Contains(shown, "bearer token included in the request") || strings.Contains(shown, "bearer [REDACTED]") {
		t.Fatalf("the flow record does not keep Kiro's message readable:\n%s", shown)
	}
	var secrets []string
	for _, r := range fake.Requests() {
		secrets = append(secrets, r.AccessToken)
	}
	assertNoSecret(t, home, body+logs+shown+out, append(secrets, key, refresh)...)
}
