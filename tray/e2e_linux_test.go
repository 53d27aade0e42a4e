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
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kirobar/kirobar/internal/testkit/dbustest"
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
	bus := dbustest.StartBus(t)
	watcher := bus.ExportWatcher(t)
	notes := bus.ExportNotifications(t)
	opener := dbustest.FakeOpener(t)

	cfgHome := t.TempDir()
	raceDir := t.TempDir()
	defer checkChildRaces(t, raceDir)
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(),
		"GORACE=exitcode=0 log_path="+filepath.Join(raceDir, "race"),
		childEnv+"="+t.TempDir(),
		"DBUS_SESSION_BUS_ADDRESS="+bus.Addr,
		"XDG_CONFIG_HOME="+cfgHome,
		"PATH="+opener.PATH(),
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

	c := bus.NewMenu(t, watcher.WaitItem(t, exited, 20*time.Second))

	// The menu shows the state, the account lines and their countdowns.
	status := c.WaitLabel("Running on 127.0.0.1:")
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
		c.WaitLabel(want)
	}
	checkLayout(t, c, port)
	if root, err := c.Layout(); err != nil || root.Find("No accounts yet") != nil || root.Find("Cancel sign-in") != nil {
		t.Errorf("placeholder or sign-in line visible with four accounts and no sign-in (%v)", err)
	}
	first := c.WaitLabel("bob@example.com").Label
	c.WaitFor("bob's countdown ticking", func(root *dbustest.Node) bool {
		n := root.Find("bob@example.com")
		return n != nil && n.Label != first && strings.Contains(n.Label, "expires in")
	})
	tip, err := c.Tooltip()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tip, "kirobar: running on "+port+", 2 of 4 accounts ready") {
		t.Errorf("tooltip %q", tip)
	}

	// Server running: the port closes, then reopens.
	c.Click("Server running")
	out.wait(t, "call StopServer")
	c.WaitFor("the server stopped", func(root *dbustest.Node) bool {
		s, n := root.Find("Stopped"), root.Find("Server running")
		return s != nil && n != nil && !n.Checked
	})
	if conn, err := net.DialTimeout("tcp", port, time.Second); err == nil {
		conn.Close()
		t.Errorf("port %s still open after stopping", port)
	}
	c.WaitEnabled("Open dashboard", false) // served by the stopped server
	c.Click("Server running")
	out.wait(t, "call StartServer")
	c.WaitFor("the server running", func(root *dbustest.Node) bool {
		n := root.Find("Server running")
		return root.Find("Running on "+port) != nil && n != nil && n.Checked
	})
	nc, err := net.DialTimeout("tcp", port, 5*time.Second)
	if err != nil {
		t.Fatalf("port %s closed after starting: %v", port, err)
	}
	nc.Close()

	// Open dashboard: the OS opener gets the one-time URL.
	c.Click("Open dashboard")
	if got := opener.WaitPrefix(t, "http://"+port+"/"); got != "http://"+port+"/ui/?token=one-time-e2e" {
		t.Errorf("opened %q for the dashboard", got)
	}

	// Refresh expiring tokens (1) -> (0), disabled.
	c.Click("Refresh expiring tokens (1)")
	out.wait(t, "call RefreshExpiring")
	c.WaitFor("nothing left to refresh", func(root *dbustest.Node) bool {
		n := root.Find("Refresh expiring tokens (0)")
		return n != nil && !n.Enabled && root.Find("Running on "+port+" · 2/4 ready · 7 requests today · Refreshed 1 token") != nil
	})

	// Check all: progress in the label, the result in the status line.
	c.Click("Check all accounts")
	out.wait(t, "call CheckAll")
	if n := c.WaitLabel("Checking accounts… 2/4"); n.Enabled {
		t.Error("Check all stays clickable while checking")
	}
	fmt.Fprintln(stdin, "release")
	c.WaitLabel("Running on " + port + " · 2/4 ready · 7 requests today · Check: 4 checked: 2 ok, 1 needs login, 1 cooling")
	c.WaitEnabled("Check all accounts", true)

	// Launch at login: the autostart file appears, then goes.
	desktop := filepath.Join(cfgHome, "autostart", "kirobar.desktop")
	c.Click("Launch at login")
	c.WaitChecked("Launch at login", true)
	b, err := os.ReadFile(desktop)
	if err != nil {
		t.Fatalf("autostart file: %v", err)
	}
	if !strings.Contains(string(b), "\nExec=\"/opt/kiro bar/kirobar\" --hidden\n") {
		t.Errorf("autostart file:\n%s", b)
	}
	c.Click("Launch at login")
	c.WaitChecked("Launch at login", false)
	if _, err := os.Stat(desktop); !os.IsNotExist(err) {
		t.Errorf("autostart file after unchecking: %v", err)
	}

	// Add account: a device flow shows its code, its page opens again from
	// the code line, and "Cancel sign-in" ends it.
	c.Click("Sign in with Builder ID")
	out.wait(t, "call Login builder-id")
	c.WaitEnabled("Sign in with Google", false)
	c.Click("Enter code ABCD-EFGH at device.example.com/verify")
	opener.WaitPrefix(t, "https://device.example.com/verify?user_code=ABCD-EFGH")
	c.Click("Cancel sign-in")
	out.wait(t, "login canceled")
	c.WaitLabel("Running on " + port + " · 2/4 ready · 7 requests today · Sign-in with Builder ID canceled")
	c.WaitFor("the sign-in lines gone", func(root *dbustest.Node) bool {
		return root.Find("Enter code") == nil && root.Find("Cancel sign-in") == nil
	})
	// Again, approved this time: the new account appears with its countdown.
	c.Click("Sign in with Builder ID")
	c.WaitLabel("Enter code ABCD-EFGH at")
	fmt.Fprintln(stdin, "approve")
	c.WaitLabel("erin@example.com — expires in 8h")
	c.WaitLabel("Running on " + port + " · 3/5 ready · 7 requests today · Added erin@example.com")

	// Sign in again, offered only on the account that needs login.
	carol := c.WaitLabel("carol@example.com")
	if n := carol.Child("Sign in again"); n == nil || !n.Visible {
		t.Fatalf("carol's submenu has no Sign in again:\n%s", dbustest.Dump(carol))
	}
	if n := c.WaitLabel("alice@example.com").Child("Sign in again"); n != nil && n.Visible {
		t.Error("Sign in again offered on a ready account")
	}
	c.ClickNode(carol.Child("Sign in again"))
	out.wait(t, "call Relogin carol")
	c.WaitLabel("Sign-in to carol@example.com: Waiting for the browser")
	fmt.Fprintln(stdin, "approve")
	c.WaitLabel("carol@example.com — expires in 1h")
	c.WaitLabel("Running on " + port + " · 4/5 ready · 7 requests today · carol@example.com signed in again")

	// Per-account actions.
	c.Click("Refresh now") // alice's, the first line
	out.wait(t, "call RefreshAccount alice")
	c.WaitLabel("alice@example.com — expires in 5h")
	carol = c.WaitLabel("carol@example.com")
	disable := carol.Child("Disable")
	if disable == nil {
		t.Fatalf("carol's submenu: %s", dbustest.Dump(carol))
	}
	c.ClickNode(disable)
	out.wait(t, "call SetAccountEnabled carol false")
	c.WaitLabel("carol@example.com — disabled")

	// Copy Claude Code setup: no clipboard tool here, so a notification.
	c.Click("Copy Claude Code setup")
	select {
	case n := <-notes.Got:
		if n[0] != "Claude Code setup" || !strings.Contains(n[1], "ANTHROPIC_BASE_URL=http://"+port) {
			t.Errorf("setup notification %q", n)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no setup notification")
	}
	c.WaitLabel("Running on " + port + " · 3/5 ready · 7 requests today · No clipboard tool found")

	// An account suspended upstream raises a desktop notification.
	fmt.Fprintln(stdin, "suspend dave")
	select {
	case n := <-notes.Got:
		if n[0] != "dave@example.com was suspended" {
			t.Errorf("notification %q", n)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no notification for the suspended account")
	}
	c.WaitLabel("dave@example.com — suspended")

	// Quit: Run returns and the process exits 0.
	c.Click("Quit")
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

// checkLayout compares the menu on the bus with the one the table
// declares: the same items in the same places, separators where the
// table puts them, the same labels and the same greyed-out items. The
// expected menu is a controller's own, fed the backend's first state.
// Account details tick, so an account line is compared up to its " — ".
func checkLayout(t *testing.T, c *dbustest.Menu, addr string) {
	t.Helper()
	ctl := NewController(time.Now, "kirobar", time.Hour)
	ctl.SetFeatures(Features{Login: true, Dashboard: true})
	accts := memAccounts(time.Now())
	ctl.Update(Status{Running: true, Addr: addr, RequestsToday: 7, Ready: 2, Total: len(accts)}, accts, 1)
	want := tableLayout(ctl)
	c.WaitFor("the menu the table declares:\n"+strings.Join(want, "\n")+"\n", func(root *dbustest.Node) bool {
		return slices.Equal(busLayout(root, ""), want)
	})
}

// line is one visible item of a menu layout, as the two sides compare it.
func line(indent, label string, enabled bool) string {
	label, _, _ = strings.Cut(label, " — ")
	if !enabled {
		label += " (disabled)"
	}
	return indent + label
}

// tableLayout is the menu the table declares in c's state, one visible
// item or separator a line, nested items indented.
func tableLayout(c *Controller) []string {
	items := c.items()
	ids := order(len(c.accounts))
	var out []string
	var walk func(parent *ItemID, indent string)
	walk = func(parent *ItemID, indent string) {
		for _, id := range ids {
			p, nested := parentOf(id)
			if nested != (parent != nil) || nested && p != *parent {
				continue
			}
			if entryOf(id.Kind).gap {
				out = append(out, indent+"---")
			}
			if it := items[id]; it.Visible {
				out = append(out, line(indent, it.Label, it.Enabled))
				walk(&id, indent+"  ")
			}
		}
	}
	walk(nil, "")
	return out
}

// busLayout is the menu on the bus in the same form: a separator is an
// item without a label.
func busLayout(n *dbustest.Node, indent string) []string {
	var out []string
	for _, c := range n.Children {
		switch {
		case !c.Visible:
		case c.Label == "" && len(c.Children) == 0:
			out = append(out, indent+"---")
		default:
			out = append(out, line(indent, c.Label, c.Enabled))
			out = append(out, busLayout(c, indent+"  ")...)
		}
	}
	return out
}
