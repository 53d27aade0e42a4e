package accounts

import (
	"context"
	"fmt"
	"os/exec"
	"runtime"
	"time"
)

// OpenBrowser opens url in the user's default browser: open(1) on macOS,
// the URL protocol handler on Windows, xdg-open elsewhere.
func OpenBrowser(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.CommandContext(ctx, "open", url)
	case "windows":
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
