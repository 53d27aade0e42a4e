// Command kirobar is a tray app and headless proxy that serves Claude Code,
// Codex CLI and any Anthropic or OpenAI SDK from a pool of Kiro accounts.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	exitConfig  = 3
	exitListen  = 4
)

const usage = `kirobar — Kiro accounts behind an Anthropic- and OpenAI-compatible API

Usage:
  kirobar [--home DIR] [--headless] [--hidden]   run in the system tray (headless where there is none)
  kirobar serve [--home DIR]                     run the proxy in the foreground, no tray
  kirobar accounts <command> ...                 login, list, import, add, remove, enable, disable, refresh, check, set-proxy
  kirobar flows <command> ...                    list, show, tail, stats, bundle
  kirobar doctor [--json] [--offline]            check config, files, port, accounts, network, clock, translation
  kirobar version

The home directory is --home, else $KIROBAR_HOME, else the OS config dir + /kirobar.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kirobar", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	homeFlag := fs.String("home", "", "home directory")
	headless := fs.Bool("headless", false, "run without the tray")
	hidden := fs.Bool("hidden", false, "start without notifications (used by launch at login)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	rest := fs.Args()
	cmd := ""
	if len(rest) > 0 {
		cmd, rest = rest[0], rest[1:]
	}
	if cmd == "version" {
		fmt.Fprintln(stdout, "kirobar", version)
		return exitOK
	}
	if cmd == "help" {
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	// Subcommands accept --home after their name too.
	if cmd == "serve" {
		sfs := flag.NewFlagSet("serve", flag.ContinueOnError)
		sfs.SetOutput(stderr)
		sfs.StringVar(homeFlag, "home", *homeFlag, "home directory")
		if err := sfs.Parse(rest); err != nil {
			return exitUsage
		}
	}
	home, err := resolveHome(*homeFlag)
	if err != nil {
		fmt.Fprintln(stderr, "kirobar:", err)
		return exitFailure
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch cmd {
	case "":
		return runDesktop(ctx, home, *headless, *hidden, stderr)
	case "serve":
		return runServe(ctx, home, stderr)
	case "accounts":
		return runAccounts(ctx, home, rest, stdout, stderr)
	case "flows":
		return runFlows(ctx, home, rest, stdout, stderr)
	case "doctor":
		return runDoctor(ctx, home, rest, stdout, stderr)
	}
	fmt.Fprintf(stderr, "kirobar: unknown command %q\n\n%s", cmd, usage)
	return exitUsage
}

// exitCode maps a startup error to its exit code.
func exitCode(err error, stderr io.Writer) int {
	fmt.Fprintln(stderr, "kirobar:", err)
	var ce *configError
	if errors.As(err, &ce) {
		return exitConfig
	}
	return exitFailure
}

func runAccounts(ctx context.Context, home string, args []string, stdout, stderr io.Writer) int {
	a, err := openApp(home, false)
	if err != nil {
		return exitCode(err, stderr)
	}
	defer a.close()
	return accountsCommand(ctx, a, args, stdout, stderr)
}

func runFlows(ctx context.Context, home string, args []string, stdout, stderr io.Writer) int {
	a, err := openApp(home, false)
	if err != nil {
		return exitCode(err, stderr)
	}
	defer a.close()
	return flowsCommand(ctx, a, args, stdout, stderr)
}
