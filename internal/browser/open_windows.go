package browser

// openPath hands a page, folder or file to its associated app.
func openPath(target string) error {
	return start("rundll32", "url.dll,FileProtocolHandler", target)
}
