package main

import (
	"context"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/kirobar/kirobar/internal/cli"
)

// commandEnv is the command line's view of this process: the person at
// the terminal, if any, is asked instead of told to add a flag.
func commandEnv(stdout, stderr io.Writer) cli.Env {
	return cli.Env{Stdin: os.Stdin, Stdout: stdout, Stderr: stderr, Interactive: isTerminal(os.Stdin) && isTerminal(stdout)}
}

// isTerminal reports whether v is a file open on a terminal.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func runAccounts(ctx context.Context, home string, args []string, stdout, stderr io.Writer) int {
	a, err := openApp(home, false)
	if err != nil {
		return exitCode(err, stderr)
	}
	defer a.close()
	return cli.Accounts(ctx, a.accounts, args, commandEnv(stdout, stderr))
}

func runFlows(ctx context.Context, home string, args []string, stdout, stderr io.Writer) int {
	a, err := openApp(home, false)
	if err != nil {
		return exitCode(err, stderr)
	}
	defer a.close()
	env := commandEnv(stdout, stderr)
	if a.cfg.Store.Shared() {
		env.Instance = a.instanceName()
	}
	return cli.Flows(ctx, a.db, a.home, args, env, a.bundleExtras())
}

// runDoctor runs `kirobar doctor` against this machine's kirobar.
func runDoctor(ctx context.Context, home string, args []string, stdout, stderr io.Writer) int {
	return cli.Doctor(ctx, doctorEnv(home), args, commandEnv(stdout, stderr))
}

// runSetup runs `kirobar setup`: the config says where kirobar listens
// and which key a client sends.
func runSetup(home string, args []string, stdout, stderr io.Writer) int {
	cfg, _, err := loadConfig(home)
	if err != nil {
		return exitCode(&configError{err}, stderr)
	}
	return cli.Setup(args, cli.DefaultTarget(cfg.Server.Listen, firstKey(cfg)), commandEnv(stdout, stderr))
}

// firstKey is the client key kirobar hands out in setup lines.
func firstKey(cfg Config) string {
	if len(cfg.Server.APIKeys) == 0 {
		return ""
	}
	return cfg.Server.APIKeys[0]
}
