package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/kirobar/kirobar/internal/testkit/kirofake"
)

// evilModel is a model name that clears the screen (ESC[2J), writes the
// clipboard (OSC 52) and rings the bell if a terminal ever gets it raw.
const evilModel = "claude-sonnet-4-5\x1b[2J\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07"

// TestTerminalEscapesAreShownNotObeyed records a flow whose model name
// carries terminal escapes, through the real proxy, then reads it back
// with `kirobar flows list` and `flows show`: the escapes appear as text,
// never as the raw bytes, and so do an account label and an unknown id
// carrying them.
func TestTerminalEscapesAreShownNotObeyed(t *testing.T) {
	fake, err := kirofake.Start(kirofake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	refresh := "aorAAAAA" + strings.Repeat("e", 120)
	fake.AddAccount(kirofake.Account{ID: "acct1", AuthMethod: kirofake.AuthSocial, RefreshToken: refresh})
	home := filepath.Join(t.TempDir(), "home")
	addr := freePort(t)
	key := "kb-escape-test-key-0123456789"
	writeConfig(t, home, addr, key, fake.URL)
	if out, code := kirobar(t, home, "accounts", "add", "--refresh-token", refresh, "--label", "work\x1b[31m\x1b]0;pwned\x07"); code != 0 {
		t.Fatalf("accounts add: %d\n%s", code, out)
	}
	serve := startServe(t, home)
	waitHealthy(t, "http://"+addr)
	body, _ := json.Marshal(map[string]any{"model": evilModel, "max_tokens": 20, "messages": []any{map[string]any{"role": "user", "content": "hi"}}})
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/messages", strings.NewReader(string(body)))
	req.Header.Set("x-api-key", key)
	req.Header.Set("content-type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if all := readBody(t, resp); resp.StatusCode != 200 {
		t.Fatalf("request with the model name: %d %s", resp.StatusCode, all)
	}
	serve.stop()

	raw, code := kirobar(t, home, "flows", "list", "--json")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(raw), &rows); err != nil || code != 0 || len(rows) != 1 || rows[0]["client_model"] != evilModel {
		t.Fatalf("the flow was not recorded with the model name as sent: %d %v\n%s", code, err, raw)
	}
	id := rows[0]["id"].(string)
	for _, args := range [][]string{{"flows", "list"}, {"flows", "show", id}, {"flows", "show", id, "--json"}, {"flows", "stats"},
		{"accounts", "list"}, {"flows", "show", "nope\x1b[2J"}} {
		out, _ := kirobar(t, home, args...)
		if strings.ContainsAny(out, "\x1b\x07") {
			t.Errorf("kirobar %q printed a raw escape:\n%q", args, out)
		}
		if args[1] != "stats" && !strings.Contains(out, `\x1b[2J`) && !strings.Contains(out, `\u001b[2J`) && !strings.Contains(out, `\x1b[31m`) {
			t.Errorf("kirobar %q does not show the escape as text:\n%s", args, out)
		}
	}
}

// ptyProc is kirobar running on a pseudo-terminal, as in a person's shell.
type ptyProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	tty    *os.File
	out    *lockedBuffer
	exited chan error
}

// startPTY runs `kirobar --home home ARGS...` on a new pseudo-terminal
// with HOME at userHome.
func startPTY(t *testing.T, home, userHome string, args ...string) *ptyProc {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("no pseudo-terminals on windows")
	}
	cmd := exec.Command(kirobarBin, append([]string{"--home", home}, args...)...)
	cmd.Env = append(os.Environ(), "KIROBAR_HOME=", "HOME="+userHome, "TERM=xterm")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 200})
	if err != nil {
		t.Fatal(err)
	}
	p := &ptyProc{t: t, cmd: cmd, tty: tty, out: &lockedBuffer{}, exited: make(chan error, 1)}
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(p.out, tty) // ends with EIO once the process is gone
		close(copied)
	}()
	go func() {
		err := cmd.Wait()
		<-copied
		p.exited <- err
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		tty.Close()
		if t.Failed() {
			t.Logf("terminal:\n%s", p.out.String())
		}
	})
	return p
}

// waitFor waits until the terminal shows s.
func (p *ptyProc) waitFor(s string) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.out.String(), s) {
		if time.Now().After(deadline) {
			p.t.Fatalf("the terminal never showed %q:\n%s", s, p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// typeLine types a line as a person would.
func (p *ptyProc) typeLine(s string) {
	p.t.Helper()
	if _, err := p.tty.WriteString(s + "\r"); err != nil {
		p.t.Fatal(err)
	}
}

// wait waits for the process to exit and returns its exit code.
func (p *ptyProc) wait() int {
	p.t.Helper()
	select {
	case err := <-p.exited:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			p.t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		p.t.Fatalf("kirobar did not exit:\n%s", p.out.String())
		return -1
	}
}

// TestLoginAsksAtTheTerminal: `kirobar accounts login` without a flag, in
// a terminal, offers the kinds of sign-in and runs the one chosen (here
// the import of the Kiro IDE's login); without a terminal it names the
// flags instead of waiting for an answer nobody can give.
func TestLoginAsksAtTheTerminal(t *testing.T) {
	fake, err := kirofake.Start(kirofake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	home := filepath.Join(t.TempDir(), "home")
	writeConfig(t, home, freePort(t), "kb-login-test-key-0123456789", fake.URL)
	userHome := t.TempDir()
	a := kirofake.Account{ID: "ide", AuthMethod: kirofake.AuthSocial, RefreshToken: "aorAAAAA" + strings.Repeat("i", 120),
		AccessToken: "aoaAAAAA" + strings.Repeat("j", 120), AccessExpiry: time.Now().Add(time.Hour), ProfileARN: kirofake.DefaultProfileARN}
	fake.AddAccount(a)
	cache := filepath.Join(userHome, ".aws", "sso", "cache")
	if err := os.MkdirAll(cache, 0o700); err != nil {
		t.Fatal(err)
	}
	tokenFile, _ := json.Marshal(map[string]any{"accessToken": a.AccessToken, "refreshToken": a.RefreshToken,
		"expiresAt": a.AccessExpiry.UTC().Format("2006-01-02T15:04:05.000Z"), "authMethod": "social", "provider": "Google", "profileArn": a.ProfileARN})
	if err := os.WriteFile(filepath.Join(cache, "kiro-auth-token.json"), tokenFile, 0o600); err != nil {
		t.Fatal(err)
	}

	if out, code := kirobar(t, home, "accounts", "login"); code != exitUsage || !strings.Contains(out, "exactly one of --builder-id") {
		t.Fatalf("login without a terminal: %d\n%s", code, out)
	}
	p := startPTY(t, home, userHome, "accounts", "login")
	p.waitFor("How do you sign in to Kiro?")
	p.waitFor("Choose 1-5: ")
	p.typeLine("7")
	p.waitFor("Type a number from 1 to 5.")
	p.typeLine("5")
	p.waitFor("imported ")
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d:\n%s", code, p.out.String())
	}
	if out, _ := kirobar(t, home, "accounts", "list", "--json"); !strings.Contains(out, `"auth_method": "social"`) && !strings.Contains(out, `"social"`) {
		t.Fatalf("no account after the sign-in:\n%s", out)
	}
}

// TestSetupWriteWorksWithRealClients: after `kirobar setup claude --write`
// and `kirobar setup codex --write` in a fresh home, the real Claude Code
// (no ANTHROPIC_* variable set) and the real Codex CLI (KIROBAR_KEY only)
// answer through kirobar.
func TestSetupWriteWorksWithRealClients(t *testing.T) {
	claude, codex := clientBin(t, "claude"), clientBin(t, "codex")
	fake, err := kirofake.Start(kirofake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	refresh := "aorAAAAA" + strings.Repeat("s", 120)
	fake.AddAccount(kirofake.Account{ID: "acct1", AuthMethod: kirofake.AuthSocial, RefreshToken: refresh})
	fake.SetResponder(func(r *kirofake.Request) kirofake.Reply { return kirofake.TextReply("kirobar-answered") })
	home := filepath.Join(t.TempDir(), "home")
	addr := freePort(t)
	key := "kb-setup-e2e-key-0123456789"
	writeConfig(t, home, addr, key, fake.URL)
	if out, code := kirobar(t, home, "accounts", "add", "--refresh-token", refresh); code != 0 {
		t.Fatalf("accounts add: %d\n%s", code, out)
	}
	serve := startServe(t, home)
	waitHealthy(t, "http://"+addr)
	defer serve.stop()

	userHome := t.TempDir()
	setup := func(client string) string {
		cmd := exec.Command(kirobarBin, "--home", home, "setup", client, "--write")
		cmd.Env = append(os.Environ(), "KIROBAR_HOME=", "HOME="+userHome, "CLAUDE_CONFIG_DIR=", "CODEX_HOME=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("setup %s --write: %v\n%s", client, err, out)
		}
		return string(out)
	}
	setup("claude")
	if st, err := os.Stat(filepath.Join(userHome, ".claude", "settings.json")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("settings.json: %v %v", st, err)
	}
	work := t.TempDir()
	env := []string{"HOME=" + userHome, "PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8", "TERM=dumb",
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "DISABLE_AUTOUPDATER=1"}
	cmd := exec.Command(claude, "-p", "say hi", "--output-format", "json")
	cmd.Dir, cmd.Env = work, env
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "kirobar-answered") {
		t.Fatalf("claude after setup --write: %v\n%s", err, out)
	}

	if printed := setup("codex"); !strings.Contains(printed, "export KIROBAR_KEY="+key) {
		t.Fatalf("setup codex --write does not say how to pass the key:\n%s", printed)
	}
	cmd = exec.Command(codex, "exec", "--skip-git-repo-check", "say hi")
	cmd.Dir, cmd.Env = work, append(env, "KIROBAR_KEY="+key)
	out, err = cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "kirobar-answered") {
		t.Fatalf("codex after setup --write: %v\n%s", err, out)
	}
	if n := len(fake.Requests()); n < 2 {
		t.Fatalf("the fake saw %d requests, want one from each client", n)
	}
}

// clientBin finds a real client installed by .ci/setup (KIROBAR_CLIENTS);
// a missing one skips the test locally and fails it in CI.
func clientBin(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("KIROBAR_CLIENTS")
	if dir == "" {
		dir = filepath.Join(".ci", "clients")
	}
	bin, err := filepath.Abs(filepath.Join(dir, "node_modules", ".bin", name))
	if err == nil {
		if _, err = os.Stat(bin); err == nil {
			return bin
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed (%v): run .ci/setup", name, err)
	}
	t.Skipf("%s is not installed; run `make setup` (or bash .ci/setup)", name)
	return ""
}
