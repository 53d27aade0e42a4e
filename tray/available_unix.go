//go:build !windows && !darwin

package tray

import (
	"fmt"

	"github.com/godbus/dbus/v5"
)

// watcherName is the bus name of the StatusNotifierWatcher that panels
// (KDE, GNOME's AppIndicator extension, waybar, Xfce…) own.
const watcherName = "org.kde.StatusNotifierWatcher"

// Available reports whether a tray can run: on Linux and the BSDs, whether
// a DBus session bus is reachable. It connects without auto-launching a bus
// daemon (a plain SessionBus() would start a stray dbus-launch on a
// headless machine), because fyne.io/systray without a bus blocks and later
// panics. With a bus but no StatusNotifierWatcher, ok is true and reason
// says the icon will appear once a panel starts: the tray registers then.
func Available() (ok bool, reason string) {
	conn, err := dbus.SessionBusPrivateNoAutoStartup()
	if err != nil {
		return false, fmt.Sprintf("no DBus session bus (%v)", err)
	}
	defer conn.Close()
	if err := conn.Auth(nil); err != nil {
		return false, fmt.Sprintf("DBus session bus refused us: %v", err)
	}
	if err := conn.Hello(); err != nil {
		return false, fmt.Sprintf("DBus session bus refused us: %v", err)
	}
	var has bool
	if err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, watcherName).Store(&has); err != nil {
		return true, fmt.Sprintf("could not look for a tray host: %v", err)
	}
	if !has {
		return true, "no tray host (StatusNotifierWatcher) yet: the icon appears when a panel that shows tray icons starts"
	}
	return true, ""
}
