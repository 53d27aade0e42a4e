package tray

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/kirobar/kirobar/assets"
)

// Icon chooses the tray icon: stopped when the user stopped the server,
// error when it failed or no account can serve, attention when an account
// is expiring, cooling or needs the user, ok otherwise.
func (c *Controller) Icon() assets.Icon {
	st := c.status
	switch {
	case st.Err != nil:
		return assets.Error
	case !st.Running:
		return assets.Stopped
	case st.Ready == 0:
		return assets.Error
	}
	for _, a := range c.accounts {
		if a.Enabled && attention(a.State) {
			return assets.Attention
		}
	}
	return assets.OK
}

// attention reports whether an account in state wants the user's eye.
func attention(state string) bool {
	_, ok := stateWords[state]
	return ok
}

// attentionOrder is the order the tooltip counts the states that want
// attention in, most pressing first.
var attentionOrder = []string{StateNeedsLogin, StateSuspended, StateExpiring, StateCooling, StateExhausted, StateError}

// stateWords is how the tooltip counts accounts in a state that wants
// attention ("2 need login").
var stateWords = map[string]string{
	StateNeedsLogin: "need login", StateSuspended: "suspended", StateExpiring: "expiring",
	StateCooling: "cooling", StateExhausted: "out of quota", StateError: "failing",
}

// firstRunHint is the guidance the status line and tooltip give while
// there is no account at all.
const firstRunHint = "No account — Add account…"

// firstRun reports whether the pool is empty, so the menu guides the user
// to add an account instead of reporting 0/0.
func (c *Controller) firstRun() bool { return c.status.Total == 0 && len(c.accounts) == 0 }

// statusLine is the first menu line.
func (c *Controller) statusLine() string {
	st := c.status
	var parts []string
	switch {
	case st.Err != nil:
		parts = append(parts, "Error: "+clip(st.Err.Error(), 60))
	case st.Running:
		parts = append(parts, "Running on "+st.Addr)
	default:
		parts = append(parts, "Stopped")
	}
	if c.firstRun() {
		parts = append(parts, firstRunHint)
	} else {
		parts = append(parts, fmt.Sprintf("%d/%d ready", st.Ready, st.Total))
		parts = append(parts, plural(st.RequestsToday, "request", "requests")+" today")
	}
	if c.note != "" && c.now().Before(c.noteUntil) {
		parts = append(parts, c.note)
	}
	return strings.Join(parts, " · ")
}

// Tooltip sums the state up in words for the icon's tooltip or title.
func (c *Controller) Tooltip() string {
	st := c.status
	var s string
	switch {
	case st.Err != nil:
		s = "error: " + clip(st.Err.Error(), 60)
	case st.Running && c.firstRun():
		s = "running on " + st.Addr
	case st.Running:
		s = fmt.Sprintf("running on %s, %d of %s ready", st.Addr, st.Ready, plural(st.Total, "account", "accounts"))
	default:
		s = "stopped"
	}
	if st.Err == nil && c.firstRun() {
		s += ", " + strings.ToLower(firstRunHint[:1]) + firstRunHint[1:]
	}
	counts := map[string]int{}
	for _, a := range c.accounts {
		if a.Enabled && attention(a.State) {
			counts[a.State]++
		}
	}
	for _, state := range attentionOrder {
		if n := counts[state]; n > 0 {
			s += fmt.Sprintf(", %d %s", n, stateWords[state])
		}
	}
	return c.app + ": " + s
}

// accountDetail is the right half of an account line.
func (c *Controller) accountDetail(a Account) string {
	now := c.now()
	if a.Refreshing || c.refreshing[a.ID] {
		return "refreshing…"
	}
	if !a.Enabled || a.State == StateDisabled {
		return "disabled"
	}
	switch a.State {
	case StateNeedsLogin:
		return "needs login"
	case StateSuspended:
		return "suspended"
	case StateError:
		return "error"
	case StateCooling:
		if d := Countdown(now, a.CooldownUntil); d != "" {
			return "cooling " + d
		}
		return "cooling"
	case StateExhausted:
		if d := Countdown(now, a.QuotaReset); d != "" {
			return "quota reset in " + d
		}
		return "out of quota"
	}
	if a.ExpiresAt.IsZero() {
		return "ready"
	}
	if d := Countdown(now, a.ExpiresAt); d != "" {
		return "expires in " + d
	}
	return "token expired"
}

// loginLine is the line a running sign-in shows: the device code and
// where to enter it (a click opens that page again), else its latest
// progress, else what is signing in. It is hidden while none runs.
func (c *Controller) loginLine() Item {
	l := c.login
	it := Item{Visible: l.busy}
	switch {
	case l.code != "":
		it.Label = "Enter code " + l.code + " at " + shortURL(l.url)
		it.Enabled = l.url != ""
	case l.status != "":
		it.Label = l.what + ": " + clip(l.status, 60)
	default:
		it.Label = l.what + "…"
	}
	return it
}

// shortURL is a verification page as a user reads it: host and path,
// without scheme, query or fragment.
func shortURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return clip(raw, 60)
	}
	return clip(u.Host+strings.TrimSuffix(u.Path, "/"), 60)
}

// displayLabel is an account's label, or its ID when it has none.
func displayLabel(a Account) string {
	if a.Label == "" {
		return a.ID
	}
	return a.Label
}
