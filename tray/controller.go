package tray

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/kirobar/kirobar/assets"
)

// noteFor is how long a result ("Check: 3 ok, 1 needs login", "Could not
// start: …") stays in the status line.
const noteFor = 10 * time.Minute

// Action is what a click asks a worker to do.
type Action int

// The actions behind the menu items.
const (
	ActStartServer Action = iota + 1
	ActStopServer
	ActRefreshAccount
	ActEnableAccount
	ActDisableAccount
	ActRefreshExpiring
	ActCheckAll
	ActCopySetup
	ActOpenLogs
	ActOpenConfig
	ActEnableAutostart
	ActDisableAutostart
	ActQuit
	ActOpenDashboard
	ActLogin
	ActRelogin
	ActOpenLoginPage
	ActCancelLogin
)

// Command is one click turned into work. AccountID and Label name the
// account for the per-account actions.
type Command struct {
	Action    Action
	AccountID string
	Label     string
	Login     string // ActLogin: one of the Login kinds
	URL       string // ActOpenLoginPage: the device flow's verification page
}

// Result is what a worker reports back for its command.
type Result struct {
	Command   Command
	Err       error
	Count     int    // tokens refreshed by ActRefreshExpiring
	Summary   string // ActCheckAll's summary
	Shown     bool   // ActCopySetup: no clipboard tool, the text went to a notification
	Autostart bool   // the autostart state read back after an autostart action
	Added     string // ActLogin: the label of the account the sign-in added
}

// Features says which optional Backend abilities the menu offers.
type Features struct {
	Dashboard bool // the Backend is a DashboardBackend
	Login     bool // the Backend is a LoginBackend
}

// loginState is the one sign-in that may run at a time.
type loginState struct {
	busy      bool
	what      string // "Sign-in with Google", "Import from Kiro IDE", "Sign-in to a@example.com"
	code, url string // the device flow's user code and verification page
	status    string // the sign-in's latest progress line
	canceling bool
}

// Notice is a desktop notification the controller wants sent.
type Notice struct {
	Key   string // subject, for rate limiting
	Title string
	Body  string
}

// Controller is the tray's pure logic: it keeps what the backend last
// reported plus what the user's clicks set in motion, decides every label,
// flag, the icon and the tooltip, and sends a Menu only what changed. It is
// not safe for concurrent use: the tray's one goroutine owns it.
type Controller struct {
	now    func() time.Time
	app    string
	notify *limiter

	status   Status
	accounts []Account
	expiring int
	seen     bool // a snapshot arrived
	features Features
	login    loginState

	autostart    bool
	autostartErr error

	serverBusy, expiringBusy, checkBusy, autostartBusy bool
	refreshing                                         map[string]bool
	checkDone, checkTotal                              int
	note                                               string
	noteUntil                                          time.Time

	sent        map[ItemID]Item
	icon        assets.Icon
	tooltip     string
	slotsShown  int // account slots ever mentioned to the Menu
	iconSent    bool
	tooltipSent bool
}

// NewController returns a controller with the given clock and app name that
// allows one notification per subject per notifyEvery.
func NewController(now func() time.Time, app string, notifyEvery time.Duration) *Controller {
	return &Controller{
		now:        now,
		app:        app,
		notify:     newLimiter(notifyEvery),
		refreshing: make(map[string]bool),
		sent:       make(map[ItemID]Item),
	}
}

// Update takes a fresh snapshot of the backend and returns the desktop
// notifications its changes call for (rate-limited). The first snapshot
// raises none: what is wrong at launch shows in the icon.
func (c *Controller) Update(st Status, accounts []Account, expiring int) []Notice {
	var out []Notice
	if c.seen {
		out = c.notices(st, accounts)
	}
	c.status, c.accounts, c.expiring, c.seen = st, accounts, expiring, true
	return out
}

func (c *Controller) notices(st Status, accounts []Account) []Notice {
	before := make(map[string]string, len(c.accounts))
	for _, a := range c.accounts {
		before[a.ID] = a.State
	}
	now := c.now()
	var out []Notice
	add := func(n Notice) {
		if c.notify.allow(n.Key, now) {
			out = append(out, n)
		}
	}
	for _, a := range accounts {
		old, known := before[a.ID]
		if !known || old == a.State {
			continue
		}
		switch a.State {
		case StateSuspended:
			add(Notice{Key: "suspended/" + a.ID, Title: a.Label + " was suspended",
				Body: "Kiro suspended this account; " + c.app + " no longer uses it."})
		case StateNeedsLogin:
			body := "Its token could not be refreshed. Log in to this account again to use it."
			if c.features.Login {
				body = "Its token could not be refreshed. Choose Accounts › " + a.Label + " › Sign in again to use it."
			}
			add(Notice{Key: "login/" + a.ID, Title: a.Label + " needs a new login", Body: body})
		}
	}
	wasServing := c.status.Running && c.status.Ready > 0
	if st.Running && st.Total > 0 && st.Ready == 0 && wasServing {
		add(Notice{Key: "exhausted", Title: "No Kiro account can serve requests",
			Body: fmt.Sprintf("All %s are cooling down, out of quota or need attention; requests fail until one recovers.", plural(st.Total, "account", "accounts"))})
	}
	return out
}

// SetFeatures records which optional items the Backend supports; the
// others stay hidden.
func (c *Controller) SetFeatures(f Features) { c.features = f }

// LoginDevice shows the running sign-in's device code and the page where
// the user confirms it.
func (c *Controller) LoginDevice(code, verificationURL string) {
	if c.login.busy {
		c.login.code, c.login.url = code, verificationURL
	}
}

// LoginStatus shows the running sign-in's progress.
func (c *Controller) LoginStatus(text string) {
	if c.login.busy {
		c.login.status = text
	}
}

// startLogin marks a sign-in as running; the sign-in items grey out until
// its result comes back.
func (c *Controller) startLogin(what string) { c.login = loginState{busy: true, what: what} }

// loginWhat names the sign-in each "Add account…" item starts.
var loginWhat = map[Kind]string{
	ItemLoginBuilderID: "Sign-in with Builder ID", ItemLoginGoogle: "Sign-in with Google",
	ItemLoginGitHub: "Sign-in with GitHub", ItemImportIDE: "Import from Kiro IDE",
}

// SetAutostart records the launch-at-login state as just read from the OS.
func (c *Controller) SetAutostart(on bool, err error) {
	c.autostart, c.autostartErr = on, err
}

// Progress records the progress of "Check all accounts".
func (c *Controller) Progress(done, total int) {
	if c.checkBusy {
		c.checkDone, c.checkTotal = done, total
	}
}

// setNote shows text in the status line for a while.
func (c *Controller) setNote(text string) {
	c.note, c.noteUntil = text, c.now().Add(noteFor)
}

// Click turns a click on id into a command for a worker, marking the item
// busy so it greys out until the result comes back. It returns false when
// the click asks for nothing: an information line, a disabled item, an
// empty slot.
func (c *Controller) Click(id ItemID) (Command, bool) {
	items := c.items()
	if it, ok := items[id]; !ok || !it.Enabled || !it.Visible {
		return Command{}, false
	}
	switch id.Kind {
	case ItemServer:
		c.serverBusy = true
		if c.status.Running {
			return Command{Action: ActStopServer}, true
		}
		return Command{Action: ActStartServer}, true
	case ItemAccountRefresh:
		a := c.accounts[id.Slot]
		c.refreshing[a.ID] = true
		return Command{Action: ActRefreshAccount, AccountID: a.ID, Label: a.Label}, true
	case ItemAccountToggle:
		a := c.accounts[id.Slot]
		if a.Enabled {
			return Command{Action: ActDisableAccount, AccountID: a.ID, Label: a.Label}, true
		}
		return Command{Action: ActEnableAccount, AccountID: a.ID, Label: a.Label}, true
	case ItemRefreshExpiring:
		c.expiringBusy = true
		return Command{Action: ActRefreshExpiring}, true
	case ItemCheckAll:
		c.checkBusy, c.checkDone, c.checkTotal = true, 0, 0
		return Command{Action: ActCheckAll}, true
	case ItemCopySetup:
		return Command{Action: ActCopySetup}, true
	case ItemOpenLogs:
		return Command{Action: ActOpenLogs}, true
	case ItemOpenConfig:
		return Command{Action: ActOpenConfig}, true
	case ItemAutostart:
		c.autostartBusy = true
		if c.autostart {
			return Command{Action: ActDisableAutostart}, true
		}
		return Command{Action: ActEnableAutostart}, true
	case ItemQuit:
		return Command{Action: ActQuit}, true
	case ItemDashboard:
		return Command{Action: ActOpenDashboard}, true
	case ItemLoginBuilderID, ItemLoginGoogle, ItemLoginGitHub, ItemImportIDE:
		c.startLogin(loginWhat[id.Kind])
		return Command{Action: ActLogin, Login: loginKinds[id.Kind]}, true
	case ItemAccountRelogin:
		a := c.accounts[id.Slot]
		c.startLogin("Sign-in to " + displayLabel(a))
		return Command{Action: ActRelogin, AccountID: a.ID, Label: a.Label}, true
	case ItemLoginCode:
		return Command{Action: ActOpenLoginPage, URL: c.login.url}, true
	case ItemLoginCancel:
		c.login.canceling = true
		return Command{Action: ActCancelLogin}, true
	}
	return Command{}, false
}

// Finish records a worker's result: the item is free again and the
// outcome goes to the status line.
func (c *Controller) Finish(r Result) {
	cmd, err := r.Command, r.Err
	fail := func(what string) { c.setNote(what + ": " + clip(err.Error(), 80)) }
	switch cmd.Action {
	case ActStartServer, ActStopServer:
		c.serverBusy = false
		if err != nil {
			fail(map[Action]string{ActStartServer: "Could not start", ActStopServer: "Could not stop"}[cmd.Action])
		}
	case ActRefreshAccount:
		delete(c.refreshing, cmd.AccountID)
		if err != nil {
			fail("Refresh of " + cmd.Label + " failed")
		} else {
			c.setNote(cmd.Label + " refreshed")
		}
	case ActEnableAccount, ActDisableAccount:
		if err != nil {
			fail("Could not change " + cmd.Label)
		}
	case ActRefreshExpiring:
		c.expiringBusy = false
		if err != nil {
			fail("Refresh failed")
		} else {
			c.setNote("Refreshed " + plural(r.Count, "token", "tokens"))
		}
	case ActCheckAll:
		c.checkBusy = false
		if err != nil {
			fail("Check failed")
		} else {
			c.setNote("Check: " + clip(r.Summary, 80))
		}
	case ActCopySetup:
		switch {
		case err != nil:
			fail("Copy failed")
		case r.Shown:
			c.setNote("No clipboard tool found: setup shown in a notification")
		default:
			c.setNote("Claude Code setup copied")
		}
	case ActOpenLogs, ActOpenConfig, ActOpenDashboard, ActOpenLoginPage:
		if err != nil {
			fail("Could not open")
		}
	case ActLogin, ActRelogin:
		login := c.login
		c.login = loginState{}
		switch {
		case err != nil && (login.canceling || errors.Is(err, context.Canceled)):
			c.setNote(login.what + " canceled")
		case err != nil:
			fail(login.what + " failed")
		case cmd.Action == ActLogin && r.Added != "":
			c.setNote("Added " + r.Added)
		case cmd.Action == ActLogin:
			c.setNote(login.what + " done")
		default:
			c.setNote(cmd.Label + " signed in again")
		}
	case ActEnableAutostart, ActDisableAutostart:
		c.autostartBusy = false
		c.autostart = r.Autostart
		if err != nil {
			fail("Launch at login")
		}
	}
}

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

func attention(state string) bool {
	switch state {
	case StateExpiring, StateCooling, StateNeedsLogin, StateSuspended, StateExhausted, StateError:
		return true
	}
	return false
}

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

// firstRunHint is the guidance the status line and tooltip give while
// there is no account at all.
const firstRunHint = "No account — Add account…"

// firstRun reports whether the pool is empty, so the menu guides the user
// to add an account instead of reporting 0/0.
func (c *Controller) firstRun() bool { return c.status.Total == 0 && len(c.accounts) == 0 }

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
		s += ", no account — Add account…"
	}
	counts := map[string]int{}
	for _, a := range c.accounts {
		if a.Enabled && attention(a.State) {
			counts[a.State]++
		}
	}
	for _, state := range []string{StateNeedsLogin, StateSuspended, StateExpiring, StateCooling, StateExhausted, StateError} {
		if n := counts[state]; n > 0 {
			s += fmt.Sprintf(", %d %s", n, stateWords[state])
		}
	}
	return c.app + ": " + s
}

var stateWords = map[string]string{
	StateNeedsLogin: "need login", StateSuspended: "suspended", StateExpiring: "expiring",
	StateCooling: "cooling", StateExhausted: "out of quota", StateError: "failing",
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

// items computes every item's desired look, including hidden spare slots.
func (c *Controller) items() map[ItemID]Item {
	st := c.status
	n := len(c.accounts)
	on := func(label string, enabled bool) Item { return Item{Label: label, Enabled: enabled, Visible: true} }
	m := map[ItemID]Item{
		{Kind: ItemStatus}:     on(c.statusLine(), false),
		{Kind: ItemServer}:     {Label: "Server running", Enabled: !c.serverBusy, Checked: st.Running, Visible: true},
		{Kind: ItemAccounts}:   on(fmt.Sprintf("Accounts (%d/%d ready)", st.Ready, st.Total), true),
		{Kind: ItemNoAccounts}: {Label: "No accounts yet", Visible: n == 0},
		{Kind: ItemCopySetup}:  on("Copy Claude Code setup", true),
		{Kind: ItemOpenLogs}:   on("Open log folder", true),
		{Kind: ItemOpenConfig}: on("Open config file", true),
		{Kind: ItemAutostart}:  {Label: "Launch at login", Enabled: !c.autostartBusy, Checked: c.autostart, Visible: true},
		{Kind: ItemQuit}:       on("Quit", true),
	}
	if c.expiringBusy {
		m[ItemID{Kind: ItemRefreshExpiring}] = on("Refreshing expiring tokens…", false)
	} else {
		m[ItemID{Kind: ItemRefreshExpiring}] = on(fmt.Sprintf("Refresh expiring tokens (%d)", c.expiring), c.expiring > 0)
	}
	switch {
	case !c.checkBusy:
		m[ItemID{Kind: ItemCheckAll}] = on("Check all accounts", n > 0)
	case c.checkTotal > 0:
		m[ItemID{Kind: ItemCheckAll}] = on(fmt.Sprintf("Checking accounts… %d/%d", c.checkDone, c.checkTotal), false)
	default:
		m[ItemID{Kind: ItemCheckAll}] = on("Checking accounts…", false)
	}
	slots := max(n, c.slotsShown)
	for i := 0; i < slots; i++ {
		line, refresh, toggle, relogin := ItemID{ItemAccount, i}, ItemID{ItemAccountRefresh, i}, ItemID{ItemAccountToggle, i}, ItemID{ItemAccountRelogin, i}
		if i >= n {
			m[line], m[refresh], m[toggle], m[relogin] = Item{}, Item{}, Item{}, Item{}
			continue
		}
		a := c.accounts[i]
		m[line] = on(displayLabel(a)+" — "+c.accountDetail(a), true)
		busy := a.Refreshing || c.refreshing[a.ID]
		if busy {
			m[refresh] = on("Refreshing…", false)
		} else {
			m[refresh] = on("Refresh now", a.Enabled)
		}
		if a.Enabled {
			m[toggle] = on("Disable", true)
		} else {
			m[toggle] = on("Enable", true)
		}
		m[relogin] = Item{Label: "Sign in again", Enabled: !c.login.busy,
			Visible: c.features.Login && a.State == StateNeedsLogin}
	}
	c.loginItems(m)
	return m
}

// loginItems adds "Open dashboard", "Add account…" with its sign-in items,
// and the lines a running sign-in shows.
func (c *Controller) loginItems(m map[ItemID]Item) {
	login, busy := c.features.Login, c.login.busy
	m[ItemID{Kind: ItemDashboard}] = Item{Label: "Open dashboard", Enabled: c.status.Running, Visible: c.features.Dashboard}
	m[ItemID{Kind: ItemAddAccount}] = Item{Label: "Add account…", Enabled: true, Visible: login}
	for k := range loginKinds {
		m[ItemID{Kind: k}] = Item{Label: signInLabels[k], Enabled: !busy, Visible: login}
	}
	code := Item{Visible: busy}
	switch {
	case c.login.code != "":
		code.Label = "Enter code " + c.login.code + " at " + shortURL(c.login.url)
		code.Enabled = c.login.url != ""
	case c.login.status != "":
		code.Label = c.login.what + ": " + clip(c.login.status, 60)
	default:
		code.Label = c.login.what + "…"
	}
	m[ItemID{Kind: ItemLoginCode}] = code
	if c.login.canceling {
		m[ItemID{Kind: ItemLoginCancel}] = Item{Label: "Canceling sign-in…", Visible: busy}
	} else {
		m[ItemID{Kind: ItemLoginCancel}] = Item{Label: "Cancel sign-in", Enabled: true, Visible: busy}
	}
}

// signInLabels are the items under "Add account…".
var signInLabels = map[Kind]string{
	ItemLoginBuilderID: "Sign in with Builder ID", ItemLoginGoogle: "Sign in with Google",
	ItemLoginGitHub: "Sign in with GitHub", ItemImportIDE: "Import from Kiro IDE",
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

// order lists the item IDs in menu order for slots account lines.
func order(slots int) []ItemID {
	var ids []ItemID
	for _, k := range fixedTop {
		ids = append(ids, ItemID{Kind: k})
	}
	for i := 0; i < slots; i++ {
		ids = append(ids, ItemID{ItemAccount, i}, ItemID{ItemAccountRefresh, i}, ItemID{ItemAccountToggle, i}, ItemID{ItemAccountRelogin, i})
	}
	for _, k := range fixedBottom {
		ids = append(ids, ItemID{Kind: k})
	}
	return ids
}

// Resend makes the next Render send the icon and tooltip again, even
// unchanged, for a Menu that may have lost them.
func (c *Controller) Resend() { c.iconSent, c.tooltipSent = false, false }

// Render sends m whatever differs from what it was last sent.
func (c *Controller) Render(m Menu) {
	if icon := c.Icon(); !c.iconSent || icon != c.icon {
		m.SetIcon(icon)
		c.icon, c.iconSent = icon, true
	}
	if tip := c.Tooltip(); !c.tooltipSent || tip != c.tooltip {
		m.SetTooltip(tip)
		c.tooltip, c.tooltipSent = tip, true
	}
	items := c.items()
	c.slotsShown = max(c.slotsShown, len(c.accounts))
	for _, id := range order(c.slotsShown) {
		want := items[id]
		old, ok := c.sent[id]
		if !ok || old.Label != want.Label {
			m.SetLabel(id, want.Label)
		}
		if !ok || old.Enabled != want.Enabled {
			m.SetEnabled(id, want.Enabled)
		}
		if checkable(id.Kind) && (!ok || old.Checked != want.Checked) {
			m.SetChecked(id, want.Checked)
		}
		if !ok || old.Visible != want.Visible {
			m.SetVisible(id, want.Visible)
		}
		c.sent[id] = want
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
