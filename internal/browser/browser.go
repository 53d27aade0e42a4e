// Package browser is kirobar's one way to hand something to the desktop:
// a web page to the user's browser (the dashboard, a sign-in page) and a
// folder or file to its own app (the log folder, the config file). The
// tray and `kirobar accounts login` both open pages through OpenURL, so
// both follow $BROWSER and both refuse anything but an http or https page.
package browser

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"
)

// settle is how long an opener may take to fail before it counts as
// started. Openers that hand over to a running browser exit at once and
// report a missing browser (xdg-open's exit status 3) the same way; one
// that waits for the program it started (xdg-open with a browser that was
// not running) is left to finish on its own after this.
const settle = time.Second

// OpenURL opens an http or https page in the user's browser: the command
// in $BROWSER when set (the convention xdg-open and Python's webbrowser
// follow: a program and its arguments, the URL appended), else the OS's own
// opener. Other schemes are refused, because the URL may come from the
// network (a sign-in page, a device-code page) and must never make the
// opener run a local file or program.
func OpenURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the URL, which may carry a token.
		return errors.New("open url: not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("open url: refusing %q: only http and https pages are opened", u.Scheme+"://"+u.Host)
	}
	if fields := strings.Fields(os.Getenv("BROWSER")); len(fields) > 0 {
		return start(fields[0], append(fields[1:], u.String())...)
	}
	return openPath(u.String())
}

// OpenPath opens a folder in the file manager or a file in its default
// app.
func OpenPath(path string) error {
	if path == "" {
		return errors.New("open: no path")
	}
	return openPath(path)
}

// start runs an opener without waiting for what it opens. Its output is
// discarded, never captured: a browser it starts would inherit a pipe and
// hold Wait until it exits, and an opener's error text may repeat the URL,
// which can carry a one-time dashboard token. A failure within settle is
// returned; after that the opener is reaped in the background.
func start(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("open with %s: %w", name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	timer := time.NewTimer(settle)
	defer timer.Stop()
	select {
	case err := <-exited:
		if err != nil {
			return fmt.Errorf("open with %s: %w", name, err)
		}
		return nil
	case <-timer.C:
		return nil
	}
}
