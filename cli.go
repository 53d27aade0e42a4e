package main

import (
	"context"
	"io"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/flows"
)

func accountsCommand(ctx context.Context, a *app, args []string, stdout, stderr io.Writer) int {
	return accounts.Command(ctx, a.accounts, args, stdout, stderr)
}

func flowsCommand(ctx context.Context, a *app, args []string, stdout, stderr io.Writer) int {
	return flows.Command(ctx, a.db, a.home, args, stdout, stderr, a.bundleExtras())
}
