package tray

import "context"

// copyText puts text on the clipboard with pbcopy, which every macOS has.
func copyText(ctx context.Context, text string) error {
	return pipeTo(ctx, text, "pbcopy")
}
