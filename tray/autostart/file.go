//go:build !windows

package autostart

import (
	"fmt"
	"os"
)

// writeFileAtomic writes through a temporary file and a rename, so a
// desktop session reading the entry at login never sees half of it.
func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return fmt.Errorf("autostart: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("autostart: %w", err)
	}
	return nil
}
