package tray

import (
	"context"
	"errors"
	"time"
)

// noteFor is how long a result ("Check: 3 ok, 1 needs login", "Could not
// start: …") stays in the status line.
const noteFor = 10 * time.Minute

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

// Controller is the tray's pure logic. It keeps what the backend last
// reported plus what the user's clicks set in motion (this file: the
// state machine), and from that the menu table (menu.go) decides every
// item, labels.go the words and the icon, notices.go the desktop
// notifications, and render.go what a Menu is sent. It is not safe for
// concurrent use: the tray's one goroutine owns it.
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

	autostart bool // launch at login, as last read from the OS

	serverBusy, expiringBusy, checkBusy, autostartBusy bool
	refreshing                                         map[string]bool
	checkDone, checkTotal                              int
	note                                               string
	noteUntil                                          time.Time

	sent sent // what the Menu was last sent
}

// NewController returns a controller with the given clock and app name that
// allows one notification per subject per notifyEvery.
func NewController(now func() time.Time, app string, notifyEvery time.Duration) *Controller {
	return &Controller{
		now:        now,
		app:        app,
		notify:     newLimiter(notifyEvery),
		refreshing: make(map[string]bool),
		sent:       sent{items: make(map[ItemID]Item)},
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

// SetFeatures records which optional items the Backend supports; the
// others stay hidden.
func (c *Controller) SetFeatures(f Features) { c.features = f }

// SetAutostart records the launch-at-login state as just read from the OS.
func (c *Controller) SetAutostart(on bool) { c.autostart = on }

// Progress records the progress of "Check all accounts".
func (c *Controller) Progress(done, total int) {
	if c.checkBusy {
		c.checkDone, c.checkTotal = done, total
	}
}

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

// endLogin clears the finished sign-in r reports and returns what it was
// ("Sign-in with Google"). A canceled or failed one says so in the status
// line, and ok is false.
func (c *Controller) endLogin(r Result) (what string, ok bool) {
	login := c.login
	c.login = loginState{}
	switch {
	case r.Err != nil && (login.canceling || errors.Is(r.Err, context.Canceled)):
		c.setNote(login.what + " canceled")
		return login.what, false
	case c.failed(r, login.what+" failed"):
		return login.what, false
	}
	return login.what, true
}

// setNote shows text in the status line for a while.
func (c *Controller) setNote(text string) {
	c.note, c.noteUntil = text, c.now().Add(noteFor)
}

// failed puts r's error in the status line after what, and reports
// whether there was one.
func (c *Controller) failed(r Result, what string) bool {
	if r.Err == nil {
		return false
	}
	c.setNote(what + ": " + clip(r.Err.Error(), 80))
	return true
}

// Click turns a click on id into a command for a worker, through the
// item's entry, marking the item busy so it greys out until the result
// comes back. It returns false when the click asks for nothing: an
// information line, a submenu, a disabled or hidden item, an empty slot.
func (c *Controller) Click(id ItemID) (Command, bool) {
	e := entryOf(id.Kind)
	if e == nil || e.click == nil {
		return Command{}, false
	}
	a, ok := c.accountIn(e, id.Slot)
	if !ok {
		return Command{}, false
	}
	if it := e.look(c, a); !it.Enabled || !it.Visible {
		return Command{}, false
	}
	return e.click(c, a), true
}

// accountIn is the account an item of e in slot shows: the slot's account
// for a per-account item, the zero Account for the others (whose slot is
// always 0). ok is false for a slot that does not exist.
func (c *Controller) accountIn(e *entry, slot int) (Account, bool) {
	if !e.perAccount {
		return Account{}, slot == 0
	}
	if slot < 0 || slot >= len(c.accounts) {
		return Account{}, false
	}
	return c.accounts[slot], true
}

// Finish records a worker's result through its action's finish: the item
// is free again and the outcome goes to the status line.
func (c *Controller) Finish(r Result) {
	if act, ok := actions[r.Command.Action]; ok && act.finish != nil {
		act.finish(c, r)
	}
}
