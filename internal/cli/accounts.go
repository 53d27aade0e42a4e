package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/kiro"
)

const accountsUsage = `usage: kirobar accounts <command> [arguments]

  list [--json]                       show every account (tokens masked)
  login --builder-id | --idc --start-url URL [--region R] | --google | --github [--relogin ID]
                                      sign in to Kiro in the browser and add the account
                                      (--relogin renews an account that needs a login, keeping its id)
  import [PATH...]                    import Kiro logins: the IDE cache directory (default ~/.aws/sso/cache),
                                      a JSON token file or directory of them, or kiro-cli's data.sqlite3
  add --refresh-token TOKEN [--idc --client-id ID --client-secret SECRET] [--region R] [--label L]
                                      add an account from a pasted refresh token
  remove ID                           delete an account (a linked token file is left alone)
  enable ID | disable ID              put an account back into the pool (clearing a suspension,
                                      quarantine or cooldown) or take it out
  refresh [ID... | --expiring]        refresh tokens now (all enabled accounts by default)
  check [ID...] [--json]              refresh if due, read quota and models (no credits spent)
  set-proxy ID URL                    route an account through an HTTP or SOCKS5 proxy ("" or none clears)

ID may be a unique prefix of the id, or the label.
`

// Accounts runs `kirobar accounts ARGS...` against m and returns the exit
// code. It works whether or not a kirobar is running: changes go to the
// database, where a running one picks them up within seconds.
func Accounts(ctx context.Context, m *accounts.Manager, args []string, env Env) int {
	env = env.withDefaults()
	c := accountsCLI{ctx: ctx, m: m, env: env, out: SafeWriter(env.Stdout), errw: SafeWriter(env.Stderr)}
	if len(args) == 0 || helpArg(args) {
		fmt.Fprint(c.out, accountsUsage)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	switch args[0] {
	case "list", "ls":
		return c.list(args[1:])
	case "login":
		return c.login(args[1:])
	case "import":
		return c.importPaths(args[1:])
	case "add":
		return c.add(args[1:])
	case "remove", "rm":
		return c.each(args[1:], "remove", "removed", m.Remove)
	case "enable":
		return c.each(args[1:], "enable", "enabled", func(id string) error { return m.SetEnabled(id, true) })
	case "disable":
		return c.each(args[1:], "disable", "disabled", func(id string) error { return m.SetEnabled(id, false) })
	case "refresh":
		return c.refresh(args[1:])
	case "check":
		return c.check(args[1:])
	case "set-proxy":
		return c.setProxy(args[1:])
	}
	return c.usage(fmt.Sprintf("unknown command %q", args[0]))
}

// accountsCLI carries what the accounts subcommands share. out and errw
// are env's writers behind SafeWriter.
type accountsCLI struct {
	ctx       context.Context
	m         *accounts.Manager
	env       Env
	out, errw io.Writer
}

func (c accountsCLI) now() time.Time { return c.env.Now() }

func (c accountsCLI) fail(err error) int {
	fmt.Fprintln(c.errw, "kirobar accounts:", err)
	return ExitFailure
}

func (c accountsCLI) usage(msg string) int {
	fmt.Fprintf(c.errw, "kirobar accounts: %s\n\n%s", msg, accountsUsage)
	return ExitUsage
}

// flags parses a subcommand's flags, allowing flags after arguments.
func (c accountsCLI) flags(name string, args []string, def func(fs *flag.FlagSet)) ([]string, bool) {
	fs := newFlagSet("accounts "+name, c.errw)
	def(fs)
	rest, err := parseArgs(fs, args)
	return rest, err == nil
}

func (c accountsCLI) list(args []string) int {
	var asJSON bool
	rest, ok := c.flags("list", args, func(fs *flag.FlagSet) { fs.BoolVar(&asJSON, "json", false, "print JSON") })
	if !ok {
		return ExitUsage
	}
	if len(rest) > 0 {
		return c.usage("list takes no arguments")
	}
	views := c.m.List()
	if asJSON {
		enc := json.NewEncoder(c.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(views); err != nil {
			return c.fail(err)
		}
		return ExitOK
	}
	if len(views) == 0 {
		fmt.Fprintln(c.out, "no accounts; add one with `kirobar accounts login` (it asks how you sign in), "+
			"or import the Kiro IDE's login with `kirobar accounts import`")
		return ExitOK
	}
	now := c.now()
	t := newTable(c.out, "ID", "LABEL", "KIND", "STATUS", "SERVED", "PROFILE", "TOKEN EXPIRES", "QUOTA", "REQUESTS", "ERRORS", "LAST USED", "NOTE")
	for _, v := range views {
		t.row(v.ID, v.Label, kind(v), v.Status, served(v), profile(v), relTime(v.ExpiresAt, now), quotaOf(v),
			v.Requests, v.Errors, relTime(v.LastUsed, now), note(v, now))
	}
	if err := t.flush(); err != nil {
		return c.fail(err)
	}
	return ExitOK
}

// kind is how the account signs in: social, idc or builder-id.
func kind(v accounts.View) string {
	if v.Kind != "" {
		return v.Kind
	}
	return v.AuthMethod
}

// served says where Kiro serves the account: API style and region.
func served(v accounts.View) string {
	return strings.TrimSpace(dash(v.APIStyle) + " " + v.APIRegion)
}

// profile is the account's profile in short: the id after "profile/",
// "placeholder" for the Builder ID one, "none" when resolved to none, and
// "first use" when not resolved yet.
func profile(v accounts.View) string {
	switch {
	case v.ProfileARN == "" && v.ProfileAt.IsZero():
		return "first use"
	case v.ProfileARN == "":
		return "none"
	case kiro.IsPlaceholderProfile(v.ProfileARN):
		return "placeholder"
	}
	if i := strings.LastIndex(v.ProfileARN, "/"); i >= 0 {
		return v.ProfileARN[i+1:]
	}
	return v.ProfileARN
}

// quotaOf is used/limit, with what was used past the limit as overage.
func quotaOf(v accounts.View) string {
	q := quota(v.QuotaUsed, v.QuotaLimit)
	if v.Status == accounts.StatusOverage || v.Overages > 0 {
		q += fmt.Sprintf(" +%.1f overage", v.Overages)
	}
	return q
}

// note is the most useful thing to say about an account in one cell.
func note(v accounts.View, now time.Time) string {
	var parts []string
	if v.Region != "" && v.APIRegion != "" && v.Region != v.APIRegion {
		parts = append(parts, "signs in in "+v.Region)
	}
	for _, m := range slices.Sorted(maps.Keys(v.BlockedModels)) {
		parts = append(parts, m+" blocked until "+relTime(v.BlockedModels[m], now))
	}
	if !v.CooldownUntil.IsZero() {
		parts = append(parts, "until "+relTime(v.CooldownUntil, now))
	}
	if v.Proxy != "" {
		parts = append(parts, "via proxy")
	}
	if v.LastError != "" && v.Status != accounts.StatusReady && v.Status != accounts.StatusExpiring {
		parts = append(parts, shorten(v.LastError, 60))
	}
	return strings.Join(parts, "; ")
}

func quota(used, limit float64) string {
	if limit <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f/%.0f", used, limit)
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// relTime says "in 42m", "5m ago" or "-".
func relTime(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := t.Sub(now)
	if d >= 0 {
		return "in " + roughly(d)
	}
	return roughly(-d) + " ago"
}

func roughly(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}

func (c accountsCLI) importPaths(args []string) int {
	if len(args) == 0 {
		args = []string{c.m.DefaultImportPath()}
	}
	code := ExitOK
	for _, p := range args {
		views, err := c.m.ImportPath(c.ctx, p)
		for _, v := range views {
			c.said("imported", v)
		}
		if err != nil {
			code = c.fail(err)
		}
	}
	return code
}

func (c accountsCLI) add(args []string) int {
	var r accounts.AddRequest
	var idc bool
	rest, ok := c.flags("add", args, func(fs *flag.FlagSet) {
		fs.StringVar(&r.RefreshToken, "refresh-token", "", "the refresh token (whole, not the shortened one the IDE shows)")
		fs.BoolVar(&idc, "idc", false, "the token is a Builder ID / IAM Identity Center login")
		fs.StringVar(&r.ClientID, "client-id", "", "IdC client id (from the <clientIdHash>.json registration)")
		fs.StringVar(&r.ClientSecret, "client-secret", "", "IdC client secret")
		fs.StringVar(&r.Region, "region", "", "the login's region (default: [kiro] region)")
		fs.StringVar(&r.Label, "label", "", "a name for the account")
	})
	if !ok {
		return ExitUsage
	}
	if len(rest) > 0 || r.RefreshToken == "" {
		return c.usage("add needs --refresh-token TOKEN and no other arguments")
	}
	if idc {
		r.AuthMethod = accounts.AuthIdC
	}
	// A token Kiro refused, or whose first refresh failed, was not added:
	// the error says which, and whether the account was kept to retry.
	v, err := c.m.AddRefreshToken(c.ctx, r)
	if err != nil {
		return c.fail(err)
	}
	c.said("added", v)
	return ExitOK
}

// said prints one line about what happened to an account.
func (c accountsCLI) said(verb string, v accounts.View) {
	fmt.Fprintf(c.out, "%s %s  %s  (%s, %s)\n", verb, Safe(v.ID), Safe(v.Label), Safe(v.AuthMethod), Safe(v.Status))
}

// each runs fn on every named account.
func (c accountsCLI) each(args []string, verb, done string, fn func(id string) error) int {
	if len(args) == 0 {
		return c.usage(verb + " needs an account ID")
	}
	code := ExitOK
	for _, ref := range args {
		id, err := c.m.Resolve(ref)
		if err == nil {
			err = fn(id)
		}
		if err != nil {
			code = c.fail(err)
			continue
		}
		fmt.Fprintf(c.out, "%s %s\n", done, Safe(id))
	}
	return code
}

func (c accountsCLI) resolveAll(refs []string) ([]string, error) {
	var ids []string
	for _, ref := range refs {
		id, err := c.m.Resolve(ref)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func (c accountsCLI) refresh(args []string) int {
	var expiring bool
	rest, ok := c.flags("refresh", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&expiring, "expiring", false, "only accounts whose token expires within refresh_lead")
	})
	if !ok {
		return ExitUsage
	}
	if expiring {
		if len(rest) > 0 {
			return c.usage("refresh takes IDs or --expiring, not both")
		}
		n, err := c.m.RefreshExpiring(c.ctx)
		fmt.Fprintf(c.out, "refreshed %d account(s)\n", n)
		if err != nil {
			return c.fail(err)
		}
		return ExitOK
	}
	ids, err := c.resolveAll(rest)
	if err != nil {
		return c.fail(err)
	}
	if len(ids) == 0 {
		for _, v := range c.m.List() {
			if v.Enabled {
				ids = append(ids, v.ID)
			}
		}
	}
	code := ExitOK
	for _, id := range ids {
		if err := c.m.Refresh(c.ctx, id); err != nil {
			code = c.fail(err)
			continue
		}
		v, err := c.m.View(id)
		if err != nil {
			code = c.fail(err)
			continue
		}
		fmt.Fprintf(c.out, "refreshed %s  %s  token expires %s\n", Safe(v.ID), Safe(v.Label), relTime(v.ExpiresAt, c.now()))
	}
	return code
}

func (c accountsCLI) check(args []string) int {
	var asJSON bool
	rest, ok := c.flags("check", args, func(fs *flag.FlagSet) { fs.BoolVar(&asJSON, "json", false, "print JSON") })
	if !ok {
		return ExitUsage
	}
	ids, err := c.resolveAll(rest)
	if err != nil {
		return c.fail(err)
	}
	results, err := c.m.Check(c.ctx, ids, nil)
	if err != nil {
		return c.fail(err)
	}
	if asJSON {
		enc := json.NewEncoder(c.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			return c.fail(err)
		}
	} else if err := writeCheckTable(c.out, results, c.now()); err != nil {
		return c.fail(err)
	}
	for _, r := range results {
		if r.Err != "" {
			return ExitFailure
		}
	}
	return ExitOK
}

// writeCheckTable prints check results as a table.
func writeCheckTable(w io.Writer, results []accounts.CheckResult, now time.Time) error {
	if len(results) == 0 {
		_, err := fmt.Fprintln(w, "no enabled accounts to check")
		return err
	}
	t := newTable(w, "ID", "LABEL", "STATUS", "PLAN", "USED/LIMIT", "RESETS", "MODELS", "RESULT")
	for _, r := range results {
		models := "-"
		if r.Models >= 0 {
			models = fmt.Sprint(r.Models)
		}
		result := "ok"
		if r.Refreshed {
			result = "ok (token refreshed)"
		}
		if r.Err != "" {
			result = shorten(r.Err, 80)
		}
		plan := r.Plan
		if plan == "" {
			plan = "-"
		}
		t.row(r.ID, r.Label, r.Status, plan, quota(r.Used, r.Limit), relTime(r.NextReset, now), models, result)
	}
	return t.flush()
}

func (c accountsCLI) setProxy(args []string) int {
	if len(args) != 2 {
		return c.usage("set-proxy needs ID and URL")
	}
	id, err := c.m.Resolve(args[0])
	if err != nil {
		return c.fail(err)
	}
	url := args[1]
	if url == "none" || url == "-" {
		url = ""
	}
	if err := c.m.SetProxy(id, url); err != nil {
		return c.fail(err)
	}
	if url == "" {
		fmt.Fprintf(c.out, "%s uses the global proxy setting\n", Safe(id))
	} else {
		fmt.Fprintf(c.out, "%s now goes through a proxy\n", Safe(id))
	}
	return ExitOK
}
