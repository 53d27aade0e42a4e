package tray

import "github.com/kirobar/kirobar/assets"

// Kind names a menu item; account items also carry a slot number.
type Kind int

// The menu items. Their order in the menu is fixedTop, the account
// lines, then fixedBottom; kinds added later are appended here so that a
// kind's number never changes.
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
// for an item sends all four properties). An account item is always
// mentioned after its line, and slot n after slot n-1, so an
// implementation may create items when they are first mentioned.
type Menu interface {
	SetIcon(icon assets.Icon)
	SetTooltip(text string)
	SetLabel(id ItemID, label string)
	SetEnabled(id ItemID, on bool)
	SetChecked(id ItemID, on bool)
	SetVisible(id ItemID, on bool)
}

// fixedTop and fixedBottom are the items around the account lines.
var (
	fixedTop    = []Kind{ItemStatus, ItemServer, ItemDashboard, ItemAccounts, ItemNoAccounts}
	fixedBottom = []Kind{ItemAddAccount, ItemLoginBuilderID, ItemLoginGoogle, ItemLoginGitHub, ItemImportIDE,
		ItemLoginCode, ItemLoginCancel, ItemRefreshExpiring, ItemCheckAll, ItemCopySetup, ItemOpenLogs,
		ItemOpenConfig, ItemAutostart, ItemQuit}

	// loginKinds maps each "Add account…" item to the Backend login kind
	// it starts.
	loginKinds = map[Kind]string{
		ItemLoginBuilderID: LoginBuilderID, ItemLoginGoogle: LoginGoogle,
		ItemLoginGitHub: LoginGitHub, ItemImportIDE: LoginKiroIDE,
	}
)

// checkable reports whether k is shown with a check box.
func checkable(k Kind) bool { return k == ItemServer || k == ItemAutostart }
