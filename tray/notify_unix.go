//go:build !windows && !darwin

package tray

import (
	"context"
	"fmt"

	"github.com/godbus/dbus/v5"
)

// notify shows a desktop notification through org.freedesktop.Notifications
// on a private session-bus connection (never one that could auto-launch a
// bus), opened per notification since they are rare.
func notify(ctx context.Context, app, title, body string) error {
	conn, err := dbus.SessionBusPrivateNoAutoStartup()
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	defer conn.Close()
	if err := conn.Auth(nil); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	if err := conn.Hello(); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	obj := conn.Object("org.freedesktop.Notifications", "/org/freedesktop/Notifications")
	call := obj.CallWithContext(ctx, "org.freedesktop.Notifications.Notify", 0,
		app, uint32(0), "", title, body, []string{}, map[string]dbus.Variant{}, int32(-1))
	if call.Err != nil {
		return fmt.Errorf("notify: %w", call.Err)
	}
	return nil
}
