package tray

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kirobar/kirobar/assets"
)

// fakeMenu records what the controller sends and keeps the resulting menu.
type fakeMenu struct {
	calls   []string
	items   map[ItemID]Item
	icon    assets.Icon
	tooltip string
}

func newFakeMenu() *fakeMenu { return &fakeMenu{items: make(map[ItemID]Item)} }

func (f *fakeMenu) SetIcon(i assets.Icon) { f.icon = i; f.calls = append(f.calls, "icon "+string(i)) }
func (f *fakeMenu) SetTooltip(s string)   { f.tooltip = s; f.calls = append(f.calls, "tooltip "+s) }
func (f *fakeMenu) record(id ItemID, what string, set func(*Item)) {
	it := f.items[id]
	set(&it)
	f.items[id] = it
	f.calls = append(f.calls, fmt.Sprintf("%v %s", id, what))
}
func (f *fakeMenu) SetLabel(id ItemID, s string) {
	f.record(id, "label "+s, func(it *Item) { it.Label = s })
}
func (f *fakeMenu) SetEnabled(id ItemID, on bool) {
	f.record(id, fmt.Sprint("enabled ", on), func(it *Item) { it.Enabled = on })
}
func (f *fakeMenu) SetChecked(id ItemID, on bool) {
	f.record(id, fmt.Sprint("checked ", on), func(it *Item) { it.Checked = on })
}
func (f *fakeMenu) SetVisible(id ItemID, on bool) {
	f.record(id, fmt.Sprint("visible ", on), func(it *Item) { it.Visible = on })
}
func (f *fakeMenu) take() []string { c := f.calls; f.calls = nil; return c }
func (f *fakeMenu) label(k Kind, slot int) string {
	return f.items[ItemID{k, slot}].Label
}

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newTestController() (*Controller, *clock, *fakeMenu) {
	clk := &clock{t: t0}
	return NewController(clk.now, "kirobar", 30*time.Minute), clk, newFakeMenu()
}

var running = Status{Running: true, Addr: "127.0.0.1:8999", Ready: 2, Total: 2, RequestsToday: 12}

func acct(id, state string, mod ...func(*Account)) Account {
	a := Account{ID: id, Label: id + "@example.com", State: state, Enabled: true}
	for _, m := range mod {
		m(&a)
	}
	return a
}

func TestRenderSendsOnlyChanges(t *testing.T) {
	c, clk, m := newTestController()
	accts := []Account{
		acct("a", StateReady, func(a *Account) { a.ExpiresAt = t0.Add(23*time.Minute + 30*time.Second) }),
		acct("b", StateReady, func(a *Account) { a.ExpiresAt = t0.Add(3 * time.Hour) }),
	}
	c.Update(running, accts, 0)
	c.Render(m)
	first := m.take()
	// Every fixed item gets all its properties once: 4 (or 3 without a
	// check box) per item, plus icon and tooltip.
	if len(first) < 40 {
		t.Fatalf("first render sent only %d calls", len(first))
	}
	if got := m.label(ItemStatus, 0); got != "Running on 127.0.0.1:8999 · 2/2 ready · 12 requests today" {
		t.Errorf("status line %q", got)
	}
	if got := m.label(ItemAccount, 0); got != "a@example.com — expires in 24m" {
		t.Errorf("account line %q", got)
	}
	if m.icon != assets.OK {
		t.Errorf("icon %s, want ok", m.icon)
	}

	c.Render(m)
	if calls := m.take(); len(calls) != 0 {
		t.Errorf("render without change sent %q", calls)
	}

	c.Resend()
	c.Render(m)
	if calls := m.take(); len(calls) != 2 || calls[0] != "icon ok" || !strings.HasPrefix(calls[1], "tooltip kirobar: running") {
		t.Errorf("after Resend: %q", calls)
	}

	// The next change is account a's minute ticking over; nothing else moves.
	next := c.NextUpdate()
	if want := t0.Add(30 * time.Second); !next.Equal(want) {
		t.Fatalf("NextUpdate = %v, want %v", next, want)
	}
	clk.t = next.Add(-time.Millisecond)
	c.Render(m)
	if calls := m.take(); len(calls) != 0 {
		t.Errorf("before the tick: %q", calls)
	}
	clk.t = next
	c.Render(m)
	if calls := m.take(); !slices.Equal(calls, []string{"{4 0} label a@example.com — expires in 23m"}) {
		t.Errorf("at the tick: %q", calls)
	}
}

func TestAccountLines(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    Account
		want string
	}{
		{"expiring far", acct("a", StateReady, func(a *Account) { a.ExpiresAt = t0.Add(5 * time.Hour) }), "a@example.com — expires in 5h"},
		{"expiring soon", acct("a", StateExpiring, func(a *Account) { a.ExpiresAt = t0.Add(4*time.Minute + 21*time.Second) }), "a@example.com — expires in 4m 30s"},
		{"expired", acct("a", StateExpiring, func(a *Account) { a.ExpiresAt = t0.Add(-time.Second) }), "a@example.com — token expired"},
		{"no expiry", acct("a", StateReady), "a@example.com — ready"},
		{"refreshing", acct("a", StateExpiring, func(a *Account) { a.Refreshing = true; a.ExpiresAt = t0.Add(time.Minute) }), "a@example.com — refreshing…"},
		{"cooling", acct("a", StateCooling, func(a *Account) { a.CooldownUntil = t0.Add(3*time.Minute + 50*time.Second) }), "a@example.com — cooling 3m 50s"},
		{"cooling over", acct("a", StateCooling), "a@example.com — cooling"},
		{"quota", acct("a", StateExhausted, func(a *Account) { a.QuotaReset = t0.Add(3 * 24 * time.Hour) }), "a@example.com — quota reset in 3d"},
		{"quota unknown", acct("a", StateExhausted), "a@example.com — out of quota"},
		{"needs login", acct("a", StateNeedsLogin), "a@example.com — needs login"},
		{"suspended", acct("a", StateSuspended), "a@example.com — suspended"},
		{"error", acct("a", StateError), "a@example.com — error"},
		{"disabled", acct("a", StateDisabled, func(a *Account) { a.Enabled = false }), "a@example.com — disabled"},
		{"no label", acct("a", StateReady, func(a *Account) { a.Label = "" }), "a — ready"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, m := newTestController()
			c.Update(running, []Account{tc.a}, 0)
			c.Render(m)
			if got := m.label(ItemAccount, 0); got != tc.want {
				t.Errorf("line %q, want %q", got, tc.want)
			}
		})
	}
}

func TestIconAndTooltip(t *testing.T) {
	for _, tc := range []struct {
		name    string
		st      Status
		accts   []Account
		icon    assets.Icon
		tooltip string
	}{
		{"all good", running, []Account{acct("a", StateReady), acct("b", StateReady)}, assets.OK,
			"kirobar: running on 127.0.0.1:8999, 2 of 2 accounts ready"},
		{"one expiring", running, []Account{acct("a", StateReady), acct("b", StateExpiring)}, assets.Attention,
			"kirobar: running on 127.0.0.1:8999, 2 of 2 accounts ready, 1 expiring"},
		{"needs login", Status{Running: true, Addr: "h:1", Ready: 1, Total: 2}, []Account{acct("a", StateReady), acct("b", StateNeedsLogin)}, assets.Attention,
			"kirobar: running on h:1, 1 of 2 accounts ready, 1 need login"},
		{"disabled is not attention", Status{Running: true, Addr: "h:1", Ready: 1, Total: 2}, []Account{acct("a", StateReady), acct("b", StateError, func(a *Account) { a.Enabled = false })}, assets.OK,
			"kirobar: running on h:1, 1 of 2 accounts ready"},
		{"none can serve", Status{Running: true, Addr: "h:1", Ready: 0, Total: 1}, []Account{acct("a", StateCooling)}, assets.Error,
			"kirobar: running on h:1, 0 of 1 account ready, 1 cooling"},
		{"no accounts", Status{Running: true, Addr: "h:1"}, nil, assets.Error,
			"kirobar: running on h:1, no account — Add account…"},
		{"stopped without accounts", Status{}, nil, assets.Stopped,
			"kirobar: stopped, no account — Add account…"},
		{"stopped", Status{Ready: 2, Total: 2}, []Account{acct("a", StateReady)}, assets.Stopped, "kirobar: stopped"},
		{"failed", Status{Err: errors.New("listen tcp 127.0.0.1:8999: bind: address already in use")}, nil, assets.Error,
			"kirobar: error: listen tcp 127.0.0.1:8999: bind: address already in use"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, m := newTestController()
			c.Update(tc.st, tc.accts, 0)
			c.Render(m)
			if m.icon != tc.icon {
				t.Errorf("icon %s, want %s", m.icon, tc.icon)
			}
			if m.tooltip != tc.tooltip {
				t.Errorf("tooltip %q, want %q", m.tooltip, tc.tooltip)
			}
		})
	}
}

func TestStatusLine(t *testing.T) {
	for _, tc := range []struct {
		st   Status
		want string
	}{
		{running, "Running on 127.0.0.1:8999 · 2/2 ready · 12 requests today"},
		{Status{Total: 3, RequestsToday: 1}, "Stopped · 0/3 ready · 1 request today"},
		{Status{Err: errors.New("bind:\n address in use"), Total: 1}, "Error: bind: address in use · 0/1 ready · 0 requests today"},
		{Status{Running: true, Addr: "127.0.0.1:8999"}, "Running on 127.0.0.1:8999 · No account — Add account…"},
		{Status{}, "Stopped · No account — Add account…"},
	} {
		c, _, m := newTestController()
		c.Update(tc.st, nil, 0)
		c.Render(m)
		if got := m.label(ItemStatus, 0); got != tc.want {
			t.Errorf("status %q, want %q", got, tc.want)
		}
	}
}

func TestEnabledItems(t *testing.T) {
	two := []Account{acct("a", StateReady), acct("b", StateDisabled, func(a *Account) { a.Enabled = false })}
	for _, tc := range []struct {
		name     string
		accts    []Account
		expiring int
		id       ItemID
		label    string
		enabled  bool
		visible  bool
	}{
		{"refresh expiring at zero", two, 0, ItemID{Kind: ItemRefreshExpiring}, "Refresh expiring tokens (0)", false, true},
		{"refresh expiring", two, 2, ItemID{Kind: ItemRefreshExpiring}, "Refresh expiring tokens (2)", true, true},
		{"check without accounts", nil, 0, ItemID{Kind: ItemCheckAll}, "Check all accounts", false, true},
		{"check", two, 0, ItemID{Kind: ItemCheckAll}, "Check all accounts", true, true},
		{"placeholder without accounts", nil, 0, ItemID{Kind: ItemNoAccounts}, "No accounts yet", false, true},
		{"placeholder hidden", two, 0, ItemID{Kind: ItemNoAccounts}, "No accounts yet", false, false},
		{"status line is information", two, 0, ItemID{Kind: ItemStatus}, "Running on 127.0.0.1:8999 · 2/2 ready · 12 requests today", false, true},
		{"refresh an enabled account", two, 0, ItemID{ItemAccountRefresh, 0}, "Refresh now", true, true},
		{"refresh a disabled account", two, 0, ItemID{ItemAccountRefresh, 1}, "Refresh now", false, true},
		{"disable", two, 0, ItemID{ItemAccountToggle, 0}, "Disable", true, true},
		{"enable", two, 0, ItemID{ItemAccountToggle, 1}, "Enable", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, m := newTestController()
			c.Update(running, tc.accts, tc.expiring)
			c.Render(m)
			got := m.items[tc.id]
			if got.Label != tc.label || got.Enabled != tc.enabled || got.Visible != tc.visible {
				t.Errorf("%v = %+v, want label %q enabled %v visible %v", tc.id, got, tc.label, tc.enabled, tc.visible)
			}
			if _, ok := c.Click(tc.id); ok != (tc.enabled && tc.visible) {
				t.Errorf("Click accepted = %v, want %v", ok, tc.enabled && tc.visible)
			}
		})
	}
}

func TestClicksAndResults(t *testing.T) {
	accts := []Account{acct("a", StateReady), acct("b", StateExpiring)}
	for _, tc := range []struct {
		name     string
		click    ItemID
		cmd      Command
		busy     ItemID // the item that greys out while the worker runs ({} for none)
		progress []int  // done, total reported by the worker
		busyText string
		result   Result
		status   string // the status line's note after the result
	}{
		{"stop server", ItemID{Kind: ItemServer}, Command{Action: ActStopServer}, ItemID{Kind: ItemServer}, nil, "Server running",
			Result{}, ""},
		{"stop fails", ItemID{Kind: ItemServer}, Command{Action: ActStopServer}, ItemID{Kind: ItemServer}, nil, "Server running",
			Result{Err: errors.New("drain: context deadline exceeded")}, "Could not stop: drain: context deadline exceeded"},
		{"refresh expiring", ItemID{Kind: ItemRefreshExpiring}, Command{Action: ActRefreshExpiring}, ItemID{Kind: ItemRefreshExpiring}, nil, "Refreshing expiring tokens…",
			Result{Count: 1}, "Refreshed 1 token"},
		{"check all", ItemID{Kind: ItemCheckAll}, Command{Action: ActCheckAll}, ItemID{Kind: ItemCheckAll}, []int{1, 2}, "Checking accounts… 1/2",
			Result{Summary: "2 checked: 1 ok, 1 expiring"}, "Check: 2 checked: 1 ok, 1 expiring"},
		{"check fails", ItemID{Kind: ItemCheckAll}, Command{Action: ActCheckAll}, ItemID{Kind: ItemCheckAll}, nil, "Checking accounts…",
			Result{Err: errors.New("server stopped")}, "Check failed: server stopped"},
		{"refresh account", ItemID{ItemAccountRefresh, 1}, Command{Action: ActRefreshAccount, AccountID: "b", Label: "b@example.com"}, ItemID{ItemAccountRefresh, 1}, nil, "Refreshing…",
			Result{}, "b@example.com refreshed"},
		{"disable account", ItemID{ItemAccountToggle, 0}, Command{Action: ActDisableAccount, AccountID: "a", Label: "a@example.com"}, ItemID{}, nil, "",
			Result{}, ""},
		{"copy setup", ItemID{Kind: ItemCopySetup}, Command{Action: ActCopySetup}, ItemID{}, nil, "",
			Result{}, "Claude Code setup copied"},
		{"copy without clipboard", ItemID{Kind: ItemCopySetup}, Command{Action: ActCopySetup}, ItemID{}, nil, "",
			Result{Shown: true}, "No clipboard tool found: setup shown in a notification"},
		{"open logs fails", ItemID{Kind: ItemOpenLogs}, Command{Action: ActOpenLogs}, ItemID{}, nil, "",
			Result{Err: errors.New(`exec: "xdg-open": not found`)}, `Could not open: exec: "xdg-open": not found`},
		{"launch at login", ItemID{Kind: ItemAutostart}, Command{Action: ActEnableAutostart}, ItemID{Kind: ItemAutostart}, nil, "Launch at login",
			Result{Autostart: true}, ""},
		{"quit", ItemID{Kind: ItemQuit}, Command{Action: ActQuit}, ItemID{}, nil, "", Result{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, clk, m := newTestController()
			c.Update(running, accts, 1)
			c.Render(m)
			cmd, ok := c.Click(tc.click)
			if !ok || cmd != tc.cmd {
				t.Fatalf("Click = %+v, %v; want %+v", cmd, ok, tc.cmd)
			}
			if len(tc.progress) == 2 {
				c.Progress(tc.progress[0], tc.progress[1])
			}
			c.Render(m)
			if tc.busy != (ItemID{}) {
				it := m.items[tc.busy]
				if it.Enabled || it.Label != tc.busyText {
					t.Errorf("while busy %v = %+v, want disabled %q", tc.busy, it, tc.busyText)
				}
				if _, again := c.Click(tc.click); again {
					t.Error("a second click on a busy item started another command")
				}
			}
			tc.result.Command = cmd
			c.Finish(tc.result)
			c.Render(m)
			if tc.busy != (ItemID{}) && !m.items[tc.busy].Enabled {
				t.Errorf("%v still disabled after the result", tc.busy)
			}
			base := "Running on 127.0.0.1:8999 · 2/2 ready · 12 requests today"
			want := base
			if tc.status != "" {
				want += " · " + tc.status
			}
			if got := m.label(ItemStatus, 0); got != want {
				t.Errorf("status %q, want %q", got, want)
			}
			if tc.status != "" {
				// The note goes away by itself, and NextUpdate says when.
				if next := c.NextUpdate(); !next.Equal(t0.Add(noteFor)) {
					t.Errorf("NextUpdate %v, want the note's end %v", next, t0.Add(noteFor))
				}
				clk.add(noteFor)
				c.Render(m)
				if got := m.label(ItemStatus, 0); got != base {
					t.Errorf("after %v: status %q", noteFor, got)
				}
			}
			if tc.cmd.Action == ActEnableAutostart && !m.items[ItemID{Kind: ItemAutostart}].Checked {
				t.Error("Launch at login is not checked after enabling")
			}
		})
	}
}

func TestSlotsHideAndReturn(t *testing.T) {
	c, _, m := newTestController()
	three := []Account{acct("a", StateReady), acct("b", StateReady), acct("c", StateReady)}
	c.Update(running, three, 0)
	c.Render(m)
	m.take()

	c.Update(running, three[:1], 0)
	c.Render(m)
	for _, slot := range []int{1, 2} {
		for _, k := range []Kind{ItemAccount, ItemAccountRefresh, ItemAccountToggle, ItemAccountRelogin} {
			if m.items[ItemID{k, slot}].Visible {
				t.Errorf("slot %d item %d still visible", slot, k)
			}
		}
	}
	if !m.items[ItemID{ItemAccount, 0}].Visible {
		t.Error("slot 0 hidden")
	}
	m.take()

	c.Update(running, []Account{acct("a", StateReady), acct("d", StateReady)}, 0)
	c.Render(m)
	if got := m.label(ItemAccount, 1); got != "d@example.com — ready" || !m.items[ItemID{ItemAccount, 1}].Visible {
		t.Errorf("slot 1 = %+v", m.items[ItemID{ItemAccount, 1}])
	}
	// A click on a hidden slot does nothing.
	if _, ok := c.Click(ItemID{ItemAccountRefresh, 2}); ok {
		t.Error("click on a hidden slot accepted")
	}
	// Account items are mentioned line first, in slot order.
	var seen []string
	c2, _, m2 := newTestController()
	c2.Update(running, three, 0)
	c2.Render(m2)
	for _, call := range m2.take() {
		if strings.HasPrefix(call, "{4 ") || strings.HasPrefix(call, "{5 ") || strings.HasPrefix(call, "{6 ") || strings.HasPrefix(call, "{22 ") {
			id := call[:strings.Index(call, "}")+1]
			if len(seen) == 0 || seen[len(seen)-1] != id {
				seen = append(seen, id)
			}
		}
	}
	want := []string{"{4 0}", "{5 0}", "{6 0}", "{22 0}", "{4 1}", "{5 1}", "{6 1}", "{22 1}", "{4 2}", "{5 2}", "{6 2}", "{22 2}"}
	if !slices.Equal(seen, want) {
		t.Errorf("creation order %v, want %v", seen, want)
	}
}

func TestNotices(t *testing.T) {
	c, clk, _ := newTestController()
	a := acct("a", StateReady)
	b := acct("b", StateReady)
	if n := c.Update(running, []Account{acct("a", StateSuspended), b}, 0); len(n) != 0 {
		t.Fatalf("first snapshot raised %v", n)
	}
	c.Update(running, []Account{a, b}, 0)

	steps := []struct {
		name  string
		after time.Duration
		st    Status
		accts []Account
		keys  []string
	}{
		{"suspended", 0, running, []Account{acct("a", StateSuspended), b}, []string{"suspended/a"}},
		{"unchanged", time.Minute, running, []Account{acct("a", StateSuspended), b}, nil},
		{"needs login", time.Minute, running, []Account{acct("a", StateSuspended), acct("b", StateNeedsLogin)}, []string{"login/b"}},
		{"pool exhausted", time.Minute, Status{Running: true, Total: 2}, []Account{acct("a", StateSuspended), acct("b", StateNeedsLogin)}, []string{"exhausted"}},
		{"recovers", time.Minute, running, []Account{a, b}, nil},
		{"suspended again too soon", time.Minute, running, []Account{acct("a", StateSuspended), b}, nil},
		{"recovers again", time.Minute, running, []Account{a, b}, nil},
		{"suspended after the interval", 30 * time.Minute, running, []Account{acct("a", StateSuspended), b}, []string{"suspended/a"}},
	}
	for _, st := range steps {
		clk.add(st.after)
		var keys []string
		for _, n := range c.Update(st.st, st.accts, 0) {
			keys = append(keys, n.Key)
			if n.Title == "" || n.Body == "" {
				t.Errorf("%s: empty notice %+v", st.name, n)
			}
		}
		if !slices.Equal(keys, st.keys) {
			t.Errorf("%s: notices %v, want %v", st.name, keys, st.keys)
		}
	}
}
