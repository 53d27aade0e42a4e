// Package cli is kirobar's command line: one file per command group
// (accounts, flows, doctor, setup) over the data APIs of the accounts and
// flows packages, with the helpers every command shares — flag parsing,
// tables, exit codes and printing that a hostile string cannot abuse.
package cli

import (
	"io"
	"os"
	"time"

	"github.com/kirobar/kirobar/accounts"
)

// Exit codes of every kirobar command.
const (
	ExitOK      = 0 // done
	ExitFailure = 1 // the command ran and something failed
	ExitUsage   = 2 // the command line was wrong
	ExitConfig  = 3 // config.toml is wrong
	ExitListen  = 4 // the proxy could not listen
)

// Env is what a command reads, writes and calls out to. Zero fields mean
// the process's own: os.Stdin, os.Stdout, os.Stderr, time.Now and the
// system browser.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Interactive says Stdin is a terminal a person types into, so a
	// command may ask for a missing choice instead of failing.
	Interactive bool
	// Now is the clock relative times are shown against.
	Now func() time.Time
	// OpenURL opens a sign-in page.
	OpenURL func(url string) error
}

// withDefaults fills the zero fields with the process's own.
func (e Env) withDefaults() Env {
	if e.Stdin == nil {
		e.Stdin = os.Stdin
	}
	if e.Stdout == nil {
		e.Stdout = os.Stdout
	}
	if e.Stderr == nil {
		e.Stderr = os.Stderr
	}
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.OpenURL == nil {
		e.OpenURL = accounts.OpenBrowser
	}
	return e
}
