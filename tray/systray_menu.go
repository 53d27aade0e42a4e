//go:build !darwin || cgo

package tray

import (
	"log/slog"

	"fyne.io/systray"

	"github.com/kirobar/kirobar/assets"
)

// systrayMenu implements Menu over fyne.io/systray, building the menu the
// table (entries) declares. Only the tray's one goroutine calls it. Each
// item has a reader goroutine that turns clicks into queued work at once,
// so the library never drops a click for want of a ready reader.
type systrayMenu struct {
	log     *slog.Logger
	q       *queue
	done    <-chan struct{}
	onClick func(ItemID)
	items   map[ItemID]*systray.MenuItem
}

// newSystrayMenu creates every fixed item in table order; per-account items are created under
// their parents when the controller first mentions them. Items start
// without a title: the controller's first Render, before the menu is
// shown, sets every label.
func newSystrayMenu(log *slog.Logger, q *queue, done <-chan struct{}, onClick func(ItemID)) *systrayMenu {
	m := &systrayMenu{log: log, q: q, done: done, onClick: onClick, items: make(map[ItemID]*systray.MenuItem)}
	for i := range entries {
		e := &entries[i]
		if e.perAccount {
			continue
		}
		m.create(ItemID{Kind: e.kind}, e)
	}
	return m
}

// create adds the item id of entry e under its parent, which exists,
// after a separator when the entry asks for one.
func (m *systrayMenu) create(id ItemID, e *entry) *systray.MenuItem {
	var it *systray.MenuItem
	parent, nested := parentOf(id)
	switch {
	case e.gap && nested:
		m.items[parent].AddSeparator()
	case e.gap:
		systray.AddSeparator()
	}
	switch {
	case !nested && e.check:
		it = systray.AddMenuItemCheckbox("", "", false)
	case !nested:
		it = systray.AddMenuItem("", "")
	case e.check:
		it = m.items[parent].AddSubMenuItemCheckbox("", "", false)
	default:
		it = m.items[parent].AddSubMenuItem("", "")
	}
	m.register(id, it)
	return it
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

// item returns the systray item for id, creating a per-account item on
// first use: after the same item of the slot before (submenus append, so
// slots must be made in order) and after its parent.
func (m *systrayMenu) item(id ItemID) *systray.MenuItem {
	if it, ok := m.items[id]; ok {
		return it
	}
	e := entryOf(id.Kind)
	if e == nil || !e.perAccount || id.Slot < 0 {
		return nil
	}
	if id.Slot > 0 {
		m.item(ItemID{Kind: id.Kind, Slot: id.Slot - 1})
	}
	if parent, nested := parentOf(id); nested && m.item(parent) == nil {
		return nil
	}
	return m.create(id, e)
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
