package tray

import "context"

// copyText puts text on the clipboard with clip.exe, which every Windows
// since Vista has; the setup text is ASCII, so clip's code page does not
// matter.
func copyText(ctx context.Context, text string) error {
	return pipeTo(ctx, text, "clip")
}
