package kiro

import (
	"context"
	"strings"
	"testing"

	"github.com/kirobar/kirobar/internal/testkit/kirofake"
)

const euARN = "arn:aws:codewhisperer:eu-central-1:104748392733:profile/EUPROFILE123"

// fakeClient is a Client whose URLs name host and region at the fake.
func fakeClient(t *testing.T, opts kirofake.Options) (*Client, *kirofake.Server) {
	t.Helper()
	fake, err := kirofake.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	cfg := DefaultConfig()
	u := fake.HostURLs()
	cfg.APIURL, cfg.IDEURL, cfg.AuthURL, cfg.OIDCURL = u.API, u.IDE, u.Auth, u.OIDC
	c, err := NewClient(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c, fake
}

func TestRegionFromARN(t *testing.T) {
	for _, tc := range []struct{ arn, want string }{
		{testProfileARN, "us-east-1"},
		{euARN, "eu-central-1"},
		{BuilderIDProfileARN, "us-east-1"},
		{"arn:aws:codewhisperer:EU.bad:1:profile/x", ""},
		{"not an arn", ""},
		{"", ""},
	} {
		if got := RegionFromARN(tc.arn); got != tc.want {
			t.Errorf("RegionFromARN(%q) = %q, want %q", tc.arn, got, tc.want)
		}
	}
	for _, tc := range []struct {
		sso   string
		first string
	}{
		{"eu-west-1", "eu-central-1"}, {"eu-central-1", "eu-central-1"}, {"ap-southeast-2", "us-east-1"}, {"", "us-east-1"},
	} {
		if got := APIRegionsFor(tc.sso); len(got) != 2 || got[0] != tc.first {
			t.Errorf("APIRegionsFor(%q) = %v", tc.sso, got)
		}
	}
}

// TestListAvailableProfiles asks both API regions and appends what each
// has; Builder ID is refused by both.
func TestListAvailableProfiles(t *testing.T) {
	c, fake := fakeClient(t, kirofake.Options{})
	fake.AddAccount(kirofake.Account{ID: "i", AuthMethod: kirofake.AuthIdC, ClientID: "c", ClientSecret: "s",
		AccessToken: "tok-idc", RefreshToken: "r1", ProfileARN: euARN, SSORegion: "ap-southeast-2"})
	fake.AddAccount(kirofake.Account{ID: "b", AuthMethod: "builder-id", ClientID: "c2", ClientSecret: "s2", AccessToken: "tok-builder", RefreshToken: "r2"})

	ps, err := c.ListAvailableProfiles(context.Background(), Credentials{AccountID: "i", AccessToken: "tok-idc"}, APIRegionsFor("ap-southeast-2"))
	if err != nil || len(ps) != 1 || ps[0].ARN != euARN || ps[0].Region != "eu-central-1" {
		t.Fatalf("profiles %+v, %v", ps, err)
	}
	calls := fake.Calls()
	if len(calls) != 2 || calls[0].Host != kirofake.HostQ || calls[0].Region != "us-east-1" || calls[1].Region != "eu-central-1" {
		t.Fatalf("calls %+v", calls)
	}
	_, err = c.ListAvailableProfiles(context.Background(), Credentials{AccountID: "b", AccessToken: "tok-builder"}, nil)
	e := mustError(t, err, ClassForbidden)
	if !strings.Contains(e.Message, "Builder ID is not supported") {
		t.Fatalf("builder id: %v", err)
	}
}

// TestSendProfileRules: what the runtime host answers about profiles, as
// kirobar classifies it (kiro-protocol.md §11.1, §11.2).
func TestSendProfileRules(t *testing.T) {
	state := []byte(`{"chatTriggerType":"MANUAL","conversationId":"c1","currentMessage":{"userInputMessage":{"content":"hi","modelId":"claude-sonnet-4.5","origin":"AI_EDITOR"}}}`)
	for _, tc := range []struct {
		name   string
		opts   kirofake.Options
		cr     Credentials
		want   Class // "" = served
		region string
	}{
		{"social", kirofake.Options{}, Credentials{AuthMethod: AuthSocial, AccessToken: "tok-s", ProfileARN: kirofake.DefaultProfileARN, Region: "us-east-1"}, "", "us-east-1"},
		{"social without profile", kirofake.Options{}, Credentials{AuthMethod: AuthSocial, AccessToken: "tok-s", Region: "us-east-1"}, ClassProfileRequired, "us-east-1"},
		{"idc in its region", kirofake.Options{}, Credentials{AuthMethod: AuthIdC, AccessToken: "tok-i", ProfileARN: euARN, Region: "eu-central-1"}, "", "eu-central-1"},
		{"idc profile on the wrong host", kirofake.Options{}, Credentials{AuthMethod: AuthIdC, AccessToken: "tok-i", ProfileARN: euARN, Region: "us-east-1"}, ClassBadRequest, "us-east-1"},
		{"foreign profile", kirofake.Options{}, Credentials{AuthMethod: AuthIdC, AccessToken: "tok-i", ProfileARN: "arn:aws:codewhisperer:eu-central-1:111111111111:profile/OTHER", Region: "eu-central-1"}, ClassProfileRefused, "eu-central-1"},
		{"builder placeholder", kirofake.Options{}, Credentials{AuthMethod: AuthIdC, AccessToken: "tok-b", ProfileARN: BuilderIDProfileARN, Region: "us-east-1"}, "", "us-east-1"},
		{"builder placeholder refused", kirofake.Options{RefuseBuilderIDPlaceholder: true}, Credentials{AuthMethod: AuthIdC, AccessToken: "tok-b", ProfileARN: BuilderIDProfileARN, Region: "us-east-1"}, ClassProfileRefused, "us-east-1"},
		{"builder on q without profile", kirofake.Options{RefuseBuilderIDPlaceholder: true}, Credentials{AuthMethod: AuthIdC, AccessToken: "tok-b", ProfileARN: BuilderIDProfileARN, Region: "us-east-1", APIStyle: StyleIDE}, "", "us-east-1"},
		{"idc token refused on runtime", kirofake.Options{RuntimeRejectsIdC: true}, Credentials{AuthMethod: AuthIdC, AccessToken: "tok-i", ProfileARN: euARN, Region: "eu-central-1"}, ClassAuth, "eu-central-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, fake := fakeClient(t, tc.opts)
			fake.AddAccount(kirofake.Account{ID: "s", AccessToken: "tok-s", RefreshToken: "r1"})
			fake.AddAccount(kirofake.Account{ID: "i", AuthMethod: kirofake.AuthIdC, ClientID: "c", ClientSecret: "s", AccessToken: "tok-i", RefreshToken: "r2", ProfileARN: euARN})
			fake.AddAccount(kirofake.Account{ID: "b", AuthMethod: "builder-id", ClientID: "c2", ClientSecret: "s2", AccessToken: "tok-b", RefreshToken: "r3"})
			resp, err := c.Send(context.Background(), tc.cr, state)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			} else {
				mustError(t, err, tc.want)
			}
			reqs := fake.Requests()
			if len(reqs) != 1 || reqs[0].Region != tc.region {
				t.Fatalf("requests %+v", reqs)
			}
		})
	}
}

// TestUnreachableNamesRegion: a host that does not exist in the account's
// region fails with a message that says which and what to do.
func TestUnreachableNamesRegion(t *testing.T) {
	c, fake := fakeClient(t, kirofake.Options{})
	fake.AddAccount(kirofake.Account{ID: "s", AccessToken: "tok-s", RefreshToken: "r1"})
	state := []byte(`{"conversationId":"c1"}`)
	_, err := c.Send(context.Background(), Credentials{AuthMethod: AuthSocial, AccessToken: "tok-s", Region: "ap-southeast-2", ProfileARN: testProfileARN}, state)
	e := mustError(t, err, ClassNetwork)
	if !strings.Contains(e.Message, "ap-southeast-2") || !strings.Contains(e.Message, "us-east-1 and eu-central-1") || !strings.Contains(e.Message, "kirobar accounts check") {
		t.Fatalf("message %q", e.Message)
	}
	_, err = c.UsageLimits(context.Background(), Credentials{AuthMethod: AuthSocial, AccessToken: "tok-s", Region: "eu-west-1"})
	if e := mustError(t, err, ClassNetwork); !strings.Contains(e.Message, "eu-west-1") {
		t.Fatalf("usage message %q", e.Message)
	}
}

// TestUsageOfIdCNeedsProfile: the IdC usage call names the profile, and a
// refusal for its absence classifies as a profile to resolve.
func TestUsageOfIdCNeedsProfile(t *testing.T) {
	c, fake := fakeClient(t, kirofake.Options{})
	fake.AddAccount(kirofake.Account{ID: "i", AuthMethod: kirofake.AuthIdC, ClientID: "c", ClientSecret: "s", AccessToken: "tok-i", RefreshToken: "r2",
		ProfileARN: euARN, Used: 60, Limit: 50, OverageEnabled: true, OverageCap: 100})
	cr := Credentials{AuthMethod: AuthIdC, AccessToken: "tok-i", Region: "eu-central-1"}
	_, err := c.UsageLimits(context.Background(), cr)
	mustError(t, err, ClassProfileRequired)
	cr.ProfileARN = euARN
	u, err := c.UsageLimits(context.Background(), cr)
	if err != nil {
		t.Fatal(err)
	}
	if !u.OverageEnabled || u.Used != 50 || u.Limit != 50 || u.Overages != 10 || u.OverageCap != 100 || u.Currency != "USD" || u.OverageCharges <= 0 {
		t.Fatalf("usage %+v", u)
	}
	models, err := c.ListModels(context.Background(), cr)
	if err != nil || len(models) != len(kirofake.DefaultModels) {
		t.Fatalf("models %d, %v", len(models), err)
	}
}

// TestOldKiroVersionRefused: the service refuses a Kiro IDE below 1.0 on
// usage calls, which is why kirobar announces a current one and refuses to
// be configured with an old one.
func TestOldKiroVersionRefused(t *testing.T) {
	c, fake := fakeClient(t, kirofake.Options{})
	fake.AddAccount(kirofake.Account{ID: "s", AccessToken: "tok-s", RefreshToken: "r1"})
	cr := Credentials{AuthMethod: AuthSocial, AccessToken: "tok-s", ProfileARN: kirofake.DefaultProfileARN}
	if _, err := c.UsageLimits(context.Background(), cr); err != nil {
		t.Fatalf("current version: %v", err)
	}
	c.cfg.KiroVersion = "0.11.107" // bypasses Validate, as an old build would have had it
	if _, err := c.UsageLimits(context.Background(), cr); err == nil {
		t.Fatal("the fake accepted an old IDE version")
	}
	cfg := DefaultConfig()
	cfg.KiroVersion = "0.11.107"
	if err := cfg.Validate(); err == nil {
		t.Fatal("config accepted an IDE version below 1.0")
	}
}
