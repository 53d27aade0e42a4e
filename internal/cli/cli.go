// Package cli is kirobar's command line: one file per command group
// (accounts, flows, doctor, setup) over the data APIs of the accounts and
// flows packages, with the helpers every command shares — flag parsing,
// tables, exit codes and printing that a hostile string cannot abuse.
package cli

import (
	"flag"
	"io"
	"os"
	"time"

	"github.com/kirobar/kirobar/internal/browser"
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
	// Instance names this kirobar among a team's instances sharing one
	// store; empty with a kirobar.db of its own. Flow details other
	// instances served are in their homes.
	Instance string
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
		e.OpenURL = browser.OpenURL
	}
	return e
}

// newFlagSet returns a flag set for `kirobar NAME` that reports errors to
// out instead of exiting.
func newFlagSet(name string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("kirobar "+name, flag.ContinueOnError)
	fs.SetOutput(out)
	return fs
}

// parseArgs parses flags that may come before or after positional
// arguments (`show ID --json` and `show --json ID`) and returns the
// positionals.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// helpArg reports whether args ask for a command group's help.
func helpArg(args []string) bool {
	return len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help")
}

// Usage is kirobar's top-level help.
const Usage = `kirobar — Kiro accounts behind an Anthropic- and OpenAI-compatible API

Usage:
  kirobar [--home DIR] [--headless] [--hidden]   run in the system tray (headless where there is none)
  kirobar serve [--home DIR]                     run the proxy in the foreground, no tray
  kirobar setup claude|codex|env [--write]       the lines that point a client at kirobar, with your key
  kirobar accounts <command> ...                 login, list, import, add, remove, enable, disable, refresh, check, set-proxy
  kirobar flows <command> ...                    list, show, tail, stats, usage, bundle
  kirobar doctor [--json] [--offline]            check config, files, port, accounts, network, clock, translation
  kirobar version

The home directory is --home, else $KIROBAR_HOME, else the OS config dir + /kirobar.
`
