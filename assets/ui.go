package assets

import (
	"embed"
	"fmt"
	"io/fs"
)

//go:embed ui
var ui embed.FS

// UI returns the dashboard's hand-written HTML, CSS and JavaScript modules,
// rooted at the ui directory (index.html at its top). There is no build
// step: the files are served as they are, so `go run .` is enough.
func UI() (fs.FS, error) {
	sub, err := fs.Sub(ui, "ui")
	if err != nil {
		return nil, fmt.Errorf("dashboard assets: %w", err)
	}
	return sub, nil
}
