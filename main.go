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

	"github.com/kirobar/kirobar/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes, shared with every command (internal/cli).
const (
	exitOK      = cli.ExitOK
	exitFailure = cli.ExitFailure
	exitUsage   = cli.ExitUsage
	exitConfig  = cli.ExitConfig
	exitListen  = cli.ExitListen
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kirobar", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, cli.Usage) }
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
	switch cmd {
	case "version":
		fmt.Fprintln(stdout, "kirobar", version)
		return exitOK
	case "help":
		fmt.Fprint(stdout, cli.Usage)
		return exitOK
	case "serve": // accepts --home after its name too
		sfs := flag.NewFlagSet("serve", flag.ContinueOnError)
		sfs.SetOutput(stderr)
		sfs.StringVar(homeFlag, "home", *homeFlag, "home directory")
		if err := sfs.Parse(rest); err != nil {
			return exitUsage
		}
	case "", "accounts", "flows", "doctor", "setup":
	default:
		fmt.Fprintf(cli.SafeWriter(stderr), "kirobar: unknown command %q\n\n%s", cmd, cli.Usage)
		return exitUsage
	}
	home, err := resolveHome(*homeFlag)
	if err != nil {
		fmt.Fprintln(cli.SafeWriter(stderr), "kirobar:", err)
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
	default: // setup
		return runSetup(home, rest, stdout, stderr)
	}
}

// exitCode maps a startup error to its exit code.
func exitCode(err error, stderr io.Writer) int {
	fmt.Fprintln(cli.SafeWriter(stderr), "kirobar:", err)
	var ce *configError
	if errors.As(err, &ce) {
		return exitConfig
	}
	return exitFailure
}
