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
	extra := flows.BundleExtras{
		Version: version,
		Config:  a.cfg,
		AccountStatus: func(ctx context.Context, id string) (any, error) {
			for _, v := range a.accounts.List() {
				if v.ID == id {
					return v, nil
				}
			}
			return nil, nil
		},
		Secrets: a.secrets(),
	}
	return flows.Command(ctx, a.db, a.home, args, stdout, stderr, extra)
}
