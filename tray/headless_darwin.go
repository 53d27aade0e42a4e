//go:build !cgo

package tray

import (
	"context"
	"errors"
)

// reason explains why this build has no menu bar icon.
const headlessReason = "this macOS build was made without cgo, which the menu bar icon needs; rebuild with CGO_ENABLED=1"

// Available reports false: fyne.io/systray needs cgo on macOS.
func Available() (ok bool, reason string) { return false, headlessReason }

// Run fails at once: this build cannot show a menu bar icon, so main runs
// headless.
func Run(ctx context.Context, b Backend, opts Options) error {
	return errors.New("tray: " + headlessReason)
}
