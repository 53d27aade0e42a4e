package cli

import (
	"flag"
	"fmt"

	"github.com/kirobar/kirobar/accounts"
)

// login runs `kirobar accounts login`, printing the code, the URL and the
// progress to stdout.
func (c accountsCLI) login(args []string) int {
	var builderID, idc, google, github bool
	var r accounts.LoginRequest
	var relogin string
	rest, ok := c.flags("login", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&builderID, "builder-id", false, "sign in with an AWS Builder ID (device code)")
		fs.BoolVar(&idc, "idc", false, "sign in with IAM Identity Center (device code; needs --start-url)")
		fs.BoolVar(&google, "google", false, "sign in with Google through the Kiro auth portal")
		fs.BoolVar(&github, "github", false, "sign in with GitHub through the Kiro auth portal")
		fs.StringVar(&r.StartURL, "start-url", "", "IAM Identity Center start URL (https://<org>.awsapps.com/start)")
		fs.StringVar(&r.Region, "region", "", "AWS region of the Builder ID / IdC sign-in (default: [kiro] region)")
		fs.StringVar(&relogin, "relogin", "", "renew this account in place instead of adding one")
	})
	if !ok {
		return ExitUsage
	}
	if len(rest) > 0 {
		return c.usage("login takes flags only")
	}
	n := 0
	for _, k := range []struct {
		on   bool
		kind accounts.LoginKind
	}{{builderID, accounts.LoginBuilderID}, {idc, accounts.LoginIdC}, {google, accounts.LoginGoogle}, {github, accounts.LoginGitHub}} {
		if k.on {
			r.Kind = k.kind
			n++
		}
	}
	if n != 1 {
		return c.usage("login needs exactly one of --builder-id, --idc, --google, --github")
	}
	if relogin != "" {
		id, err := c.m.Resolve(relogin)
		if err != nil {
			return c.fail(err)
		}
		r.Relogin = id
	}
	ui := accounts.LoginUI{
		OpenURL: c.openURL,
		Device: func(d accounts.DeviceCode) {
			fmt.Fprintf(c.out, "To sign in, open %s and enter the code %s (valid until %s).\n",
				d.VerificationURI, d.UserCode, d.ExpiresAt.Local().Format("15:04"))
		},
		Status: func(msg string) { fmt.Fprintln(c.out, msg) },
	}
	v, err := c.m.Login(c.ctx, r, ui)
	if err != nil {
		return c.fail(err)
	}
	verb := "added"
	if r.Relogin != "" {
		verb = "renewed"
	}
	fmt.Fprintf(c.out, "%s %s  %s  (%s, %s)\n", verb, v.ID, v.Label, v.AuthMethod, v.Status)
	return ExitOK
}
