package autostart

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

func plistPath(e Entry) (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("autostart: %w", err)
	}
	return filepath.Join(home, "Library", "LaunchAgents", launchAgentLabel(e)+".plist"), nil
}

// Path returns where the entry for e lives on this OS.
func Path(e Entry) (string, error) { return plistPath(e) }

func enabled(e Entry) (bool, error) {
	path, err := plistPath(e)
	if err != nil {
		return false, err
	}
	_, err = os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("autostart: %w", err)
	}
	return true, nil
}

func enable(e Entry) error {
	path, err := plistPath(e)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("autostart: %w", err)
	}
	return writeFileAtomic(path, []byte(launchAgentPlist(e)), 0o644)
}

func disable(e Entry) error {
	path, err := plistPath(e)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("autostart: %w", err)
	}
	return nil
}
