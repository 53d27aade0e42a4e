// Package autostart turns "launch kirobar at login" on and off with each
// operating system's own mechanism, written in-house and small:
//
//   - Linux and the BSDs: an XDG autostart entry,
//     $XDG_CONFIG_HOME/autostart/<ID>.desktop (~/.config when unset), which
//     every XDG desktop (GNOME, KDE, Xfce, Cinnamon, LXQt…) runs at login.
//   - macOS: a LaunchAgent, ~/Library/LaunchAgents/<label>.plist with
//     RunAtLoad, which launchd starts at the next login.
//   - Windows: a value named <ID> under
//     HKCU\Software\Microsoft\Windows\CurrentVersion\Run.
//
// The state is always read back from the OS, never cached, so a user who
// deletes the entry by hand sees the checkbox follow.
package autostart

import (
	"errors"
	"fmt"
)

// Entry describes the program to start at login.
type Entry struct {
	ID   string   // file name, LaunchAgent label suffix and Run value name, e.g. "kirobar"
	Name string   // human name shown by desktop settings, e.g. "kirobar"
	Exec string   // absolute path of the executable
	Args []string // arguments, e.g. "--hidden"
}

func (e Entry) validate() error {
	if e.ID == "" {
		return errors.New("autostart: entry has no ID")
	}
	for _, r := range e.ID {
		ok := r == '-' || r == '_' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			return fmt.Errorf("autostart: ID %q: use letters, digits, '.', '-' or '_'", e.ID)
		}
	}
	if e.Exec == "" {
		return fmt.Errorf("autostart %s: no executable path", e.ID)
	}
	return nil
}

func (e Entry) name() string {
	if e.Name != "" {
		return e.Name
	}
	return e.ID
}

// Enabled reports whether e starts at login, as the OS has it now.
func Enabled(e Entry) (bool, error) {
	if err := e.validate(); err != nil {
		return false, err
	}
	return enabled(e)
}

// Enable makes e start at login, replacing an older entry with the same ID
// (for example one that points at a binary that has since moved).
func Enable(e Entry) error {
	if err := e.validate(); err != nil {
		return err
	}
	return enable(e)
}

// Disable stops e from starting at login; it is not an error if it did not.
func Disable(e Entry) error {
	if err := e.validate(); err != nil {
		return err
	}
	return disable(e)
}

// Set enables or disables e.
func Set(e Entry, on bool) error {
	if on {
		return Enable(e)
	}
	return Disable(e)
}
