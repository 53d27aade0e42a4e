//go:build !windows && !darwin

package autostart

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// desktopPath is $XDG_CONFIG_HOME/autostart/<ID>.desktop, with
// XDG_CONFIG_HOME defaulting to ~/.config as the XDG spec says.
func desktopPath(e Entry) (string, error) {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("autostart: %w", err)
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "autostart", e.ID+".desktop"), nil
}

// Path returns where the entry for e lives on this OS.
func Path(e Entry) (string, error) { return desktopPath(e) }

func enabled(e Entry) (bool, error) {
	path, err := desktopPath(e)
	if err != nil {
		return false, err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("autostart: %w", err)
	}
	return desktopActive(string(b)), nil
}

func enable(e Entry) error {
	path, err := desktopPath(e)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("autostart: %w", err)
	}
	return writeFileAtomic(path, []byte(desktopFile(e)), 0o644)
}

func disable(e Entry) error {
	path, err := desktopPath(e)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("autostart: %w", err)
	}
	return nil
}
