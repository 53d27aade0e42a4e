package main

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
