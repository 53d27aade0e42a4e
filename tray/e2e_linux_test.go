//go:build linux

package tray

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

const childEnv = "KIROBAR_TRAY_E2E_CHILD"

// TestMain lets the test binary play kirobar for the DBus end-to-end test:
// fyne.io/systray keeps package-level state, so the tray runs in a child
// process of its own, on the main goroutine as in the real program.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	os.Exit(m.Run())
}

func runChild() int {
	b, err := newMemBackend(os.Getenv(childEnv))
	if err != nil {
		fmt.Println("child:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	err = Run(context.Background(), b, Options{AppName: "kirobar", Exec: "/opt/kiro bar/kirobar", Log: log})
	if err != nil {
		fmt.Println("child:", err)
		return 2
	}
	fmt.Println("run returned")
	return 0
}

// fakeWatcher is the test's org.kde.StatusNotifierWatcher: it records the
// bus name of each item that registers.
type fakeWatcher struct {
	items chan string
}

func (w *fakeWatcher) RegisterStatusNotifierItem(sender dbus.Sender, service string) *dbus.Error {
	if strings.HasPrefix(service, "/") { // fyne.io/systray sends its object path
		service = string(sender)
	}
	w.items <- service
	return nil
}

func (w *fakeWatcher) RegisterStatusNotifierHost(service string) *dbus.Error { return nil }

// fakeNotifications is the test's org.freedesktop.Notifications server.
type fakeNotifications struct {
	got chan [2]string // title, body
}

func (n *fakeNotifications) Notify(app string, replaces uint32, icon, summary, body string,
	actions []string, hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	n.got <- [2]string{summary, body}
	return 1, nil
}

// startBus runs a private dbus-daemon and returns its address.
func startBus(t *testing.T) string {
	t.Helper()
	daemon, err := exec.LookPath("dbus-daemon")
	if err != nil {
		t.Skip("dbus-daemon is not installed (apt-get install dbus-daemon); skipping the DBus end-to-end test")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "bus.conf")
	err = os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=`+dir+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(daemon, "--config-file="+conf, "--print-address", "--nofork")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon address: %v", err)
	}
	return strings.TrimSpace(addr)
}

// exportWatcher owns org.kde.StatusNotifierWatcher on conn.
func exportWatcher(t *testing.T, conn *dbus.Conn) *fakeWatcher {
	t.Helper()
	w := &fakeWatcher{items: make(chan string, 4)}
	const path = "/StatusNotifierWatcher"
	const iface = "org.kde.StatusNotifierWatcher"
	if err := conn.Export(w, path, iface); err != nil {
		t.Fatal(err)
	}
	_, err := prop.Export(conn, path, prop.Map{iface: {
		"RegisteredStatusNotifierItems":  {Value: []string{}, Emit: prop.EmitTrue},
		"IsStatusNotifierHostRegistered": {Value: true, Emit: prop.EmitTrue},
		"ProtocolVersion":                {Value: int32(0), Emit: prop.EmitTrue},
	}})
	if err != nil {
		t.Fatal(err)
	}
	requestName(t, conn, iface)
	return w
}

func requestName(t *testing.T, conn *dbus.Conn, name string) {
	t.Helper()
	reply, err := conn.RequestName(name, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own %s: %v (reply %d)", name, err, reply)
	}
}

// node is one dbusmenu item as GetLayout returns it.
type node struct {
	ID       int32
	Label    string
	Enabled  bool
	Visible  bool
	Checked  bool
	Children []*node
}

func toNode(v any) (*node, error) {
	f, ok := v.([]any)
	if !ok || len(f) != 3 {
		return nil, fmt.Errorf("layout item %T %v", v, v)
	}
	id, _ := f[0].(int32)
	props, _ := f[1].(map[string]dbus.Variant)
	n := &node{ID: id, Enabled: true, Visible: true}
	if l, ok := props["label"]; ok {
		n.Label, _ = l.Value().(string)
	}
	if e, ok := props["enabled"]; ok {
		n.Enabled, _ = e.Value().(bool)
	}
	if e, ok := props["visible"]; ok {
		n.Visible, _ = e.Value().(bool)
	}
	if e, ok := props["toggle-state"]; ok {
		s, _ := e.Value().(int32)
		n.Checked = s == 1
	}
	kids, _ := f[2].([]dbus.Variant)
	for _, k := range kids {
		c, err := toNode(k.Value())
		if err != nil {
			return nil, err
		}
		n.Children = append(n.Children, c)
	}
	return n, nil
}

// find returns the first visible item whose label starts with prefix.
func (n *node) find(prefix string) *node {
	for _, c := range n.Children {
		if c.Visible && c.Label != "" && strings.HasPrefix(c.Label, prefix) {
			return c
		}
		if f := c.find(prefix); f != nil {
			return f
		}
	}
	return nil
}

// trayClient reads and clicks the child's menu.
type trayClient struct {
	t    *testing.T
	menu dbus.BusObject
	item dbus.BusObject
}

func (c *trayClient) layout() (*node, error) {
	var rev uint32
	var raw []any
	call := c.menu.Call("com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(-1), []string{})
	if call.Err != nil {
		return nil, call.Err
	}

	if len(call.Body) != 2 {
		return nil, fmt.Errorf("GetLayout returned %d values", len(call.Body))
	}
	rev, _ = call.Body[0].(uint32)
	_ = rev
	raw, _ = call.Body[1].([]any)
	return toNode(raw)
}

// waitFor polls the menu until cond holds (the first GetLayout answers one
// level deep, and every change arrives asynchronously).
func (c *trayClient) waitFor(what string, cond func(root *node) bool) *node {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last *node
	var err error
	for time.Now().Before(deadline) {
		last, err = c.layout()
		if err == nil && cond(last) {
			return last
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("menu never showed %s (last error %v); menu:\n%s", what, err, dump(last, ""))
	return nil
}

func (c *trayClient) waitLabel(prefix string) *node {
	c.t.Helper()
	var found *node
	c.waitFor(fmt.Sprintf("an item %q", prefix), func(root *node) bool {
		found = root.find(prefix)
		return found != nil
	})
	return found
}

func (c *trayClient) click(prefix string) {
	c.t.Helper()
	n := c.waitLabel(prefix)
	if !n.Enabled {
		c.t.Fatalf("%q is disabled", n.Label)
	}
	call := c.menu.Call("com.canonical.dbusmenu.Event", 0, n.ID, "clicked", dbus.MakeVariant(""), uint32(0))
	if call.Err != nil {
		c.t.Fatalf("click %q: %v", prefix, call.Err)
	}
}

func dump(n *node, indent string) string {
	if n == nil {
		return "(none)"
	}
	var b strings.Builder
	for _, c := range n.Children {
		fmt.Fprintf(&b, "%s%q enabled=%v visible=%v checked=%v\n", indent, c.Label, c.Enabled, c.Visible, c.Checked)
		b.WriteString(dump(c, indent+"  "))
	}
	return b.String()
}

// lines collects the child's stdout lines.
type lines struct {
	mu   sync.Mutex
	all  []string
	more chan struct{}
}

func collect(r io.Reader) *lines {
	l := &lines{more: make(chan struct{}, 1)}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			l.mu.Lock()
			l.all = append(l.all, sc.Text())
			l.mu.Unlock()
			select {
			case l.more <- struct{}{}:
			default:
			}
		}
	}()
	return l
}

// wait blocks until a line equal to want arrived.
func (l *lines) wait(t *testing.T, want string) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		l.mu.Lock()
		for _, s := range l.all {
			if s == want {
				l.mu.Unlock()
				return
			}
		}
		all := strings.Join(l.all, "\n")
		l.mu.Unlock()
		select {
		case <-l.more:
		case <-timeout:
			t.Fatalf("child never printed %q; it printed:\n%s", want, all)
		}
	}
}

// checkChildRaces fails the test for every data race the race detector
// reported in the tray process, except one inside fyne.io/systray itself:
// its first GetLayout starts a goroutine that bumps the menu revision
// 150 ms later without the lock GetLayout reads it under
// (systray_menu_unix.go, GetLayout and refresh). That one is the library's
// and benign on amd64 and arm64; anything else is ours.
func checkChildRaces(t *testing.T, dir string) {
	files, err := filepath.Glob(filepath.Join(dir, "race*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, report := range strings.Split(string(b), "WARNING: DATA RACE")[1:] {
			library := strings.Contains(report, "fyne.io/systray.refresh()") &&
				strings.Contains(report, "fyne.io/systray.(*tray).GetLayout.func1()") &&
				strings.Contains(report, "fyne.io/systray.(*tray).GetLayout()")
			if !library {
				t.Errorf("data race in the tray process:%s", report)
			}
		}
	}
}

func TestDBusEndToEnd(t *testing.T) {
	addr := startBus(t)
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	watcher := exportWatcher(t, conn)
	notes := &fakeNotifications{got: make(chan [2]string, 8)}
	if err := conn.Export(notes, "/org/freedesktop/Notifications", "org.freedesktop.Notifications"); err != nil {
		t.Fatal(err)
	}
	requestName(t, conn, "org.freedesktop.Notifications")

	cfgHome := t.TempDir()
	raceDir := t.TempDir()
	defer checkChildRaces(t, raceDir)
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(),
		"GORACE=exitcode=0 log_path="+filepath.Join(raceDir, "race"),
		childEnv+"="+t.TempDir(),
		"DBUS_SESSION_BUS_ADDRESS="+addr,
		"XDG_CONFIG_HOME="+cfgHome,
		"DISPLAY=", "WAYLAND_DISPLAY=", // no clipboard tool: the setup goes to a notification
	)
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	out := collect(stdout)
	go func() { exited <- child.Wait() }()
	defer func() {
		if child.ProcessState == nil {
			_ = child.Process.Kill()
			<-exited
		}
	}()

	var itemName string
	select {
	case itemName = <-watcher.items:
	case err := <-exited:
		t.Fatalf("child exited before registering: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("the tray never registered with the StatusNotifierWatcher")
	}
	c := &trayClient{t: t,
		menu: conn.Object(itemName, "/StatusNotifierItem/menu"),
		item: conn.Object(itemName, "/StatusNotifierItem")}

	// The menu shows the state, the account lines and their countdowns.
	status := c.waitLabel("Running on 127.0.0.1:")
	if !strings.Contains(status.Label, "· 2/4 ready · 7 requests today") || status.Enabled {
		t.Errorf("status line %q enabled=%v", status.Label, status.Enabled)
	}
	port := strings.Fields(strings.TrimPrefix(status.Label, "Running on "))[0]
	for _, want := range []string{
		"alice@example.com — expires in 3h",
		"bob@example.com — expires in ",
		"carol@example.com — needs login",
		"dave@example.com — cooling 10m",
		"Accounts (2/4 ready)",
	} {
		c.waitLabel(want)
	}
	if root, err := c.layout(); err != nil || root.find("No accounts yet") != nil {
		t.Errorf("placeholder visible with four accounts (%v)", err)
	}
	first := c.waitLabel("bob@example.com").Label
	c.waitFor("bob's countdown ticking", func(root *node) bool {
		n := root.find("bob@example.com")
		return n != nil && n.Label != first && strings.Contains(n.Label, "expires in")
	})
	var tip struct {
		Name  string
		Icons []struct {
			W, H int32
			Pix  []byte
		}
		Title, Body string
	}
	if err := c.item.Call("org.freedesktop.DBus.Properties.Get", 0, "org.kde.StatusNotifierItem", "ToolTip").Store(&tip); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tip.Title, "kirobar: running on "+port+", 2 of 4 accounts ready") {
		t.Errorf("tooltip %q", tip.Title)
	}

	// Server running: the port closes, then reopens.
	c.click("Server running")
	out.wait(t, "call StopServer")
	c.waitFor("the server stopped", func(root *node) bool {
		s, n := root.find("Stopped"), root.find("Server running")
		return s != nil && n != nil && !n.Checked
	})
	if conn, err := net.DialTimeout("tcp", port, time.Second); err == nil {
		conn.Close()
		t.Errorf("port %s still open after stopping", port)
	}
	c.click("Server running")
	out.wait(t, "call StartServer")
	c.waitFor("the server running", func(root *node) bool {
		n := root.find("Server running")
		return root.find("Running on "+port) != nil && n != nil && n.Checked
	})
	nc, err := net.DialTimeout("tcp", port, 5*time.Second)
	if err != nil {
		t.Fatalf("port %s closed after starting: %v", port, err)
	}
	nc.Close()

	// Refresh expiring tokens (1) -> (0), disabled.
	c.click("Refresh expiring tokens (1)")
	out.wait(t, "call RefreshExpiring")
	c.waitFor("nothing left to refresh", func(root *node) bool {
		n := root.find("Refresh expiring tokens (0)")
		return n != nil && !n.Enabled && root.find("Running on "+port+" · 2/4 ready · 7 requests today · Refreshed 1 token") != nil
	})

	// Check all: progress in the label, the result in the status line.
	c.click("Check all accounts")
	out.wait(t, "call CheckAll")
	if n := c.waitLabel("Checking accounts… 2/4"); n.Enabled {
		t.Error("Check all stays clickable while checking")
	}
	fmt.Fprintln(stdin, "release")
	c.waitLabel("Running on " + port + " · 2/4 ready · 7 requests today · Check: 4 checked: 2 ok, 1 needs login, 1 cooling")
	c.waitFor("Check all enabled again", func(root *node) bool {
		n := root.find("Check all accounts")
		return n != nil && n.Enabled
	})

	// Launch at login: the autostart file appears, then goes.
	desktop := filepath.Join(cfgHome, "autostart", "kirobar.desktop")
	c.click("Launch at login")
	c.waitFor("Launch at login checked", func(root *node) bool {
		n := root.find("Launch at login")
		return n != nil && n.Checked
	})
	b, err := os.ReadFile(desktop)
	if err != nil {
		t.Fatalf("autostart file: %v", err)
	}
	if !strings.Contains(string(b), "\nExec=\"/opt/kiro bar/kirobar\" --hidden\n") {
		t.Errorf("autostart file:\n%s", b)
	}
	c.click("Launch at login")
	c.waitFor("Launch at login unchecked", func(root *node) bool {
		n := root.find("Launch at login")
		return n != nil && !n.Checked
	})
	if _, err := os.Stat(desktop); !os.IsNotExist(err) {
		t.Errorf("autostart file after unchecking: %v", err)
	}

	// Per-account actions.
	c.click("Refresh now") // alice's, the first line
	out.wait(t, "call RefreshAccount alice")
	c.waitLabel("alice@example.com — expires in 5h")
	carol := c.waitLabel("carol@example.com")
	var disable *node
	for _, n := range carol.Children {
		if n.Label == "Disable" {
			disable = n
		}
	}
	if disable == nil {
		t.Fatalf("carol's submenu: %s", dump(carol, ""))
	}
	if call := c.menu.Call("com.canonical.dbusmenu.Event", 0, disable.ID, "clicked", dbus.MakeVariant(""), uint32(0)); call.Err != nil {
		t.Fatal(call.Err)
	}
	out.wait(t, "call SetAccountEnabled carol false")
	c.waitLabel("carol@example.com — disabled")

	// Copy Claude Code setup: no clipboard tool here, so a notification.
	c.click("Copy Claude Code setup")
	select {
	case n := <-notes.got:
		if n[0] != "Claude Code setup" || !strings.Contains(n[1], "ANTHROPIC_BASE_URL=http://"+port) {
			t.Errorf("setup notification %q", n)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no setup notification")
	}
	c.waitLabel("Running on " + port + " · 2/4 ready · 7 requests today · No clipboard tool found")

	// An account suspended upstream raises a desktop notification.
	fmt.Fprintln(stdin, "suspend dave")
	select {
	case n := <-notes.got:
		if n[0] != "dave@example.com was suspended" {
			t.Errorf("notification %q", n)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no notification for the suspended account")
	}
	c.waitLabel("dave@example.com — suspended")

	// Quit: Run returns and the process exits 0.
	c.click("Quit")
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("child exit: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the tray did not quit")
	}
	out.wait(t, "run returned")
}
