package accounts

import (
	"fmt"
	"strings"

	"github.com/kirobar/kirobar/accounts/signin"
	"github.com/kirobar/kirobar/kiro"
)

// Renewal is the sign-in that renews an account in place, read from how
// the account signed in: the login kind, the organisation's start URL for
// IAM Identity Center, and the region the sign-in ran in. The tray's "Sign
// in again", the dashboard's and `kirobar doctor`'s advice all come from
// here, so they never disagree.
type Renewal struct {
	// Kind is the login to run; "" when the record does not say (a pasted
	// social refresh token names neither Google nor GitHub).
	Kind signin.Kind
	// StartURL is the organisation's start URL of an IAM Identity Center
	// account; "" when it is not known (the user must give it).
	StartURL string
	// Region is the region the account signed in with; "" means the
	// [kiro] region. An IdC start URL only works in its own region.
	Region string
}

// RenewalOf says which sign-in renews an account that signed in with
// authMethod (AuthSocial or AuthIdC) and provider at startURL in region,
// as the account stores them. A social login renews with its provider.
// An IdC login is a Builder ID one when it says so (provider BuilderId or
// the Builder ID start URL) or names no organisation at all, and an IAM
// Identity Center one, at its start URL, otherwise.
func RenewalOf(authMethod, provider, startURL, region string) Renewal {
	r := Renewal{Region: strings.TrimSpace(region)}
	startURL = strings.TrimSpace(startURL)
	if authMethod != AuthIdC {
		switch strings.ToLower(provider) {
		case "google":
			r.Kind = signin.Google
		case "github":
			r.Kind = signin.GitHub
		}
		return r
	}
	provider = strings.ToLower(provider)
	switch {
	case provider == "builderid" || strings.TrimSuffix(startURL, "/") == kiro.BuilderIDStartURL:
		r.Kind = signin.BuilderID
	case provider == "enterprise" || provider == "iamidentitycenter" || startURL != "":
		r.Kind, r.StartURL = signin.IdC, startURL
	default:
		r.Kind = signin.BuilderID
	}
	return r
}

// Renewal is RenewalOf for the account v shows.
func (v View) Renewal() Renewal { return RenewalOf(v.AuthMethod, v.Provider, v.StartURL, v.Region) }

// Request is the LoginRequest that renews account id. It fails, naming the
// command that does it, when the record does not say enough to run the
// sign-in unasked: which social provider, or an organisation's start URL.
func (r Renewal) Request(id string) (LoginRequest, error) {
	switch {
	case r.Kind == "":
		return LoginRequest{}, fmt.Errorf("the account does not say whether it signed in with Google or GitHub; run `%s`", r.Command(id))
	case r.Kind == signin.IdC && r.StartURL == "":
		return LoginRequest{}, fmt.Errorf("the account's IAM Identity Center start URL is not known; run `%s`", r.Command(id))
	}
	return LoginRequest{Kind: r.Kind, StartURL: r.StartURL, Region: r.Region, Relogin: id}, nil
}

// Command is the `kirobar accounts login` command line that renews
// account id; a placeholder stands for what the record does not say.
func (r Renewal) Command(id string) string {
	var b strings.Builder
	b.WriteString("kirobar accounts login ")
	switch r.Kind {
	case "":
		b.WriteString("--google|--github")
	case signin.IdC:
		start := r.StartURL
		if start == "" {
			start = "URL"
		}
		b.WriteString("--idc --start-url " + start)
	default:
		b.WriteString("--" + string(r.Kind))
	}
	if r.Region != "" {
		b.WriteString(" --region " + r.Region)
	}
	b.WriteString(" --relogin " + id)
	return b.String()
}

// reloginHint says how to renew account a, whose refresh token Kiro
// rejected: sign in again in place the way it signed in (see Renewal), or
// refresh the IDE's login and import.
func reloginHint(a *Account) string {
	cmd := RenewalOf(a.AuthMethod, a.Provider, a.StartURL, a.Region).Command(a.ID)
	return "log in again with `" + cmd + "`, or in the Kiro IDE and then run `kirobar accounts import`"
}
