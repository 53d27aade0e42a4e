//go:build !windows && !darwin

package tray

import (
	"fyne.io/systray"

	"github.com/kirobar/kirobar/assets"
)

// setIcon shows i as a PNG, which StatusNotifierItem hosts take as pixmap.
func setIcon(i assets.Icon) error {
	b, err := assets.PNG(i)
	if err != nil {
		return err
	}
	systray.SetIcon(b)
	return nil
}

// setTitle names the StatusNotifierItem; hosts show it in lists and
// accessibility tools, not beside the icon.
func setTitle(app string) { systray.SetTitle(app) }

// setBeforeRun: the StatusNotifierItem takes an icon and tooltip before
// systray.Run and publishes them with the item.
const setBeforeRun = true
