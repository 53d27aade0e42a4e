package tray

import (
	"fmt"

	"github.com/kirobar/kirobar/assets"
)

// Kind names a menu item; account items also carry a slot number.
type Kind int

// The menu items. Their place in the menu is their row in entries; a kind
// added later is appended here so that a kind's number never changes.
const (
	ItemStatus          Kind = iota // the status line (not clickable)
	ItemServer                      // "Server running" checkbox
	ItemAccounts                    // "Accounts" submenu
	ItemNoAccounts                  // placeholder inside Accounts when there are none
	ItemAccount                     // one account line (a submenu), by slot
	ItemAccountRefresh              // "Refresh now" under an account line
	ItemAccountToggle               // "Enable"/"Disable" under an account line
	ItemRefreshExpiring             // "Refresh expiring tokens (N)"
	ItemCheckAll                    // "Check all accounts"
	ItemCopySetup                   // "Copy Claude Code setup"
	ItemOpenLogs                    // "Open log folder"
	ItemOpenConfig                  // "Open config file"
	ItemAutostart                   // "Launch at login" checkbox
	ItemQuit                        // "Quit"
	ItemDashboard                   // "Open dashboard"
	ItemAddAccount                  // "Add account…" submenu
	ItemLoginBuilderID              // "Sign in with Builder ID" under Add account
	ItemLoginGoogle                 // "Sign in with Google" under Add account
	ItemLoginGitHub                 // "Sign in with GitHub" under Add account
	ItemImportIDE                   // "Import from Kiro IDE" under Add account
	ItemLoginCode                   // "Enter code … at …" while a sign-in runs; a click opens the page again
	ItemLoginCancel                 // "Cancel sign-in" while a sign-in runs
	ItemAccountRelogin              // "Sign in again" under an account line that needs login

	numKinds // not an item: how many kinds there are
)

// ItemID identifies one menu item. Slot is the account line's index for
// the account kinds and 0 otherwise. Account lines are slots rather than
// account IDs because tray menus cannot remove items cleanly everywhere:
// slots are created as needed and hidden when the pool shrinks.
type ItemID struct {
	Kind Kind
	Slot int
}

// Item is the desired look of one menu item.
type Item struct {
	Label   string
	Enabled bool
	Checked bool
	Visible bool
}

// Menu is what the controller drives: the systray adapter in the app, a
// recording fake in tests. Every method is called from one goroutine, and
// only with a value that differs from the one sent before (the first call
// for an item sends all its properties, Checked only for a check box).
// Items are mentioned in menu order: an account item after its line, and
// slot n after slot n-1, so an implementation may create items when they
// are first mentioned. Where an item sits is in its entry (see entryOf).
type Menu interface {
	SetIcon(icon assets.Icon)
	SetTooltip(text string)
	SetLabel(id ItemID, label string)
	SetEnabled(id ItemID, on bool)
	SetChecked(id ItemID, on bool)
	SetVisible(id ItemID, on bool)
}

// top is the parent of an item that sits in the menu itself.
const top Kind = -1

// entry is one menu item as the table declares it: where it sits, how it
// looks in the controller's state, and what a click on it asks for. The
// controller reads look and click; the systray adapter reads the place
// (parent, perAccount, gap, check). For a per-account item, a is the
// account in its slot; for the others it is the zero Account.
type entry struct {
	kind       Kind
	parent     Kind // the submenu it sits in, or top
	perAccount bool // repeated in every account slot, under the slot's own parent
	gap        bool // a separator comes before it
	check      bool // shown with a check box
	look       func(c *Controller, a Account) Item
	// click turns a click into a command for a worker, marking the item
	// busy; nil for an item that asks for nothing (an information line, a
	// submenu).
	click func(c *Controller, a Account) Command
}

// entries is the menu, in order. Adding an item is a row here (with a new
// Kind) plus, when it does something new, its Action in actions.
var entries = []entry{
	{kind: ItemStatus, parent: top,
		look: func(c *Controller, _ Account) Item { return info(c.statusLine()) }},
	{kind: ItemServer, parent: top, gap: true, check: true,
		look: func(c *Controller, _ Account) Item {
			return Item{Label: "Server running", Enabled: !c.serverBusy, Checked: c.status.Running, Visible: true}
		},
		click: func(c *Controller, _ Account) Command {
			c.serverBusy = true
			if c.status.Running {
				return Command{Action: ActStopServer}
			}
			return Command{Action: ActStartServer}
		}},
	{kind: ItemDashboard, parent: top,
		look: func(c *Controller, _ Account) Item {
			return Item{Label: "Open dashboard", Enabled: c.status.Running, Visible: c.features.Dashboard}
		},
		click: do(ActOpenDashboard)},
	{kind: ItemAccounts, parent: top,
		look: func(c *Controller, _ Account) Item {
			return shown(fmt.Sprintf("Accounts (%d/%d ready)", c.status.Ready, c.status.Total), true)
		}},
	{kind: ItemNoAccounts, parent: ItemAccounts,
		look: func(c *Controller, _ Account) Item {
			return Item{Label: "No accounts yet", Visible: len(c.accounts) == 0}
		}},

	{kind: ItemAccount, parent: ItemAccounts, perAccount: true,
		look: func(c *Controller, a Account) Item { return shown(displayLabel(a)+" — "+c.accountDetail(a), true) }},
	{kind: ItemAccountRefresh, parent: ItemAccount, perAccount: true,
		look: func(c *Controller, a Account) Item {
			if a.Refreshing || c.refreshing[a.ID] {
				return shown("Refreshing…", false)
			}
			return shown("Refresh now", a.Enabled)
		},
		click: func(c *Controller, a Account) Command {
			c.refreshing[a.ID] = true
			return Command{Action: ActRefreshAccount, AccountID: a.ID, Label: a.Label}
		}},
	{kind: ItemAccountToggle, parent: ItemAccount, perAccount: true,
		look: func(_ *Controller, a Account) Item {
			if a.Enabled {
				return shown("Disable", true)
			}
			return shown("Enable", true)
		},
		click: func(_ *Controller, a Account) Command {
			if a.Enabled {
				return Command{Action: ActDisableAccount, AccountID: a.ID, Label: a.Label}
			}
			return Command{Action: ActEnableAccount, AccountID: a.ID, Label: a.Label}
		}},
	{kind: ItemAccountRelogin, parent: ItemAccount, perAccount: true,
		look: func(c *Controller, a Account) Item {
			return Item{Label: "Sign in again", Enabled: !c.login.busy, Visible: c.features.Login && a.State == StateNeedsLogin}
		},
		click: func(c *Controller, a Account) Command {
			c.startLogin("Sign-in to " + displayLabel(a))
			return Command{Action: ActRelogin, AccountID: a.ID, Label: a.Label}
		}},

	{kind: ItemAddAccount, parent: top,
		look: func(c *Controller, _ Account) Item {
			return Item{Label: "Add account…", Enabled: true, Visible: c.features.Login}
		}},
	signIn(ItemLoginBuilderID, "Sign in with Builder ID", "Sign-in with Builder ID", LoginBuilderID),
	signIn(ItemLoginGoogle, "Sign in with Google", "Sign-in with Google", LoginGoogle),
	signIn(ItemLoginGitHub, "Sign in with GitHub", "Sign-in with GitHub", LoginGitHub),
	signIn(ItemImportIDE, "Import from Kiro IDE", "Import from Kiro IDE", LoginKiroIDE),
	{kind: ItemLoginCode, parent: top,
		look: func(c *Controller, _ Account) Item { return c.loginLine() },
		click: func(c *Controller, _ Account) Command {
			return Command{Action: ActOpenLoginPage, URL: c.login.url}
		}},
	{kind: ItemLoginCancel, parent: top,
		look: func(c *Controller, _ Account) Item {
			if c.login.canceling {
				return Item{Label: "Canceling sign-in…", Visible: c.login.busy}
			}
			return Item{Label: "Cancel sign-in", Enabled: true, Visible: c.login.busy}
		},
		click: func(c *Controller, _ Account) Command {
			c.login.canceling = true
			return Command{Action: ActCancelLogin}
		}},

	{kind: ItemRefreshExpiring, parent: top, gap: true,
		look: func(c *Controller, _ Account) Item {
			if c.expiringBusy {
				return shown("Refreshing expiring tokens…", false)
			}
			return shown(fmt.Sprintf("Refresh expiring tokens (%d)", c.expiring), c.expiring > 0)
		},
		click: func(c *Controller, _ Account) Command {
			c.expiringBusy = true
			return Command{Action: ActRefreshExpiring}
		}},
	{kind: ItemCheckAll, parent: top,
		look: func(c *Controller, _ Account) Item {
			switch {
			case !c.checkBusy:
				return shown("Check all accounts", len(c.accounts) > 0)
			case c.checkTotal > 0:
				return shown(fmt.Sprintf("Checking accounts… %d/%d", c.checkDone, c.checkTotal), false)
			}
			return shown("Checking accounts…", false)
		},
		click: func(c *Controller, _ Account) Command {
			c.checkBusy, c.checkDone, c.checkTotal = true, 0, 0
			return Command{Action: ActCheckAll}
		}},

	{kind: ItemCopySetup, parent: top, gap: true, look: fixed("Copy Claude Code setup"), click: do(ActCopySetup)},
	{kind: ItemOpenLogs, parent: top, look: fixed("Open log folder"), click: do(ActOpenLogs)},
	{kind: ItemOpenConfig, parent: top, look: fixed("Open config file"), click: do(ActOpenConfig)},

	{kind: ItemAutostart, parent: top, gap: true, check: true,
		look: func(c *Controller, _ Account) Item {
			return Item{Label: "Launch at login", Enabled: !c.autostartBusy, Checked: c.autostart, Visible: true}
		},
		click: func(c *Controller, _ Account) Command {
			c.autostartBusy = true
			if c.autostart {
				return Command{Action: ActDisableAutostart}
			}
			return Command{Action: ActEnableAutostart}
		}},
	{kind: ItemQuit, parent: top, look: fixed("Quit"), click: do(ActQuit)},
}

// signIn is an item under "Add account…" that starts one kind of sign-in:
// label is the item, what names the sign-in in progress lines and notes.
func signIn(kind Kind, label, what, login string) entry {
	return entry{kind: kind, parent: ItemAddAccount,
		look: func(c *Controller, _ Account) Item {
			return Item{Label: label, Enabled: !c.login.busy, Visible: c.features.Login}
		},
		click: func(c *Controller, _ Account) Command {
			c.startLogin(what)
			return Command{Action: ActLogin, Login: login}
		}}
}

// shown is a visible item.
func shown(label string, enabled bool) Item {
	return Item{Label: label, Enabled: enabled, Visible: true}
}

// info is a visible line that is not clickable.
func info(label string) Item { return shown(label, false) }

// fixed is the look of an item that always reads label and is clickable.
func fixed(label string) func(*Controller, Account) Item {
	return func(*Controller, Account) Item { return shown(label, true) }
}

// do is the click of an item that asks for act and nothing more.
func do(act Action) func(*Controller, Account) Command {
	return func(*Controller, Account) Command { return Command{Action: act} }
}

// byKind indexes entries; built once, read only.
var byKind = func() map[Kind]*entry {
	m := make(map[Kind]*entry, len(entries))
	for i := range entries {
		m[entries[i].kind] = &entries[i]
	}
	return m
}()

// entryOf returns the table row of kind k, or nil for a kind not in it.
func entryOf(k Kind) *entry { return byKind[k] }

// parentOf is the item id sits under, or ok false for a top-level item.
// A per-account item under a per-account parent sits in its own slot.
func parentOf(id ItemID) (ItemID, bool) {
	e := entryOf(id.Kind)
	if e == nil || e.parent == top {
		return ItemID{}, false
	}
	p := ItemID{Kind: e.parent}
	if pe := entryOf(e.parent); pe != nil && pe.perAccount {
		p.Slot = id.Slot
	}
	return p, true
}

// order lists the item IDs in menu order for slots account lines: the
// table's rows, with its run of per-account rows repeated slot by slot.
func order(slots int) []ItemID {
	ids := make([]ItemID, 0, len(entries)+4*slots)
	for i := 0; i < len(entries); i++ {
		if !entries[i].perAccount {
			ids = append(ids, ItemID{Kind: entries[i].kind})
			continue
		}
		end := i
		for end < len(entries) && entries[end].perAccount {
			end++
		}
		for slot := 0; slot < slots; slot++ {
			for _, e := range entries[i:end] {
				ids = append(ids, ItemID{Kind: e.kind, Slot: slot})
			}
		}
		i = end - 1
	}
	return ids
}
