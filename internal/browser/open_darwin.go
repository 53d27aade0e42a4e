package browser

// openPath hands a page to the default browser, a folder to Finder or a
// file to its default app.
func openPath(target string) error { return start("open", target) }
