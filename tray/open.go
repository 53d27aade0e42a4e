package tray

import (
	"fmt"
	"net/url"
	"os/exec"
)

// startDetached starts the OS opener and reaps it in the background: some
// openers (xdg-open handing a file to a terminal editor) only return when
// the program they started exits, and the menu must not wait for that.
func startDetached(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("open with %s: %w", name, err)
	}
	go func() { _ = cmd.Wait() }()
	return nil
}

// OpenURL opens an http or https URL in the user's browser with the OS's
// own opener, without waiting for the browser. Other schemes are refused:
// a URL from the network must never make the opener run a local file.
func OpenURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("open url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("open url: refusing %q: only http and https pages are opened", u.Scheme+"://"+u.Host)
	}
	return openPath(u.String())
}
