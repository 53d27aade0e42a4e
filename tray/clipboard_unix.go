//go:build !windows && !darwin

package tray

import (
	"context"
	"os"
	"os/exec"
)

// copyText puts text on the clipboard. On Linux and the BSDs it uses the
// first tool present for the session: wl-copy on Wayland, else xclip or
// xsel on X11; with none it returns errNoClipboard (the tray then shows the
// text in a notification, which the user can select and copy).
func copyText(ctx context.Context, text string) error {
	type tool struct {
		env  string // the display variable that makes the tool useful
		name string
		args []string
	}
	for _, t := range []tool{
		{"WAYLAND_DISPLAY", "wl-copy", nil},
		{"DISPLAY", "xclip", []string{"-selection", "clipboard", "-in"}},
		{"DISPLAY", "xsel", []string{"--clipboard", "--input"}},
	} {
		if os.Getenv(t.env) == "" {
			continue
		}
		if _, err := exec.LookPath(t.name); err != nil {
			continue
		}
		return pipeTo(ctx, text, t.name, t.args...)
	}
	return errNoClipboard
}
