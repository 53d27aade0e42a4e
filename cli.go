package main

import (
	"context"
	"io"

	"github.com/kirobar/kirobar/internal/cli"
)

func accountsCommand(ctx context.Context, a *app, args []string, stdout, stderr io.Writer) int {
	return cli.Accounts(ctx, a.accounts, args, cli.Env{Stdout: stdout, Stderr: stderr})
}

func flowsCommand(ctx context.Context, a *app, args []string, stdout, stderr io.Writer) int {
	return cli.Flows(ctx, a.db, a.home, args, cli.Env{Stdout: stdout, Stderr: stderr}, a.bundleExtras())
}
