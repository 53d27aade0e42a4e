package tray

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// errNoClipboard says no clipboard tool was found; the tray then shows the
// text in a desktop notification instead.
var errNoClipboard = errors.New("no clipboard tool found")

// pipeTo runs name with args and text on its standard input. Standard
// output is left unattached: X11 clipboard tools fork a child that keeps
// serving the selection, and a pipe it inherited would block Wait.
func pipeTo(ctx context.Context, text, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(text)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("copy with %s: %w", name, err)
	}
	return nil
}
