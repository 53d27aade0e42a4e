package tray

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
)

// notify shows a notification through osascript's "display notification",
// the one route that needs neither cgo nor a signed app bundle.
func notify(ctx context.Context, app, title, body string) error {
	script := "display notification " + strconv.Quote(body) + " with title " + strconv.Quote(app) + " subtitle " + strconv.Quote(title)
	if err := exec.CommandContext(ctx, "osascript", "-e", script).Run(); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}
