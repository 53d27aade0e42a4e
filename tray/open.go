package tray

import (
	"fmt"
	"os/exec"
)

// startDetached starts the OS opener and reaps it in the background: some
// openers (xdg-open handing a file to a terminal editor) only return when
// the program they started exits, and the menu must not wait for that.
func startDetached(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("open with %s: %w", name, err)
	}
	go func() { _ = cmd.Wait() }()
	return nil
}
