package tray

// openPath opens a folder in Finder or a file in its default app.
func openPath(path string) error { return startDetached("open", path) }
