//go:build !windows && !darwin

package tray

// openPath opens a folder or file with the desktop's own handler.
func openPath(path string) error { return startDetached("xdg-open", path) }
