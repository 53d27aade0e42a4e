// Package tray is kirobar's face: an icon in the system tray (menu bar on
// macOS) whose colour says whether the proxy runs and the accounts are
// healthy, and a menu to fix what is not — stop and start the server, add
// or sign in again to an account, refresh tokens, check accounts, copy the
// client setup, open the dashboard, the logs and the config, launch at
// login, quit.
//
// The package never imports the server, the account pool or the flow
// recorder: main implements Backend, and LoginBackend and DashboardBackend
// for the items that need them.
//
// The menu is one table, entries in menu.go. A row is one item: its place
// (the submenu it sits in, a separator before it, a check box, repeated in
// every account slot), its look (label, enabled, checked, visible) in the
// controller's state, and its click, which marks the item busy and returns
// a Command. The table actions in actions.go says what each Command's
// Action does on a worker and what its result shows. Adding an item is a
// row in entries plus, when it does something new, a row in actions.
//
// Controller is the pure logic, tested with a fake Menu and an injected
// clock, one file per job: controller.go is the state machine (snapshots,
// clicks, results), labels.go the words and the icon, notices.go the
// desktop notifications and their rate limit, render.go sending a Menu only
// what changed. Run is the adapter: systray.go owns every fyne.io/systray
// call on one goroutine and systray_menu.go builds the menu the table
// declares. Pages, folders and files open through internal/browser.
package tray
