package accounts

import (
	"context"
	"strings"
	"testing"

	"github.com/kirobar/kirobar/accounts/signin"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
	"github.com/kirobar/kirobar/kiro"
)

func TestRenewalOf(t *testing.T) {
	const org = "https://acme.awsapps.com/start"
	for _, tc := range []struct {
		name                                string
		authMethod, provider, start, region string
		want                                Renewal
		command                             string
		reqErr                              string // "" when Request works unasked
	}{
		{"google", AuthSocial, "Google", "", "", Renewal{Kind: signin.Google},
			"kirobar accounts login --google --relogin a1", ""},
		{"github as the IDE spells it", AuthSocial, "Github", "", "", Renewal{Kind: signin.GitHub},
			"kirobar accounts login --github --relogin a1", ""},
		{"github in capitals", AuthSocial, "GITHUB", "", "us-east-1", Renewal{Kind: signin.GitHub, Region: "us-east-1"},
			"kirobar accounts login --github --region us-east-1 --relogin a1", ""},
		{"social without a provider", AuthSocial, "", "", "", Renewal{},
			"kirobar accounts login --google|--github --relogin a1", "Google or GitHub"},
		{"builder id", AuthIdC, "BuilderId", kiro.BuilderIDStartURL, "us-east-1", Renewal{Kind: signin.BuilderID, Region: "us-east-1"},
			"kirobar accounts login --builder-id --region us-east-1 --relogin a1", ""},
		{"builder id by its start URL", AuthIdC, "", kiro.BuilderIDStartURL + "/", "", Renewal{Kind: signin.BuilderID},
			"kirobar accounts login --builder-id --relogin a1", ""},
		{"idc without provider or start URL", AuthIdC, "", "", "eu-central-1", Renewal{Kind: signin.BuilderID, Region: "eu-central-1"},
			"kirobar accounts login --builder-id --region eu-central-1 --relogin a1", ""},
		{"identity center", AuthIdC, "Enterprise", org, "eu-west-1", Renewal{Kind: signin.IdC, StartURL: org, Region: "eu-west-1"},
			"kirobar accounts login --idc --start-url " + org + " --region eu-west-1 --relogin a1", ""},
		{"identity center by its start URL", AuthIdC, "", org, "eu-west-1", Renewal{Kind: signin.IdC, StartURL: org, Region: "eu-west-1"},
			"kirobar accounts login --idc --start-url " + org + " --region eu-west-1 --relogin a1", ""},
		{"identity center spelled out", AuthIdC, "IAMIdentityCenter", org, "", Renewal{Kind: signin.IdC, StartURL: org},
			"kirobar accounts login --idc --start-url " + org + " --relogin a1", ""},
		{"identity center without its start URL", AuthIdC, "Enterprise", "", "eu-west-1", Renewal{Kind: signin.IdC, Region: "eu-west-1"},
			"kirobar accounts login --idc --start-url URL --region eu-west-1 --relogin a1", "start URL"},
		{"enterprise at the Builder ID start URL", AuthIdC, "Enterprise", kiro.BuilderIDStartURL, "", Renewal{Kind: signin.BuilderID},
			"kirobar accounts login --builder-id --relogin a1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := RenewalOf(tc.authMethod, tc.provider, tc.start, tc.region)
			if got != tc.want {
				t.Fatalf("RenewalOf = %+v, want %+v", got, tc.want)
			}
			v := View{ID: "a1", AuthMethod: tc.authMethod, Provider: tc.provider, StartURL: tc.start, Region: tc.region}
			if v.Renewal() != got {
				t.Errorf("View.Renewal = %+v, want %+v", v.Renewal(), got)
			}
			if cmd := got.Command("a1"); cmd != tc.command {
				t.Errorf("Command = %q, want %q", cmd, tc.command)
			}
			req, err := got.Request("a1")
			if tc.reqErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.reqErr) || !strings.Contains(err.Error(), tc.command) {
					t.Errorf("Request err = %v, want one naming %q and the command", err, tc.reqErr)
				}
				return
			}
			want := LoginRequest{Kind: tc.want.Kind, StartURL: tc.want.StartURL, Region: tc.want.Region, Relogin: "a1"}
			if err != nil || req != want {
				t.Errorf("Request = %+v, %v; want %+v", req, err, want)
			}
			if err := req.signinRequest().Validate(); err != nil {
				t.Errorf("the renewal's request does not validate: %v", err)
			}
		})
	}
}

// TestRenewalRoundTrip signs in every way kirobar can, then renews the
// account with the request its record yields: the same kind, start URL
// and region, in place.
func TestRenewalRoundTrip(t *testing.T) {
	for _, first := range []LoginRequest{
		{Kind: signin.BuilderID, Region: "us-east-1"},
		{Kind: signin.IdC, StartURL: "https://acme.awsapps.com/start", Region: "eu-west-1"},
		{Kind: signin.Google},
		{Kind: signin.GitHub},
	} {
		t.Run(string(first.Kind), func(t *testing.T) {
			var w *loginWorld
			if first.Kind == signin.Google || first.Kind == signin.GitHub {
				w = newLoginWorld(t, kirofake.Options{}, kirofake.NewBrowser().Open)
			} else {
				w = newLoginWorld(t, kirofake.Options{}, nil)
			}
			ui := signin.UI{OpenURL: w.m.login.openURL}
			v, err := w.m.Login(context.Background(), first, ui)
			if err != nil {
				t.Fatal(err)
			}
			req, err := v.Renewal().Request(v.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := first
			want.Relogin = v.ID
			if req != want {
				t.Fatalf("renewal request %+v, want %+v", req, want)
			}
			renewed, err := w.m.Login(context.Background(), req, ui)
			if err != nil {
				t.Fatal(err)
			}
			if renewed.ID != v.ID || renewed.Provider != v.Provider || renewed.StartURL != v.StartURL || renewed.Region != v.Region {
				t.Errorf("renewed %+v, first %+v", renewed, v)
			}
			if n := len(w.m.List()); n != 1 {
				t.Errorf("%d accounts after renewing, want 1", n)
			}
		})
	}
}

func TestReloginHintNamesTheAccountsSignIn(t *testing.T) {
	a := &Account{ID: "a1", AuthMethod: AuthSocial, Provider: "Github"}
	want := "log in again with `kirobar accounts login --github --relogin a1`, or in the Kiro IDE and then run `kirobar accounts import`"
	if got := reloginHint(a); got != want {
		t.Errorf("reloginHint = %q, want %q", got, want)
	}
}
