package accounts

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// OpenBrowser opens url in the user's default browser: the command in
// $BROWSER when set (the convention xdg-open and Python's webbrowser
// follow), else open(1) on macOS, the URL protocol handler on Windows, and
// xdg-open elsewhere.
func OpenBrowser(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var cmd *exec.Cmd
	switch browser := strings.TrimSpace(os.Getenv("BROWSER")); {
	case browser != "":
		fields := strings.Fields(browser)
		cmd = exec.CommandContext(ctx, fields[0], append(fields[1:], url)...)
	case runtime.GOOS == "darwin":
		cmd = exec.CommandContext(ctx, "open", url)
	case runtime.GOOS == "windows":
		cmd = exec.CommandContext(ctx, "rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.CommandContext(ctx, "xdg-open", url)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w %s", cmd.Path, err, firstLine(string(out)))
	}
	return nil
}

// firstLine is the first line of s, for a short error message.
func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' || c == '\r' {
			return s[:i]
		}
	}
	return s
}
