package tray

// openPath opens a folder in Explorer or a file in its associated app.
func openPath(path string) error {
	return startDetached("rundll32", "url.dll,FileProtocolHandler", path)
}
