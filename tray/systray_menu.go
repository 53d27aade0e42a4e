//go:build !darwin || cgo

package tray

import (
	"log/slog"

	"fyne.io/systray"

	"github.com/kirobar/kirobar/assets"
)

// systrayMenu implements Menu over fyne.io/systray. Only the tray's one
// goroutine calls it. Each item has a reader goroutine that turns clicks
// into queued work at once, so the library never drops a click for want of
// a ready reader.
type systrayMenu struct {
	log      *slog.Logger
	q        *queue
	done     <-chan struct{}
	onClick  func(ItemID)
	items    map[ItemID]*systray.MenuItem
	accounts *systray.MenuItem
}

var labels = map[Kind]string{
	ItemStatus: "kirobar", ItemServer: "Server running", ItemAccounts: "Accounts",
	ItemNoAccounts: "No accounts yet", ItemRefreshExpiring: "Refresh expiring tokens",
	ItemCheckAll: "Check all accounts", ItemCopySetup: "Copy Claude Code setup",
	ItemOpenLogs: "Open log folder", ItemOpenConfig: "Open config file",
	ItemAutostart: "Launch at login", ItemQuit: "Quit",
	ItemDashboard: "Open dashboard", ItemAddAccount: "Add account…",
	ItemLoginBuilderID: "Sign in with Builder ID", ItemLoginGoogle: "Sign in with Google",
	ItemLoginGitHub: "Sign in with GitHub", ItemImportIDE: "Import from Kiro IDE",
	ItemLoginCode: "Signing in…", ItemLoginCancel: "Cancel sign-in",
}

// newSystrayMenu builds the fixed items in menu order; account lines are
// added under "Accounts" when the controller first mentions them.
func newSystrayMenu(log *slog.Logger, q *queue, done <-chan struct{}, onClick func(ItemID)) *systrayMenu {
	m := &systrayMenu{log: log, q: q, done: done, onClick: onClick, items: make(map[ItemID]*systray.MenuItem)}
	add := func(k Kind) *systray.MenuItem {
		var it *systray.MenuItem
		if checkable(k) {
			it = systray.AddMenuItemCheckbox(labels[k], "", false)
		} else {
			it = systray.AddMenuItem(labels[k], "")
		}
		m.register(ItemID{Kind: k}, it)
		return it
	}
	add(ItemStatus)
	systray.AddSeparator()
	add(ItemServer)
	add(ItemDashboard)
	m.accounts = add(ItemAccounts)
	m.register(ItemID{Kind: ItemNoAccounts}, m.accounts.AddSubMenuItem(labels[ItemNoAccounts], ""))
	addAccount := add(ItemAddAccount)
	for _, k := range []Kind{ItemLoginBuilderID, ItemLoginGoogle, ItemLoginGitHub, ItemImportIDE} {
		m.register(ItemID{Kind: k}, addAccount.AddSubMenuItem(labels[k], ""))
	}
	add(ItemLoginCode)
	add(ItemLoginCancel)
	systray.AddSeparator()
	add(ItemRefreshExpiring)
	add(ItemCheckAll)
	systray.AddSeparator()
	add(ItemCopySetup)
	add(ItemOpenLogs)
	add(ItemOpenConfig)
	systray.AddSeparator()
	add(ItemAutostart)
	add(ItemQuit)
	return m
}

func (m *systrayMenu) register(id ItemID, it *systray.MenuItem) {
	m.items[id] = it
	go func() {
		for {
			select {
			case _, ok := <-it.ClickedCh:
				if !ok {
					return
				}
				m.q.push(func() { m.onClick(id) })
			case <-m.done:
				return
			}
		}
	}()
}

// item returns the systray item for id, creating account items (and any
// missing slot before them) on first use.
func (m *systrayMenu) item(id ItemID) *systray.MenuItem {
	if it, ok := m.items[id]; ok {
		return it
	}
	switch id.Kind {
	case ItemAccount:
		for slot := 0; slot <= id.Slot; slot++ {
			line := ItemID{ItemAccount, slot}
			if _, ok := m.items[line]; !ok {
				m.register(line, m.accounts.AddSubMenuItem("", ""))
			}
		}
	case ItemAccountRefresh, ItemAccountToggle, ItemAccountRelogin:
		line := m.item(ItemID{ItemAccount, id.Slot})
		m.register(id, line.AddSubMenuItem("", ""))
	default:
		return nil
	}
	return m.items[id]
}

func (m *systrayMenu) SetIcon(i assets.Icon) {
	if err := setIcon(i); err != nil {
		m.log.Error("tray icon", "err", err)
	}
}

func (m *systrayMenu) SetTooltip(text string) { systray.SetTooltip(text) }

func (m *systrayMenu) SetLabel(id ItemID, label string) {
	if it := m.item(id); it != nil {
		it.SetTitle(label)
	}
}

func (m *systrayMenu) SetEnabled(id ItemID, on bool) {
	it := m.item(id)
	switch {
	case it == nil:
	case on:
		it.Enable()
	default:
		it.Disable()
	}
}

func (m *systrayMenu) SetChecked(id ItemID, on bool) {
	it := m.item(id)
	switch {
	case it == nil:
	case on:
		it.Check()
	default:
		it.Uncheck()
	}
}

func (m *systrayMenu) SetVisible(id ItemID, on bool) {
	it := m.item(id)
	switch {
	case it == nil:
	case on:
		it.Show()
	default:
		it.Hide()
	}
}
