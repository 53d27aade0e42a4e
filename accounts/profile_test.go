package accounts

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kirobar/kirobar/accounts/signin"
	"github.com/kirobar/kirobar/accounts/tokenfile"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
	"github.com/kirobar/kirobar/kiro"
)

const (
	euARN  = "arn:aws:codewhisperer:eu-central-1:104748392733:profile/EUPROFILE123"
	euARN2 = "arn:aws:codewhisperer:eu-central-1:104748392733:profile/EUPROFILE456"
)

// serve runs one generation the way the server's request loop does
// (server/generate.go open): up to three attempts, recovering an account
// at most twice as the policy table says. It returns the lease that
// served and the last error.
func (e *env) serve(t *testing.T, m *Manager) (*Lease, error) {
	t.Helper()
	var lastErr error
	fixed := map[string]int{}
	retryOn := ""
	var exclude []string
	for attempt := 0; attempt < 3; attempt++ {
		l, err := m.Acquire(context.Background(), AcquireRequest{AccountID: retryOn, Exclude: exclude, Model: "claude-sonnet-4.5"})
		retryOn = ""
		if err != nil {
			return nil, errors.Join(err, lastErr)
		}
		err = e.send(l)
		m.Release(l, Outcome{Err: err})
		if err == nil {
			return l, nil
		}
		lastErr = err
		ke, ok := kiro.AsError(err)
		if !ok || ke.Policy().Retry == kiro.RetryNever {
			return nil, err
		}
		if ke.Policy().Retry == kiro.RetrySameAfterFix && fixed[l.AccountID] < 2 {
			fixed[l.AccountID]++
			if m.Recover(context.Background(), l, ke) == nil {
				retryOn = l.AccountID
				continue
			}
		}
		exclude = append(exclude, l.AccountID)
	}
	return nil, lastErr
}

// lastGeneration is the fake's newest generation request.
func lastGeneration(t *testing.T, f *kirofake.Server) kirofake.Request {
	t.Helper()
	reqs := f.Requests()
	if len(reqs) == 0 {
		t.Fatal("no generation reached the fake")
	}
	return reqs[len(reqs)-1]
}

// TestIdCSignInInAnySSORegion: an IAM Identity Center sign-in in
// ap-southeast-2 runs SSO-OIDC there, finds its profile in eu-central-1 by
// asking both API regions, reads usage and models there with the profile,
// serves there on the runtime host, and refreshes back in ap-southeast-2
// (kiro-protocol.md §11.1, §11.2, §11.5).
func TestIdCSignInInAnySSORegion(t *testing.T) {
	e := newHostEnv(t, kirofake.Options{IdCProfileARN: euARN})
	w := newLoginWorldIn(t, e, nil, nil)
	var codes []signin.DeviceCode
	var status []string
	v, err := w.m.Login(context.Background(), LoginRequest{Kind: signin.IdC, StartURL: "https://acme.awsapps.com/start", Region: "ap-southeast-2"}, w.ui(&codes, &status))
	if err != nil {
		t.Fatal(err)
	}
	if v.Kind != kindIdC || v.Region != "ap-southeast-2" || v.APIRegion != "eu-central-1" || v.ProfileARN != euARN || v.APIStyle != kiro.StyleRuntime || v.ProfileAt.IsZero() {
		t.Fatalf("account %+v", v)
	}
	if !strings.HasPrefix(v.Email, "idc-") || v.QuotaLimit != 50 || len(v.Models) != len(kirofake.DefaultModels) {
		t.Fatalf("usage or models not read with the profile: email %q limit %v models %d; status %q", v.Email, v.QuotaLimit, len(v.Models), status)
	}
	where := map[string]bool{}
	for _, c := range e.fake.Calls() {
		where[c.Host+"/"+c.Region+c.Path] = true
	}
	for _, want := range []string{"oidc/ap-southeast-2/client/register", "oidc/ap-southeast-2/device_authorization", "oidc/ap-southeast-2/token",
		"q/us-east-1/", "q/eu-central-1/", "q/eu-central-1/getUsageLimits", "q/eu-central-1/ListAvailableModels"} {
		if !where[want] {
			t.Errorf("no call to %s; calls: %v", want, where)
		}
	}
	if _, err := e.serve(t, w.m); err != nil {
		t.Fatal(err)
	}
	if g := lastGeneration(t, e.fake); g.Host != kirofake.HostRuntime || g.Region != "eu-central-1" || g.ProfileARN != euARN {
		t.Fatalf("served by %s/%s with %q", g.Host, g.Region, g.ProfileARN)
	}
	before := len(e.fake.Calls())
	if err := w.m.Refresh(context.Background(), v.ID); err != nil {
		t.Fatal(err)
	}
	calls := e.fake.Calls()[before:]
	if len(calls) != 1 || calls[0].Host != kirofake.HostOIDC || calls[0].Region != "ap-southeast-2" {
		t.Fatalf("refresh went to %+v", calls)
	}
}

// importIDE imports an IDE token cache for a fake IdC account.
func (e *env) importIDE(t *testing.T, m *Manager, a kirofake.Account, provider, region string) View {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "cache")
	writeJSON(t, filepath.Join(dir, tokenfile.IDEFile), map[string]any{
		"accessToken": a.AccessToken, "refreshToken": a.RefreshToken, "expiresAt": a.AccessExpiry.UTC().Format(time.RFC3339),
		"authMethod": "IdC", "provider": provider, "region": region, "clientIdHash": "hash-" + a.ID,
	})
	writeJSON(t, filepath.Join(dir, "hash-"+a.ID+".json"), map[string]any{"clientId": a.ClientID, "clientSecret": a.ClientSecret})
	views, err := m.ImportPath(context.Background(), dir)
	if err != nil || len(views) != 1 {
		t.Fatalf("import: %v %v", views, err)
	}
	return views[0]
}

func (e *env) idcAccount(id, sso, arn string) kirofake.Account {
	a := kirofake.Account{ID: id, AuthMethod: kirofake.AuthIdC, ClientID: "client-" + id, ClientSecret: token("secret"),
		RefreshToken: token("aor"), AccessToken: token("aoa"), AccessExpiry: e.now().Add(time.Hour), ProfileARN: arn, SSORegion: sso}
	e.fake.AddAccount(a)
	return a
}

// TestProfileResolvedAgainWhenStale: an account whose profile changed at
// Kiro is refused with its old one; kirobar resolves it again and the
// request is served, for an IdC account (ListAvailableProfiles) and a
// social one (its refresh names the new profile).
func TestProfileResolvedAgainWhenStale(t *testing.T) {
	t.Run("idc", func(t *testing.T) {
		e := newHostEnv(t, kirofake.Options{})
		m := e.manager(testConfig(), 0)
		a := e.idcAccount("i", "eu-west-1", euARN)
		v := e.importIDE(t, m, a, "Enterprise", "eu-west-1")
		if v.ProfileARN != euARN || v.APIRegion != "eu-central-1" {
			t.Fatalf("import resolved %q %q", v.ProfileARN, v.APIRegion)
		}
		e.fake.SetProfileARN("i", euARN2)
		if _, err := e.serve(t, m); err != nil {
			t.Fatal(err)
		}
		if g := lastGeneration(t, e.fake); g.ProfileARN != euARN2 || g.Status != 200 {
			t.Fatalf("served with %q (%d)", g.ProfileARN, g.Status)
		}
		if v := viewOf(t, m, v.ID); v.ProfileARN != euARN2 || v.LastError == "" {
			t.Fatalf("stored %q, last error %q", v.ProfileARN, v.LastError)
		}
	})
	t.Run("social", func(t *testing.T) {
		e := newHostEnv(t, kirofake.Options{})
		m := e.manager(testConfig(), 0)
		v := e.add(m, "s", time.Hour)
		const moved = "arn:aws:codewhisperer:us-east-1:699475941385:profile/NEWPROFILE99"
		e.fake.SetProfileARN("s", moved)
		if _, err := e.serve(t, m); err != nil {
			t.Fatal(err)
		}
		if g := lastGeneration(t, e.fake); g.ProfileARN != moved {
			t.Fatalf("served with %q", g.ProfileARN)
		}
		if v := viewOf(t, m, v.ID); v.ProfileARN != moved {
			t.Fatalf("stored %q", v.ProfileARN)
		}
	})
}

// TestPastedIdCTokenTurnsOutBuilderID: a pasted IdC refresh token says
// nothing of its kind; ListAvailableProfiles refusing it as a Builder ID
// makes it one, with the placeholder profile.
func TestPastedIdCTokenTurnsOutBuilderID(t *testing.T) {
	e := newHostEnv(t, kirofake.Options{})
	m := e.manager(testConfig(), 0)
	a := kirofake.Account{ID: "b", AuthMethod: "builder-id", ClientID: "client-b", ClientSecret: token("secret"), RefreshToken: token("aor")}
	e.fake.AddAccount(a)
	v, err := m.AddRefreshToken(context.Background(), AddRequest{RefreshToken: a.RefreshToken, AuthMethod: "idc", ClientID: a.ClientID, ClientSecret: a.ClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	if v.Kind != kindBuilderID || v.Provider != "BuilderId" || v.ProfileARN != kiro.BuilderIDProfileARN || v.APIStyle != kiro.StyleRuntime {
		t.Fatalf("account %+v", v)
	}
	if _, err := e.serve(t, m); err != nil {
		t.Fatal(err)
	}
}

// TestIdCTokenRefusedOnBothHosts: an IdC token Kiro refuses right after a
// refresh on the runtime host moves the account to the q host; refused
// there too, the account needs a new sign-in (kiro-protocol.md §11.4).
func TestIdCTokenRefusedOnBothHosts(t *testing.T) {
	e := newHostEnv(t, kirofake.Options{RuntimeRejectsIdC: true})
	m := e.manager(testConfig(), 0)
	a := e.idcAccount("i", "us-east-1", euARN)
	v := e.importIDE(t, m, a, "Enterprise", "us-east-1")
	if _, err := e.serve(t, m); err != nil {
		t.Fatal(err)
	}
	if g := lastGeneration(t, e.fake); g.Host != kirofake.HostQ || g.Region != "eu-central-1" || g.ProfileARN != "" {
		t.Fatalf("served by %s/%s with %q", g.Host, g.Region, g.ProfileARN)
	}
	if st := e.fake.Stats(); st.Refreshes["i"] != 1 || st.Rejections[kirofake.RuleRuntimeIdC] != 2 {
		t.Fatalf("want one refresh between two runtime refusals: %+v", st)
	}
	if v := viewOf(t, m, v.ID); v.APIStyle != kiro.StyleIDE || v.Status != StatusReady {
		t.Fatalf("account %s on %s", v.Status, v.APIStyle)
	}
	// Now the q host refuses its fresh token as well.
	if err := m.Refresh(context.Background(), v.ID); err != nil {
		t.Fatal(err)
	}
	e.fake.InvalidateAccessTokens("i")
	if _, err := e.serve(t, m); err == nil {
		t.Fatal("served with a token refused everywhere")
	}
	if v := viewOf(t, m, v.ID); v.Status != StatusNeedsLogin || !strings.Contains(v.LastError, "--relogin") {
		t.Fatalf("account %s: %s", v.Status, v.LastError)
	}
}

// TestOverage: an account whose overage is enabled is not exhausted at
// its monthly limit: it shows "overage" and serves; the overage limit
// exhausts it; use_overage = false rests it at the limit (kiro-protocol.md
// §11.5).
func TestOverage(t *testing.T) {
	overaged := func(e *env, id string, used float64) {
		e.fake.AddAccount(kirofake.Account{ID: id, RefreshToken: token("aor"), AccessToken: token("aoa"), AccessExpiry: e.now().Add(time.Hour),
			Used: used, Limit: 50, OverageEnabled: true, OverageCap: 20, Plan: "KIRO PRO"})
	}
	importSocial := func(t *testing.T, e *env, m *Manager, id string) View {
		a := e.fake.Account(id)
		views, err := m.ImportPath(context.Background(), e.ideFile(a, filepath.Join(e.dir, "tokens", id+".json")))
		if err != nil || len(views) != 1 {
			t.Fatalf("import: %v %v", views, err)
		}
		return views[0]
	}
	t.Run("served past the limit", func(t *testing.T) {
		e := newHostEnv(t, kirofake.Options{})
		m := e.manager(testConfig(), 0)
		overaged(e, "o", 55)
		v := importSocial(t, e, m, "o")
		res, err := m.Check(context.Background(), []string{v.ID}, nil)
		if err != nil || res[0].Err != "" || !res[0].Overage || res[0].Overages != 5 {
			t.Fatalf("check %+v %v", res, err)
		}
		v = viewOf(t, m, v.ID)
		if v.Status != StatusOverage || !v.OverageEnabled || v.Overages != 5 || v.OverageCap != 20 || v.QuotaUsed != 50 {
			t.Fatalf("view %+v", v)
		}
		if _, err := e.serve(t, m); err != nil {
			t.Fatalf("an overage account did not serve: %v", err)
		}
		// Past the overage cap Kiro refuses with the overage limit, which
		// exhausts the account.
		e.fake.SetUsed("o", 70)
		if _, err := e.serve(t, m); err == nil {
			t.Fatal("served past the overage cap")
		}
		if v := viewOf(t, m, v.ID); v.Status != StatusExhausted {
			t.Fatalf("after the overage limit: %s (%s)", v.Status, v.LastError)
		}
	})
	t.Run("use_overage off", func(t *testing.T) {
		e := newHostEnv(t, kirofake.Options{})
		cfg := testConfig()
		cfg.UseOverage = false
		m := e.manager(cfg, 0)
		overaged(e, "o", 55)
		v := importSocial(t, e, m, "o")
		if _, err := m.Check(context.Background(), []string{v.ID}, nil); err != nil {
			t.Fatal(err)
		}
		if v := viewOf(t, m, v.ID); v.Status != StatusExhausted || !strings.Contains(v.LastError, "use_overage") {
			t.Fatalf("%s: %s", v.Status, v.LastError)
		}
		// Just under the limit, what Kiro meters takes it there: kirobar
		// rests it itself, since Kiro would go on and bill overage.
		overaged(e, "p", 49.99)
		v = importSocial(t, e, m, "p")
		if _, err := m.Check(context.Background(), []string{v.ID}, nil); err != nil {
			t.Fatal(err)
		}
		l := acquire(t, m, AcquireRequest{AccountID: v.ID})
		if err := e.send(l); err != nil {
			t.Fatal(err)
		}
		m.Release(l, Outcome{Credits: 0.01})
		if v := viewOf(t, m, v.ID); v.Status != StatusExhausted {
			t.Fatalf("after reaching the limit: %s", v.Status)
		}
	})
}

// TestIdCWithoutProfileServedOnQ: an IdC account ListAvailableProfiles
// finds no profile for in either API region is served by the q host
// without one, and says so.
func TestIdCWithoutProfileServedOnQ(t *testing.T) {
	e := newHostEnv(t, kirofake.Options{})
	m := e.manager(testConfig(), 0)
	// A profile no API region lists.
	a := e.idcAccount("i", "eu-west-1", "arn:aws:codewhisperer:ap-southeast-2:104748392733:profile/NOWHERE12345")
	v := e.importIDE(t, m, a, "Enterprise", "eu-west-1")
	if v.APIStyle != kiro.StyleIDE || v.ProfileARN != "" || v.APIRegion != "eu-central-1" || v.ProfileAt.IsZero() {
		t.Fatalf("account %+v", v)
	}
	if _, err := e.serve(t, m); err != nil {
		t.Fatal(err)
	}
	if g := lastGeneration(t, e.fake); g.Host != kirofake.HostQ || g.ProfileARN != "" {
		t.Fatalf("served by %s with %q", g.Host, g.ProfileARN)
	}
}
