// Package doctor answers "why doesn't kirobar work?": each check looks at
// one thing (the config, the home directory, the port, the accounts, the
// network path to Kiro, the clock, the request translation) and gives a
// verdict with the fix. Checks are small functions over an Env, so tests
// inject the clock, the resolver, the listener and the HTTP client.
package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/internal/instance"
	"github.com/kirobar/kirobar/kiro"
)

// Verdict is the outcome of one check.
type Verdict string

// Verdicts: ok needs nothing; warn works but deserves a look; fail is a
// reason kirobar does not work.
const (
	OK   Verdict = "ok"
	Warn Verdict = "warn"
	Fail Verdict = "fail"
)

// Result is one check's verdict, what it found and how to fix it.
type Result struct {
	Name    string  `json:"name"`
	Verdict Verdict `json:"verdict"`
	Detail  string  `json:"detail"`
	Fix     string  `json:"fix,omitempty"`
}

// Report is every check's result.
type Report struct {
	OK     bool     `json:"ok"` // no check failed
	Checks []Result `json:"checks"`
}

// Env is what the checks look at and the means they use. main fills it
// from the real machine; tests fill it with injected parts.
type Env struct {
	Home       string
	ConfigPath string
	// ConfigExists is false when there is no config.toml (defaults apply).
	ConfigExists bool
	// ConfigErr is the error parsing config.toml, nil when it parsed.
	ConfigErr error
	// Changed are the config keys that differ from the defaults.
	Changed []string
	// Kiro is the [kiro] section in effect (defaults when ConfigErr).
	Kiro kiro.Config
	// ListenAddr is [server] listen.
	ListenAddr string
	// Accounts are the stored accounts; AccountsErr says why they could
	// not be read.
	Accounts    []accounts.View
	AccountsErr error
	// LoadAccounts, when set, fills Accounts and AccountsErr after the file
	// checks ran (opening the database fixes its permissions).
	LoadAccounts func() ([]accounts.View, error)

	// Now is the local clock; nil means time.Now.
	Now func() time.Time
	// LookupHost resolves a name; nil means net.DefaultResolver.
	LookupHost func(ctx context.Context, host string) ([]string, error)
	// HTTP reaches the Kiro hosts; nil builds one through Kiro.Proxy (or
	// the environment's HTTPS_PROXY), as kirobar's upstream client does.
	HTTP *http.Client
	// Listen binds a port; nil means net.Listen.
	Listen func(network, addr string) (net.Listener, error)
	// ReadInstance reads the running kirobar's lock info; nil means
	// instance.ReadInfo.
	ReadInstance func(home string) (instance.Info, error)
	// GOOS decides whether Unix permission bits are checked; "" means
	// runtime.GOOS.
	GOOS string
	// Offline skips the network and clock checks.
	Offline bool
	// SkipSelfTest skips the request translation self-test.
	SkipSelfTest bool
}

// Run runs every check and returns the report.
func Run(ctx context.Context, env Env) Report {
	env = env.withDefaults()
	var rs []Result
	rs = append(rs, checkConfig(env))
	rs = append(rs, checkFiles(env)...)
	rs = append(rs, checkPort(env))
	if env.LoadAccounts != nil {
		env.Accounts, env.AccountsErr = env.LoadAccounts()
	}
	rs = append(rs, checkAccounts(env)...)
	if !env.Offline {
		rs = append(rs, checkNetwork(ctx, env)...)
	}
	if !env.SkipSelfTest {
		rs = append(rs, SelfTest(ctx, env.Kiro.APIStyle)...)
	}
	rep := Report{OK: true, Checks: rs}
	for _, r := range rs {
		if r.Verdict == Fail {
			rep.OK = false
		}
	}
	return rep
}

// WriteText prints the report for people: one line per check, the fix
// under each check that is not ok.
func (r Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range r.Checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", strings.ToUpper(string(c.Verdict)), c.Name, c.Detail)
		if c.Fix != "" && c.Verdict != OK {
			fmt.Fprintf(tw, "\t\tfix: %s\n", c.Fix)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var err error
	if r.OK {
		_, err = fmt.Fprintln(w, "\nno problems found")
	} else {
		_, err = fmt.Fprintln(w, "\nsome checks failed: see the fix under each FAIL line")
	}
	return err
}

// WriteJSON prints the report for machines.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
