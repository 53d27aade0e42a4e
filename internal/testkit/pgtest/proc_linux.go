package pgtest

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// runAs is the unprivileged user PostgreSQL runs as when the tests run as
// root; nil otherwise.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL refuses to run as root and there is no user nobody: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("uid of nobody: %w", err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("gid of nobody: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

// sysProcAttr drops root for PostgreSQL's programs and kills the server
// when the test binary dies, so no server outlives a crashed test run.
func sysProcAttr() *syscall.SysProcAttr {
	cred, _ := runAs() // newServer already checked it through chownTree
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
}

// chownTree gives dir to the user PostgreSQL runs as.
func chownTree(dir string) error {
	cred, err := runAs()
	if err != nil || cred == nil {
		return err
	}
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("pgtest: chown %s: %w", p, err)
		}
		return nil
	})
}

// tempParent is where server directories go: /tmp when root, because the
// unprivileged user must be able to reach the directory and root's
// $TMPDIR may be private.
func tempParent() string {
	if os.Geteuid() == 0 {
		return "/tmp"
	}
	return os.TempDir()
}
