package tray

import (
	"time"

	"github.com/kirobar/kirobar/assets"
)

// sent is what a Menu was last sent, so Render sends only changes: every
// label change is a DBus signal on Linux, and a menu rebuilt on every tick
// flickers.
type sent struct {
	items       map[ItemID]Item
	icon        assets.Icon
	tooltip     string
	slots       int // account slots ever mentioned to the Menu
	iconSent    bool
	tooltipSent bool
}

// items computes every item's desired look from the table, including
// hidden spare slots left from a larger pool.
func (c *Controller) items() map[ItemID]Item {
	m := make(map[ItemID]Item, len(entries)+4*len(c.accounts))
	for _, id := range order(max(len(c.accounts), c.sent.slots)) {
		e := entryOf(id.Kind)
		a, ok := c.accountIn(e, id.Slot)
		if !ok {
			m[id] = Item{} // a spare slot: hidden
			continue
		}
		m[id] = e.look(c, a)
	}
	return m
}

// Resend makes the next Render send the icon and tooltip again, even
// unchanged, for a Menu that may have lost them.
func (c *Controller) Resend() { c.sent.iconSent, c.sent.tooltipSent = false, false }

// Render sends m whatever differs from what it was last sent, in menu
// order.
func (c *Controller) Render(m Menu) {
	s := &c.sent
	if icon := c.Icon(); !s.iconSent || icon != s.icon {
		m.SetIcon(icon)
		s.icon, s.iconSent = icon, true
	}
	if tip := c.Tooltip(); !s.tooltipSent || tip != s.tooltip {
		m.SetTooltip(tip)
		s.tooltip, s.tooltipSent = tip, true
	}
	s.slots = max(s.slots, len(c.accounts))
	items := c.items()
	for _, id := range order(s.slots) {
		want := items[id]
		old, ok := s.items[id]
		if !ok || old.Label != want.Label {
			m.SetLabel(id, want.Label)
		}
		if !ok || old.Enabled != want.Enabled {
			m.SetEnabled(id, want.Enabled)
		}
		if entryOf(id.Kind).check && (!ok || old.Checked != want.Checked) {
			m.SetChecked(id, want.Checked)
		}
		if !ok || old.Visible != want.Visible {
			m.SetVisible(id, want.Visible)
		}
		s.items[id] = want
	}
}

// NextUpdate returns when a label changes by the clock alone (a countdown
// ticking over, a note expiring), or the zero time when none will.
func (c *Controller) NextUpdate() time.Time {
	now := c.now()
	var next time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if c.note != "" {
		consider(c.noteUntil)
	}
	for _, a := range c.accounts {
		if a.Refreshing || !a.Enabled {
			continue
		}
		for _, t := range []time.Time{a.ExpiresAt, a.CooldownUntil, a.QuotaReset} {
			consider(nextCountdownChange(now, t))
		}
		// The moment a countdown runs out its label changes ("token expired").
		consider(a.ExpiresAt)
	}
	return next
}
