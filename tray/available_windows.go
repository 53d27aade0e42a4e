package tray

// Available reports whether a tray can run; a Windows desktop always has a
// notification area.
func Available() (ok bool, reason string) { return true, "" }
