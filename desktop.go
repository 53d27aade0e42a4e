package main

import (
	"context"
	"io"
)

// runDesktop runs kirobar with its tray icon where a tray is available,
// and headless otherwise.
func runDesktop(ctx context.Context, home string, headless, hidden bool, stderr io.Writer) int {
	_ = hidden
	_ = headless
	return runServe(ctx, home, stderr)
}
