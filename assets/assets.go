// Package assets embeds kirobar's tray icons so the single binary carries
// them: PNG for Linux (StatusNotifierItem pixmaps) and macOS, a black
// template PNG that the macOS menu bar tints for light and dark mode, and ICO
// for Windows, whose tray shows a PNG as a blank square. The files are drawn
// by tray/internal/icongen; regenerate them with
// `go test ./tray/internal/icongen -run TestAssetsUpToDate -update`.
package assets

import (
	"embed"
	"fmt"
)

//go:embed icons/*.png icons/*.ico
var icons embed.FS

// Icon names one tray icon state.
type Icon string

// The icon states. The tray picks one from the proxy's and the pool's health.
const (
	OK        Icon = "ok"        // running, every account healthy
	Attention Icon = "attention" // running, but an account expires, cools down or needs login
	Error     Icon = "error"     // the server failed or no account can serve
	Stopped   Icon = "stopped"   // the user stopped the server
)

// Icons lists every state.
var Icons = []Icon{OK, Attention, Error, Stopped}

func read(name string) ([]byte, error) {
	b, err := icons.ReadFile("icons/" + name)
	if err != nil {
		return nil, fmt.Errorf("icon %s: %w", name, err)
	}
	return b, nil
}

// PNG returns the coloured 64x64 PNG for i.
func PNG(i Icon) ([]byte, error) { return read(string(i) + ".png") }

// Template returns the monochrome macOS template PNG for i.
func Template(i Icon) ([]byte, error) { return read(string(i) + "-template.png") }

// ICO returns the Windows icon (16, 24, 32 and 48 px) for i.
func ICO(i Icon) ([]byte, error) { return read(string(i) + ".ico") }
