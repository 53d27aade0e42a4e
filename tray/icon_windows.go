package tray

import (
	"fyne.io/systray"

	"github.com/kirobar/kirobar/assets"
)

// setIcon shows i as an ICO: the Windows tray renders a PNG as a blank.
func setIcon(i assets.Icon) error {
	b, err := assets.ICO(i)
	if err != nil {
		return err
	}
	systray.SetIcon(b)
	return nil
}

// setTitle does nothing: Windows tray icons have no title.
func setTitle(string) {}

// setBeforeRun: the Windows tray window exists only once Run started.
const setBeforeRun = false
