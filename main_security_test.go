package main

import (
	"archive/zip"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/kirobar/kirobar/internal/testkit/kirofake"
	"github.com/kirobar/kirobar/server"
)

// TestFirstStartIsPrivate: a first start writes a config that listens on
// loopback only, with a generated client key, in a 0700 home as 0600.
func TestFirstStartIsPrivate(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	if out, code := kirobar(t, home, "accounts", "list"); code != 0 {
		t.Fatalf("accounts list: %d\n%s", code, out)
	}
	data, err := os.ReadFile(filepath.Join(home, "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `listen = "127.0.0.1:8999"`) || !strings.Contains(string(data), `api_keys = ["kb-`) {
		t.Fatalf("first config does not listen on loopback with a key:\n%s", data)
	}
	key := string(data)[strings.Index(string(data), `api_keys = ["`)+len(`api_keys = ["`):]
	if key = key[:strings.IndexByte(key, '"')]; len(key) < server.StrongKeyLen {
		t.Fatalf("the generated key has %d characters, want at least %d", len(key), server.StrongKeyLen)
	}
	for path, want := range map[string]os.FileMode{home: 0o700, filepath.Join(home, "config.toml"): 0o600, filepath.Join(home, "kirobar.db"): 0o600} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Fatalf("%s has mode %s, want %s", path, st.Mode().Perm(), want)
		}
	}
}

// TestRefusesExposedListenWithoutKey: listening beyond loopback without a
// client key is a config error that says what to do; with a key it starts.
func TestRefusesExposedListenWithoutKey(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	addr := freePort(t)
	port := addr[strings.LastIndex(addr, ":")+1:]
	writeConfig(t, home, "0.0.0.0:"+port, "kb-placeholder-key-000000", "http://127.0.0.1:1")
	cfg := filepath.Join(home, "config.toml")
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	noKey := strings.Replace(string(data), `api_keys = ["kb-placeholder-key-000000"]`, `api_keys = []`, 1)
	if err := os.WriteFile(cfg, []byte(noKey), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := kirobar(t, home, "serve")
	if code != exitConfig || !strings.Contains(out, "not a loopback address") || !strings.Contains(out, "server.api_keys") {
		t.Fatalf("serve on 0.0.0.0 without a key: exit %d\n%s", code, out)
	}
	if c, err := http.Get("http://127.0.0.1:" + port + "/health"); err == nil {
		c.Body.Close()
		t.Fatal("kirobar listened although it refused the config")
	}
}

// TestFixesPermissions: a config and database other users could read, in
// a home they could list, are made private at start, with a warning.
func TestFixesPermissions(t *testing.T) {
	fake, err := kirofake.Start(kirofake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	home := filepath.Join(t.TempDir(), "home")
	addr := freePort(t)
	writeConfig(t, home, addr, "kb-perm-key-0123456789", fake.URL)
	if out, code := kirobar(t, home, "accounts", "list"); code != 0 { // creates kirobar.db
		t.Fatalf("accounts list: %d\n%s", code, out)
	}
	loose := map[string]os.FileMode{home: 0o755, filepath.Join(home, "config.toml"): 0o644, filepath.Join(home, "kirobar.db"): 0o644}
	for path, mode := range loose {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	stop := startServe(t, home).stop
	waitHealthy(t, "http://"+addr)
	logs := stop()
	for path, was := range loose {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(0o600)
		if path == home {
			want = 0o700
		}
		if st.Mode().Perm() != want {
			t.Fatalf("%s is %s after start (was %s), want %s", path, st.Mode().Perm(), was, want)
		}
	}
	if n := strings.Count(logs, "fixed permissions"); n != len(loose) {
		t.Fatalf("%d permission warnings, want %d:\n%s", n, len(loose), logs)
	}
}

// TestNoSecretAnywhere runs a whole session with known secrets (client
// key, refresh tokens including rotated ones, every access token the fake
// issued): import, successful and failing requests, a forced refresh, a
// CLI refresh, flows list/show/bundle and /health. No secret may appear in
// any file under the home directory (except config.toml and the database,
// which hold them by design), in anything kirobar printed, in any response
// or in the diagnostic bundle.
func TestNoSecretAnywhere(t *testing.T) {
	fake, err := kirofake.Start(kirofake.Options{RotateRefreshTokens: true})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	refresh := "aorAAAAA" + strings.Repeat("q", 120)
	fake.AddAccount(kirofake.Account{ID: "acct1", AuthMethod: kirofake.AuthSocial, RefreshToken: refresh})
	home := filepath.Join(t.TempDir(), "home")
	addr := freePort(t)
	key := "kb-secret-session-key-9876543210"
	writeConfig(t, home, addr, key, fake.URL)

	var output strings.Builder
	cli := func(args ...string) string {
		out, code := kirobar(t, home, args...)
		output.WriteString(out)
		if code != 0 {
			t.Fatalf("kirobar %v: %d\n%s", args, code, out)
		}
		return out
	}
	cli("accounts", "add", "--refresh-token", refresh)
	stop := startServe(t, home).stop
	url := "http://" + addr
	waitHealthy(t, url)

	request := func(path, body string, header map[string]string) {
		req, _ := http.NewRequest(http.MethodPost, url+path, strings.NewReader(body))
		req.Header.Set("content-type", "application/json")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		output.WriteString(readBody(t, resp))
		for k, vs := range resp.Header {
			output.WriteString(k + ": " + strings.Join(vs, ",") + "\n")
		}
	}
	msg := `{"model":"claude-sonnet-4-5","max_tokens":50,"stream":%s,"messages":[{"role":"user","content":"hello"}]}`
	auth := map[string]string{"x-api-key": key}
	request("/v1/messages", strings.Replace(msg, "%s", "true", 1), auth)
	request("/v1/chat/completions", strings.Replace(msg, "%s", "false", 1), map[string]string{"Authorization": "Bearer " + key})
	request("/v1/messages", strings.Replace(msg, "%s", "true", 1), map[string]string{"x-api-key": key + "x"}) // wrong key
	request("/v1/messages", `{"model":`, auth)                                                                // bad JSON
	fake.InvalidateAccessTokens("acct1")                                                                      // forced refresh
	request("/v1/messages", strings.Replace(msg, "%s", "false", 1), auth)
	fake.Enqueue(kirofake.ErrorReply(500, `{"message":"boom"}`), kirofake.ErrorReply(500, `{"message":"boom"}`), kirofake.ErrorReply(500, `{"message":"boom"}`))
	request("/v1/responses", `{"model":"claude-sonnet-4-5","input":"hi"}`, map[string]string{"Authorization": "Bearer " + key})
	resp, err := http.Get(url + "/health")
	if err != nil {
		t.Fatal(err)
	}
	output.WriteString(readBody(t, resp))
	cli("accounts", "refresh")
	cli("accounts", "list", "--json")
	output.WriteString(stop())

	flowsOut := cli("flows", "list", "--json")
	id := flowsOut[strings.Index(flowsOut, `"id": "`)+7:]
	id = id[:strings.Index(id, `"`)]
	cli("flows", "show", id)
	bundle := filepath.Join(t.TempDir(), "bundle.zip")
	cli("flows", "bundle", id, "--out", bundle)
	zr, err := zip.OpenReader(bundle)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		output.WriteString(f.Name + "\n" + string(b))
	}

	secrets := []string{key, refresh, fake.Account("acct1").RefreshToken}
	for _, r := range fake.Requests() {
		secrets = append(secrets, r.AccessToken)
	}
	if st := fake.Stats(); st.Refreshes["acct1"] < 3 {
		t.Fatalf("the session refreshed %d times; it should have rotated tokens at least 3 times", st.Refreshes["acct1"])
	}
	if len(zr.File) == 0 || !strings.Contains(output.String(), "boom") {
		t.Fatal("the session did not produce the bundle and errors it is meant to check")
	}
	// Started without a terminal, kirobar points at `kirobar setup` instead
	// of printing the key.
	if !strings.Contains(output.String(), "`kirobar setup claude`") {
		t.Fatal("kirobar started without a terminal did not say how to set a client up")
	}
	assertNoSecret(t, home, output.String(), secrets...)
}

// TestKeyOnlyOnTheTerminal: `kirobar serve` started in a terminal prints
// its address and the exact setup lines for Claude Code and Codex with
// the client key, once; when the first account is added from another
// terminal it says so and what to run next. The key reaches the terminal
// and nothing else: not logs/kirobar.log, not any file under the home.
func TestKeyOnlyOnTheTerminal(t *testing.T) {
	fake, err := kirofake.Start(kirofake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	refresh := "aorAAAAA" + strings.Repeat("t", 120)
	fake.AddAccount(kirofake.Account{ID: "acct1", AuthMethod: kirofake.AuthSocial, RefreshToken: refresh})
	home := filepath.Join(t.TempDir(), "home")
	addr := freePort(t)
	key := "kb-terminal-only-key-0123456789"
	writeConfig(t, home, addr, key, fake.URL)

	p := startPTY(t, home, t.TempDir(), "serve")
	p.waitFor("kirobar is serving on http://" + addr)
	p.waitFor("export ANTHROPIC_API_KEY=" + key)
	p.waitFor("No Kiro account yet")
	for _, want := range []string{"export ANTHROPIC_BASE_URL=http://" + addr, "export KIROBAR_KEY=" + key, "kirobar setup codex --write"} {
		if !strings.Contains(p.out.String(), want) {
			t.Fatalf("the start banner lacks %q:\n%s", want, p.out.String())
		}
	}
	if out, code := kirobar(t, home, "accounts", "add", "--refresh-token", refresh); code != 0 {
		t.Fatalf("accounts add: %d\n%s", code, out)
	}
	p.waitFor("kirobar can serve now")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	terminal := p.out.String()
	if n := strings.Count(terminal, "export ANTHROPIC_API_KEY="+key); n != 1 {
		t.Fatalf("the setup lines were printed %d times", n)
	}
	logFile, err := os.ReadFile(filepath.Join(home, "logs", "kirobar.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(logFile), "first Kiro account added") {
		t.Fatalf("the log does not record the first account:\n%s", logFile)
	}
	assertNoSecret(t, home, "", key, refresh, fake.Account("acct1").AccessToken)
}
