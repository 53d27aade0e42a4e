package main

import (
	"context"
	"errors"

	"github.com/kirobar/kirobar/flows"
	"github.com/kirobar/kirobar/server"
	"github.com/kirobar/kirobar/server/dashboard"
)

// openDashboard builds the browser dashboard over the app's accounts, flows
// and server. The server does not exist yet when this runs (it takes the
// dashboard as its Extra hook), so the dashboard sees it through
// appServer.
func (a *app) openDashboard() (*dashboard.Handler, error) {
	d := dashboard.Deps{
		Accounts: a.accounts,
		Server:   appServer{a},
		Home:     a.home,
		Keys:     a.cfg.Server.APIKeys,
		KeyGuard: a.keyGuard,
		Bundle:   a.bundleExtras(),
		Login:    dashboard.AccountsLogin(a.accounts),
		Version:  version,
		Log:      a.log,
	}
	if a.flows != nil {
		d.DB, d.Feed = a.db, a.flows
	}
	if a.team != nil {
		d.Team = a.team
	}
	return dashboard.New(d)
}

// bundleExtras are the diagnostic bundle's sections that only main knows;
// the CLI and the dashboard build the same bundle.
func (a *app) bundleExtras() flows.BundleExtras {
	return flows.BundleExtras{
		Version: version,
		Config:  a.cfg,
		AccountStatus: func(ctx context.Context, id string) (any, error) {
			v, err := a.accounts.View(id)
			if err != nil {
				return nil, nil // the account was removed since; the bundle says so by omission
			}
			return v, nil
		},
		Secrets: a.secrets(),
	}
}

// appServer shows the app's server to the dashboard, also before it exists.
type appServer struct{ a *app }

func (s appServer) Running() bool { return s.a.server != nil && s.a.server.Running() }

func (s appServer) Addr() string {
	if s.a.server == nil {
		return s.a.cfg.Server.Listen
	}
	return s.a.server.Addr()
}

func (s appServer) SpeedTest(ctx context.Context, accountID string) server.SpeedResult {
	if s.a.server == nil {
		return server.SpeedResult{AccountID: accountID, Err: errors.New("the proxy is not running")}
	}
	return s.a.server.SpeedTest(ctx, accountID)
}

func (s appServer) RequestsToday() int {
	if s.a.server == nil {
		return 0
	}
	return s.a.server.RequestsToday()
}

// DashboardURL opens the dashboard signed in from the tray: a one-time
// token the page exchanges for a session cookie. Empty while the server is
// stopped.
func (b *trayBackend) DashboardURL() string {
	if b.a.dashboard == nil || !b.a.server.Running() {
		return ""
	}
	u, err := b.a.dashboard.LoginURL()
	if err != nil {
		b.a.log.Error("dashboard sign-in link", "err", err)
		return ""
	}
	return u
}
