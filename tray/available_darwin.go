//go:build cgo

package tray

// Available reports whether a tray can run; macOS with cgo always has a
// menu bar.
func Available() (ok bool, reason string) { return true, "" }
