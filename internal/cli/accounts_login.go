package cli

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/accounts/signin"
)

// login runs `kirobar accounts login`, printing the code, the URL and the
// progress to stdout. Without a kind flag it asks which kind when a person
// is at the terminal, and says which flags exist otherwise.
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
		kind signin.Kind
	}{{builderID, signin.BuilderID}, {idc, signin.IdC}, {google, signin.Google}, {github, signin.GitHub}} {
		if k.on {
			r.Kind = k.kind
			n++
		}
	}
	switch {
	case n == 0 && c.env.Interactive:
		choice, err := askLoginKind(c.in(), c.out, r)
		if err != nil {
			return c.fail(err)
		}
		if choice.importIDE {
			return c.importPaths(nil)
		}
		r = choice.req
	case n != 1:
		return c.usage("login needs exactly one of --builder-id, --idc, --google, --github")
	}
	if relogin != "" {
		id, err := c.m.Resolve(relogin)
		if err != nil {
			return c.fail(err)
		}
		r.Relogin = id
	}
	ui := signin.UI{
		OpenURL: c.env.OpenURL,
		Device: func(d signin.DeviceCode) {
			fmt.Fprintf(c.out, "To sign in, open %s and enter the code %s (valid until %s).\n",
				Safe(d.VerificationURI), Safe(d.UserCode), d.ExpiresAt.Local().Format("15:04"))
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
	c.said(verb, v)
	return ExitOK
}

// in is the terminal's input, read a line at a time.
func (c accountsCLI) in() *bufio.Reader {
	if br, ok := c.env.Stdin.(*bufio.Reader); ok {
		return br
	}
	return bufio.NewReader(c.env.Stdin)
}

// loginChoice is what the person at the terminal chose.
type loginChoice struct {
	req       accounts.LoginRequest
	importIDE bool
}

// loginKinds are the menu of `kirobar accounts login` without a flag, in
// the order the tray and the dashboard offer them.
var loginKinds = []struct {
	label string
	kind  signin.Kind // empty: import the Kiro IDE's login
}{
	{"AWS Builder ID (a code to enter in the browser; free)", signin.BuilderID},
	{"IAM Identity Center (your organisation's start URL)", signin.IdC},
	{"Google (sign in in the browser)", signin.Google},
	{"GitHub (sign in in the browser)", signin.GitHub},
	{"Import the Kiro IDE's login (~/.aws/sso/cache)", ""},
}

// errNoChoice ends a prompt whose input ended first.
var errNoChoice = errors.New("no choice made; run `kirobar accounts login --builder-id` (or --idc, --google, --github) to choose with a flag")

// askLoginKind asks which kind of sign-in to run, and for IAM Identity
// Center the start URL, re-asking after a wrong answer. base carries the
// flags already given (--start-url, --region).
func askLoginKind(in *bufio.Reader, out io.Writer, base accounts.LoginRequest) (loginChoice, error) {
	fmt.Fprintln(out, "How do you sign in to Kiro?")
	for i, k := range loginKinds {
		fmt.Fprintf(out, "  %d) %s\n", i+1, k.label)
	}
	for {
		answer, err := prompt(in, out, fmt.Sprintf("Choose 1-%d: ", len(loginKinds)))
		if err != nil {
			return loginChoice{}, err
		}
		i := 0
		if _, err := fmt.Sscanf(answer, "%d", &i); err != nil || i < 1 || i > len(loginKinds) || fmt.Sprint(i) != answer {
			fmt.Fprintf(out, "Type a number from 1 to %d.\n", len(loginKinds))
			continue
		}
		k := loginKinds[i-1]
		if k.kind == "" {
			return loginChoice{importIDE: true}, nil
		}
		r := base
		r.Kind = k.kind
		if r.Kind == signin.IdC && r.StartURL == "" {
			for r.StartURL == "" {
				if r.StartURL, err = prompt(in, out, "Start URL (https://<org>.awsapps.com/start): "); err != nil {
					return loginChoice{}, err
				}
			}
			if r.Region == "" {
				if r.Region, err = prompt(in, out, "AWS region of your Identity Center (Enter for the default): "); err != nil {
					return loginChoice{}, err
				}
			}
		}
		return loginChoice{req: r}, nil
	}
}

// prompt asks one question and returns the trimmed answer.
func prompt(in *bufio.Reader, out io.Writer, question string) (string, error) {
	fmt.Fprint(out, question)
	line, err := in.ReadString('\n')
	if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
		fmt.Fprintln(out)
		if errors.Is(err, io.EOF) {
			return "", errNoChoice
		}
		return "", fmt.Errorf("read answer: %w", err)
	}
	return strings.TrimSpace(line), nil
}
