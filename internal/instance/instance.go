// Package instance keeps kirobar to one running copy per home directory.
//
// Two copies would fight over the port, the database and the refresh tokens
// (a refresh token rotated by one copy is stale in the other), so the second
// one must step aside. Acquire takes an exclusive lock on "kirobar.lock" in
// the home directory (gofrs/flock: flock(2) on Unix, LockFileEx on Windows;
// the OS drops it when the process dies, so a crash never leaves a stale
// lock) and writes who holds it to "kirobar.pid" beside it, because a locked
// file cannot be read on Windows. A second Acquire fails with a *HeldError
// that names the holder, which main prints before exiting 0.
package instance

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// File names inside the home directory.
const (
	LockFile = "kirobar.lock"
	InfoFile = "kirobar.pid"
)

// Info describes the running instance.
type Info struct {
	PID     int       `json:"pid"`
	Addr    string    `json:"addr,omitempty"` // where the proxy listens, once it does
	Home    string    `json:"home"`
	Started time.Time `json:"started"`
}

// HeldError says another kirobar holds the lock.
type HeldError struct {
	Lock   string // path of the lock file
	Holder Info   // zero when the holder's info file could not be read
}

// Error says that kirobar already runs, and where, in words for the user.
func (e *HeldError) Error() string {
	var where []string
	if e.Holder.PID != 0 {
		where = append(where, fmt.Sprintf("pid %d", e.Holder.PID))
	}
	if e.Holder.Addr != "" {
		where = append(where, "serving on "+e.Holder.Addr)
	}
	where = append(where, "home "+filepath.Dir(e.Lock))
	return "kirobar is already running (" + strings.Join(where, ", ") + ")"
}

// Lock is the held single-instance lock.
type Lock struct {
	fl   *flock.Flock
	home string
	info Info
}

// Acquire takes the lock in home (created if missing) for the calling
// process, or returns a *HeldError when another process holds it.
func Acquire(home string, now time.Time) (*Lock, error) {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, fmt.Errorf("instance lock: %w", err)
	}
	path := filepath.Join(home, LockFile)
	fl := flock.New(path, flock.SetPermissions(0o600))
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("instance lock %s: %w", path, err)
	}
	if !ok {
		held := &HeldError{Lock: path}
		if info, err := ReadInfo(home); err == nil {
			held.Holder = info
		}
		return nil, held
	}
	l := &Lock{fl: fl, home: home, info: Info{PID: os.Getpid(), Home: home, Started: now.UTC()}}
	if err := l.write(); err != nil {
		return nil, errors.Join(err, fl.Unlock())
	}
	return l, nil
}

// SetAddr records where the proxy listens, so a second kirobar can say so;
// an empty addr means the server is stopped.
func (l *Lock) SetAddr(addr string) error {
	l.info.Addr = addr
	return l.write()
}

// Info returns what the lock advertises about this process.
func (l *Lock) Info() Info { return l.info }

func (l *Lock) write() error {
	b, err := json.Marshal(l.info)
	if err != nil {
		return fmt.Errorf("instance info: %w", err)
	}
	path := filepath.Join(l.home, InfoFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("instance info: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("instance info: %w", err)
	}
	return nil
}

// Release removes the info file and unlocks. The lock file stays: removing
// it would let a third process lock a new file while a second still waits
// on the old one.
func (l *Lock) Release() error {
	rmErr := os.Remove(filepath.Join(l.home, InfoFile))
	if errors.Is(rmErr, os.ErrNotExist) {
		rmErr = nil
	}
	if err := l.fl.Unlock(); err != nil {
		return errors.Join(rmErr, fmt.Errorf("instance unlock: %w", err))
	}
	if rmErr != nil {
		return fmt.Errorf("instance info: %w", rmErr)
	}
	return nil
}

// ReadInfo reads the holder's advertisement from home.
func ReadInfo(home string) (Info, error) {
	b, err := os.ReadFile(filepath.Join(home, InfoFile))
	if err != nil {
		return Info{}, fmt.Errorf("instance info: %w", err)
	}
	var info Info
	if err := json.Unmarshal(b, &info); err != nil {
		return Info{}, fmt.Errorf("instance info %s: %w", filepath.Join(home, InfoFile), err)
	}
	return info, nil
}
