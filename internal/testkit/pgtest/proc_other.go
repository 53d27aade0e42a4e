//go:build !linux

package pgtest

import (
	"os"
	"syscall"
)

// sysProcAttr: outside Linux the tests run PostgreSQL as the current user.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// chownTree has nothing to do when PostgreSQL runs as the current user.
func chownTree(string) error { return nil }

func tempParent() string { return os.TempDir() }
