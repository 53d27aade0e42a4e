//go:build cgo

package tray

import (
	"fyne.io/systray"

	"github.com/kirobar/kirobar/assets"
)

// setIcon shows the calm states (ok, stopped) as template images that the
// menu bar tints like its neighbours, and the states that want the user's
// eye (attention, error) in colour.
func setIcon(i assets.Icon) error {
	b, err := assets.PNG(i)
	if err != nil {
		return err
	}
	if i == assets.Attention || i == assets.Error {
		systray.SetIcon(b)
		return nil
	}
	tpl, err := assets.Template(i)
	if err != nil {
		return err
	}
	systray.SetTemplateIcon(tpl, b)
	return nil
}

// setTitle does nothing: on macOS a title is text beside the icon in the
// menu bar, which would take room for no news.
func setTitle(string) {}

// setBeforeRun: the macOS status item exists only once Run started.
const setBeforeRun = false
