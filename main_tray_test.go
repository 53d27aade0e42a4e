//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kirobar/kirobar/internal/testkit/dbustest"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
)

// writeTrayConfig writes a config.toml for the tray test: every Kiro URL at
// the fake and the tray on (the default), plus extra TOML for [accounts].
func writeTrayConfig(t *testing.T, home, addr, key, fakeURL, accounts string) {
	t.Helper()
	cfg := fmt.Sprintf(`[server]
listen = %q
api_keys = [%q]
shutdown_grace = "3s"
[kiro]
api_url = %q
ide_url = %q
auth_url = %q
oidc_url = %q
[accounts]
%s
`, addr, key, fakeURL, fakeURL, fakeURL, fakeURL, accounts)
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "config.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// trayProcess is a kirobar running with its tray on the test's bus.
type trayProcess struct {
	*served
	menu *dbustest.Menu
}

// startTray starts `kirobar --home home` on the private bus with
// XDG_CONFIG_HOME at cfgHome, and waits for its icon to register.
func startTray(t *testing.T, bus *dbustest.Bus, watcher *dbustest.Watcher, opener *dbustest.Opener, home, cfgHome string) *trayProcess {
	t.Helper()
	p := &trayProcess{served: startKirobar(t, home, nil,
		"DBUS_SESSION_BUS_ADDRESS="+bus.Addr,
		"XDG_CONFIG_HOME="+cfgHome,
		"DISPLAY=", "WAYLAND_DISPLAY=", "BROWSER=",
		"PATH="+opener.PATH(),
	)}
	p.menu = bus.NewMenu(t, watcher.WaitItem(t, p.exited, 30*time.Second))
	return p
}

// quit clicks Quit and expects kirobar to exit 0.
func (p *trayProcess) quit(t *testing.T) {
	t.Helper()
	p.menu.Click("Quit")
	p.wait()
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestTrayEndToEnd runs the real kirobar with its tray on a private DBus
// session bus, against the fake Kiro upstream, and drives the menu as a
// panel does: first-run guidance, accounts added with the CLI appearing
// with their countdowns, stopping and starting the server, "Check all
// accounts", "Open dashboard", "Launch at login", "Quit" (exit 0, flows
// flushed), and after a restart with a longer refresh lead "Refresh
// expiring tokens".
func TestTrayEndToEnd(t *testing.T) {
	bus := dbustest.StartBus(t)
	watcher := bus.ExportWatcher(t)

	fake, err := kirofake.Start(kirofake.Options{AccessTTL: 20 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	refresh := map[string]string{}
	for _, id := range []string{"alice", "bob"} {
		refresh[id] = "aorAAAAA" + id + strings.Repeat("r", 120)
		fake.AddAccount(kirofake.Account{ID: id, Email: id + "@example.com", AuthMethod: kirofake.AuthSocial, RefreshToken: refresh[id]})
	}

	home := filepath.Join(t.TempDir(), "home")
	cfgHome := t.TempDir()
	addr := freePort(t)
	key := "kb-tray-e2e-key-0123456789abcdef"
	writeTrayConfig(t, home, addr, key, fake.URL, "")
	opener := dbustest.FakeOpener(t)
	p := startTray(t, bus, watcher, opener, home, cfgHome)
	m := p.menu
	url := "http://" + addr

	// First run: no account, and the menu says what to do.
	m.WaitLabel("Running on " + addr + " · No account — Add account…")
	if tip, err := m.Tooltip(); err != nil || tip != "kirobar: running on "+addr+", no account — Add account…" {
		t.Errorf("first-run tooltip %q (%v)", tip, err)
	}
	m.WaitLabel("No accounts yet")

	// Accounts added with the CLI appear in the running tray with their
	// token countdowns.
	for _, id := range []string{"alice", "bob"} {
		if out, code := kirobar(t, home, "accounts", "add", "--refresh-token", refresh[id]); code != 0 {
			t.Fatalf("accounts add %s: %d\n%s", id, code, out)
		}
	}
	status := "Running on " + addr + " · 2/2 ready · 0 requests today"
	m.WaitLabel(status)
	// Until the first check an account is known by its sign-in kind; its
	// line shows the token countdown either way.
	countdown := regexp.MustCompile(`^(\S+) — expires in (\d+)m$`)
	accounts := m.WaitLabel("Accounts (2/2 ready)")
	var lines []string
	for _, n := range accounts.Children {
		if n.Visible && n.Label != "No accounts yet" {
			lines = append(lines, n.Label)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("account lines %q", lines)
	}
	for _, line := range lines {
		match := countdown.FindStringSubmatch(line)
		if match == nil {
			t.Fatalf("account line %q", line)
		}
		if mins, _ := strconv.Atoi(match[2]); mins < 10 || mins > 20 {
			t.Errorf("account line %q: the fake's tokens live 20m", line)
		}
	}
	if n := m.WaitLabel("Refresh expiring tokens (0)"); n.Enabled {
		t.Error("Refresh expiring tokens (0) is clickable")
	}
	if root, err := m.Layout(); err != nil || root.Find("No accounts yet") != nil {
		t.Errorf("placeholder still shown with two accounts (%v)", err)
	}
	if tip, err := m.Tooltip(); err != nil || tip != "kirobar: running on "+addr+", 2 of 2 accounts ready" {
		t.Errorf("tooltip %q (%v)", tip, err)
	}

	// Server running: the port closes, then reopens.
	m.Click("Server running")
	m.WaitChecked("Server running", false)
	m.WaitLabel("Stopped · 2/2 ready")
	m.WaitEnabled("Open dashboard", false) // served by the stopped server
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("port %s still open after stopping", addr)
	}
	m.Click("Server running")
	m.WaitChecked("Server running", true)
	waitHealthy(t, url)

	// Check all accounts: the fake sees the credit-free checks, and the
	// result lands in the status line.
	checks := sum(fake.Stats().UsageChecks)
	m.Click("Check all accounts")
	m.WaitLabel(status + " · Check: checked 2: 2 ready")
	if got := sum(fake.Stats().UsageChecks); got < checks+2 {
		t.Errorf("usage checks %d -> %d: the check did not reach Kiro for both accounts", checks, got)
	}
	// The check learned each account's e-mail, which now labels its line.
	m.WaitLabel("alice@example.com — expires in ")
	m.WaitLabel("bob@example.com — expires in ")

	// Open dashboard: the browser gets a one-time link that signs it in.
	m.Click("Open dashboard")
	link := opener.WaitPrefix(t, url+"/")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) == 0 {
		t.Errorf("dashboard link: %d with cookies %v", resp.StatusCode, resp.Cookies())
	}
	_, token, _ := strings.Cut(link, "token=")
	// The link sat in the browser launcher's command line, which other
	// local users can read; once used it signs nobody else in.
	resp, err = noRedirect.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(resp.Cookies()) != 0 || !strings.HasSuffix(resp.Header.Get("Location"), "#link-expired") {
		t.Errorf("a used dashboard link signed in again: %d %v", resp.StatusCode, resp.Cookies())
	}

	// Launch at login: the XDG autostart file appears, then goes.
	desktop := filepath.Join(cfgHome, "autostart", "kirobar.desktop")
	m.Click("Launch at login")
	m.WaitChecked("Launch at login", true)
	b, err := os.ReadFile(desktop)
	if err != nil {
		t.Fatalf("autostart file: %v", err)
	}
	if exe, _ := filepath.EvalSymlinks(kirobarBin); !strings.Contains(string(b), "\nExec="+exe+" --hidden\n") {
		t.Errorf("autostart file does not start %s --hidden:\n%s", exe, b)
	}
	m.Click("Launch at login")
	m.WaitChecked("Launch at login", false)
	if _, err := os.Stat(desktop); !os.IsNotExist(err) {
		t.Errorf("autostart file after unchecking: %v", err)
	}

	// One request, so there is a flow to flush on the way out.
	body := `{"model":"claude-sonnet-4-5","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}`
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/messages", strings.NewReader(body))
	req.Header.Set("x-api-key", key)
	req.Header.Set("content-type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if all := readBody(t, resp); resp.StatusCode != 200 || !strings.Contains(all, "ofake.") {
		t.Fatalf("request through kirobar: %d\n%s", resp.StatusCode, all)
	}
	m.WaitLabel("Running on " + addr + " · 2/2 ready · 1 request today")

	// Quit: the process exits 0, and the flow is on disk.
	p.quit(t)
	out, code := kirobar(t, home, "flows", "list", "--json")
	var rows []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 1 {
		t.Fatalf("flows after quitting: %d\n%s", code, out)
	}

	// Again with a refresh lead longer than the fake's 20-minute tokens:
	// both accounts are expiring, and background refreshes are spaced an
	// hour apart so only the first happens before the click.
	writeTrayConfig(t, home, addr, key, fake.URL, "refresh_lead = \"30m\"\nrefresh_spacing = \"1h\"")
	p2 := startTray(t, bus, watcher, opener, home, cfgHome)
	m = p2.menu
	m.WaitLabel("Refresh expiring tokens (2)")
	if tip, err := m.Tooltip(); err != nil || tip != "kirobar: running on "+addr+", 2 of 2 accounts ready, 2 expiring" {
		t.Errorf("tooltip with expiring tokens %q (%v)", tip, err)
	}
	refreshes := fake.Stats().Refreshes
	m.Click("Refresh expiring tokens (2)")
	m.WaitFor("the refresh's result in the status line", func(root *dbustest.Node) bool {
		n := root.Find("Running on " + addr + " · 2/2 ready · ")
		return n != nil && strings.HasSuffix(n.Label, " · Refreshed 2 tokens")
	})
	// A token refreshed in the last 10 seconds is not refreshed again (the
	// startup refresh may have just taken one), so at least the other one
	// reached Kiro.
	after := fake.Stats().Refreshes
	if after["alice"] <= refreshes["alice"] && after["bob"] <= refreshes["bob"] {
		t.Errorf("refreshes %v -> %v: Refresh expiring reached Kiro for neither account", refreshes, after)
	}
	p2.quit(t)

	var secrets []string
	for _, id := range []string{"alice", "bob"} {
		secrets = append(secrets, refresh[id], fake.Account(id).AccessToken)
	}
	assertNoSecret(t, home, p.logs.String()+p2.logs.String(), append(secrets, key, token)...)
}
