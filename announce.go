package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/kirobar/kirobar/internal/cli"
)

// terminalOut is where a started kirobar may print the client key: the
// terminal it was started from (stdout, else stderr), or nil when neither
// is one — then the output may be going to a journal or a file, and the
// key stays out of it.
func terminalOut(stderr io.Writer) io.Writer {
	switch {
	case isTerminal(os.Stdout):
		return cli.SafeWriter(os.Stdout)
	case isTerminal(stderr):
		return cli.SafeWriter(stderr)
	}
	return nil
}

// announce tells the person who started kirobar where it serves and how
// to point Claude Code and Codex at it, once: with the key on a terminal,
// without it anywhere else. None of it goes to the log file.
func (a *app) announce(tty, stderr io.Writer) {
	ready, _ := a.accounts.Ready()
	if tty != nil {
		fmt.Fprint(tty, cli.StartBanner(a.server.Addr(), firstKey(a.cfg), ready > 0))
		return
	}
	fmt.Fprint(cli.SafeWriter(stderr), cli.StartNote(a.server.Addr()))
}

// watchFirstAccount waits, while kirobar has no account, for the first one
// (signed in from another terminal, the tray or the dashboard) and then
// says that kirobar can serve and what to run next.
func (a *app) watchFirstAccount(ctx context.Context, tty io.Writer) {
	if _, total := a.accounts.Ready(); total > 0 {
		return
	}
	changes, unsubscribe := a.accounts.Subscribe()
	go func() {
		defer unsubscribe()
		for {
			select {
			case <-ctx.Done():
				return
			case <-changes:
			}
			views := a.accounts.List()
			if len(views) == 0 {
				continue
			}
			a.log.Info("first Kiro account added: kirobar can serve now; `kirobar setup claude` or `kirobar setup codex` points a client at it",
				"account", views[0].ID, "label", views[0].Label)
			if tty != nil {
				fmt.Fprint(tty, "\n"+cli.FirstAccountNote(views[0].Label))
			}
			return
		}
	}()
}
