// Package dbustest runs the DBus side of kirobar's tray end-to-end tests:
// a private dbus-daemon, a fake org.kde.StatusNotifierWatcher and
// org.freedesktop.Notifications owned by the test, and a client that reads
// and clicks a StatusNotifierItem's menu over com.canonical.dbusmenu the way
// a panel does. Both the tray package's test and the real-binary test in
// main use it. It is for tests only.
package dbustest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

// Bus is a private session bus and the test's connection to it.
type Bus struct {
	// Addr is the value for DBUS_SESSION_BUS_ADDRESS.
	Addr string
	// Conn is the test's own connection; the fakes are exported on it.
	Conn *dbus.Conn
}

// StartBus runs a private dbus-daemon for the test and connects to it. It
// skips the test when dbus-daemon is not installed. Everything stops when
// the test ends.
func StartBus(t testing.TB) *Bus {
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
		t.Fatalf("start dbus-daemon: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon address: %v", err)
	}
	b := &Bus{Addr: strings.TrimSpace(addr)}
	if b.Conn, err = dbus.Connect(b.Addr); err != nil {
		t.Fatalf("connect to the private bus: %v", err)
	}
	t.Cleanup(func() { _ = b.Conn.Close() })
	return b
}

// RequestName makes the test's connection the owner of name.
func (b *Bus) RequestName(t testing.TB, name string) {
	t.Helper()
	reply, err := b.Conn.RequestName(name, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own %s: %v (reply %d)", name, err, reply)
	}
}

// Watcher is the test's org.kde.StatusNotifierWatcher: it hands over the
// bus name of each item that registers.
type Watcher struct {
	Items chan string
}

// RegisterStatusNotifierItem is called by the tray over DBus.
func (w *Watcher) RegisterStatusNotifierItem(sender dbus.Sender, service string) *dbus.Error {
	if strings.HasPrefix(service, "/") { // fyne.io/systray sends its object path
		service = string(sender)
	}
	w.Items <- service
	return nil
}

// RegisterStatusNotifierHost is part of the watcher interface; no host
// registers in the tests.
func (w *Watcher) RegisterStatusNotifierHost(service string) *dbus.Error { return nil }

// ExportWatcher owns org.kde.StatusNotifierWatcher on the bus, so a tray
// finds a panel.
func (b *Bus) ExportWatcher(t testing.TB) *Watcher {
	t.Helper()
	w := &Watcher{Items: make(chan string, 4)}
	const path = "/StatusNotifierWatcher"
	const iface = "org.kde.StatusNotifierWatcher"
	if err := b.Conn.Export(w, path, iface); err != nil {
		t.Fatal(err)
	}
	_, err := prop.Export(b.Conn, path, prop.Map{iface: {
		"RegisteredStatusNotifierItems":  {Value: []string{}, Emit: prop.EmitTrue},
		"IsStatusNotifierHostRegistered": {Value: true, Emit: prop.EmitTrue},
		"ProtocolVersion":                {Value: int32(0), Emit: prop.EmitTrue},
	}})
	if err != nil {
		t.Fatal(err)
	}
	b.RequestName(t, iface)
	return w
}

// WaitItem returns the bus name of the first item that registers with w.
// It fails the test when exited (the tray process's end) says first or
// nothing registers within the deadline.
func (w *Watcher) WaitItem(t testing.TB, exited <-chan error, within time.Duration) string {
	t.Helper()
	select {
	case name := <-w.Items:
		return name
	case err := <-exited:
		t.Fatalf("the tray process exited before registering: %v", err)
	case <-time.After(within):
		t.Fatal("the tray never registered with the StatusNotifierWatcher")
	}
	return ""
}

// Notifications is the test's org.freedesktop.Notifications server.
type Notifications struct {
	Got chan [2]string // title, body
}

// Notify is called by the tray over DBus.
func (n *Notifications) Notify(app string, replaces uint32, icon, summary, body string,
	actions []string, hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	n.Got <- [2]string{summary, body}
	return 1, nil
}

// ExportNotifications owns org.freedesktop.Notifications on the bus.
func (b *Bus) ExportNotifications(t testing.TB) *Notifications {
	t.Helper()
	n := &Notifications{Got: make(chan [2]string, 8)}
	if err := b.Conn.Export(n, "/org/freedesktop/Notifications", "org.freedesktop.Notifications"); err != nil {
		t.Fatal(err)
	}
	b.RequestName(t, "org.freedesktop.Notifications")
	return n
}

// Node is one dbusmenu item as GetLayout returns it.
type Node struct {
	ID       int32
	Label    string
	Enabled  bool
	Visible  bool
	Checked  bool
	Children []*Node
}

func toNode(v any) (*Node, error) {
	f, ok := v.([]any)
	if !ok || len(f) != 3 {
		return nil, fmt.Errorf("layout item %T %v", v, v)
	}
	id, _ := f[0].(int32)
	props, _ := f[1].(map[string]dbus.Variant)
	n := &Node{ID: id, Enabled: true, Visible: true}
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

// Find returns the first visible item, at any depth, whose label starts
// with prefix.
func (n *Node) Find(prefix string) *Node {
	if n == nil {
		return nil
	}
	for _, c := range n.Children {
		if !c.Visible {
			continue
		}
		if c.Label != "" && strings.HasPrefix(c.Label, prefix) {
			return c
		}
		if f := c.Find(prefix); f != nil {
			return f
		}
	}
	return nil
}

// Child returns n's direct child labelled exactly label, visible or not.
func (n *Node) Child(label string) *Node {
	for _, c := range n.Children {
		if c.Label == label {
			return c
		}
	}
	return nil
}

// Dump writes the menu below n, one item a line, for failure messages.
func Dump(n *Node) string { return dump(n, "") }

func dump(n *Node, indent string) string {
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

// Menu reads and clicks one StatusNotifierItem's menu.
type Menu struct {
	t    testing.TB
	menu dbus.BusObject
	item dbus.BusObject
	// Within bounds every wait (default 20s: CI machines are slow).
	Within time.Duration
}

// NewMenu talks to the item that registered as name.
func (b *Bus) NewMenu(t testing.TB, name string) *Menu {
	return &Menu{t: t, Within: 20 * time.Second,
		menu: b.Conn.Object(name, "/StatusNotifierItem/menu"),
		item: b.Conn.Object(name, "/StatusNotifierItem")}
}

// Layout reads the whole menu once.
func (m *Menu) Layout() (*Node, error) {
	call := m.menu.Call("com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(-1), []string{})
	if call.Err != nil {
		return nil, call.Err
	}
	if len(call.Body) != 2 {
		return nil, fmt.Errorf("GetLayout returned %d values", len(call.Body))
	}
	raw, _ := call.Body[1].([]any)
	return toNode(raw)
}

// WaitFor polls the menu until cond holds (the first GetLayout answers one
// level deep, and every change arrives asynchronously) and returns it.
func (m *Menu) WaitFor(what string, cond func(root *Node) bool) *Node {
	m.t.Helper()
	deadline := time.Now().Add(m.Within)
	var last *Node
	var err error
	for time.Now().Before(deadline) {
		last, err = m.Layout()
		if err == nil && cond(last) {
			return last
		}
		time.Sleep(50 * time.Millisecond)
	}
	m.t.Fatalf("menu never showed %s (last error %v); menu:\n%s", what, err, Dump(last))
	return nil
}

// WaitLabel waits for a visible item whose label starts with prefix.
func (m *Menu) WaitLabel(prefix string) *Node {
	m.t.Helper()
	var found *Node
	m.WaitFor(fmt.Sprintf("an item %q", prefix), func(root *Node) bool {
		found = root.Find(prefix)
		return found != nil
	})
	return found
}

// WaitChecked waits until the item labelled prefix shows checked == on.
func (m *Menu) WaitChecked(prefix string, on bool) {
	m.t.Helper()
	m.WaitFor(fmt.Sprintf("%q checked=%v", prefix, on), func(root *Node) bool {
		n := root.Find(prefix)
		return n != nil && n.Checked == on
	})
}

// WaitEnabled waits until the item labelled prefix shows enabled == on.
func (m *Menu) WaitEnabled(prefix string, on bool) {
	m.t.Helper()
	m.WaitFor(fmt.Sprintf("%q enabled=%v", prefix, on), func(root *Node) bool {
		n := root.Find(prefix)
		return n != nil && n.Enabled == on
	})
}

// Click waits for an enabled item labelled prefix and clicks it as a panel
// does.
func (m *Menu) Click(prefix string) {
	m.t.Helper()
	m.WaitEnabled(prefix, true)
	m.ClickNode(m.WaitLabel(prefix))
}

// ClickNode clicks the item n.
func (m *Menu) ClickNode(n *Node) {
	m.t.Helper()
	call := m.menu.Call("com.canonical.dbusmenu.Event", 0, n.ID, "clicked", dbus.MakeVariant(""), uint32(time.Now().Unix()))
	if call.Err != nil {
		m.t.Fatalf("click %q: %v", n.Label, call.Err)
	}
}

// Tooltip reads the item's tooltip title.
func (m *Menu) Tooltip() (string, error) {
	var tip struct {
		Name  string
		Icons []struct {
			W, H int32
			Pix  []byte
		}
		Title, Body string
	}
	err := m.item.Call("org.freedesktop.DBus.Properties.Get", 0, "org.kde.StatusNotifierItem", "ToolTip").Store(&tip)
	if err != nil {
		return "", fmt.Errorf("read the tooltip: %w", err)
	}
	return tip.Title, nil
}
