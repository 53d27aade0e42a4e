//go:build !windows && !darwin

package browser

// openPath hands a page, folder or file to the desktop's own handler.
func openPath(target string) error { return start("xdg-open", target) }
