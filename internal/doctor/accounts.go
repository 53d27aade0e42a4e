package doctor

import (
	"fmt"
	"time"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/kiro"
)

// checkAccounts gives each account a verdict from its state, token expiry
// and last error.
func checkAccounts(e Env) []Result {
	if e.AccountsErr != nil {
		return []Result{{Name: "accounts", Verdict: Fail, Detail: "cannot read the accounts: " + e.AccountsErr.Error(),
			Fix: "check that " + e.Home + "/kirobar.db is readable; `kirobar accounts list` shows the same error"}}
	}
	if len(e.Accounts) == 0 {
		return []Result{{Name: "accounts", Verdict: Fail, Detail: "no Kiro account", Fix: accounts.NoAccountsHint}}
	}
	now := e.Now()
	var out []Result
	ready := 0
	for _, v := range e.Accounts {
		r := accountResult(v, now)
		if r.Verdict == OK {
			ready++
		}
		out = append(out, r)
	}
	sum := Result{Name: "accounts", Verdict: OK, Detail: fmt.Sprintf("%d of %d can serve", ready, len(e.Accounts))}
	if ready == 0 {
		sum.Verdict, sum.Fix = Fail, "no account can serve requests: fix the accounts below"
	}
	return append([]Result{sum}, out...)
}

func accountResult(v accounts.View, now time.Time) Result {
	r := Result{Name: "account " + v.ID, Verdict: OK}
	who := v.Label
	if who == "" {
		who = v.ID
	}
	expiry := "token valid until " + v.ExpiresAt.Local().Format("2006-01-02 15:04")
	if !v.ExpiresAt.After(now) {
		expiry = fmt.Sprintf("token expired %s ago; kirobar refreshes it on next use", now.Sub(v.ExpiresAt).Round(time.Minute))
	}
	last := ""
	if v.LastError != "" {
		last = "; last error: " + v.LastError
	}
	switch v.Status {
	case accounts.StatusReady, accounts.StatusExpiring, accounts.StatusOverage:
		kind := v.Kind
		if kind == "" {
			kind = v.AuthMethod
		}
		r.Detail = fmt.Sprintf("%s (%s) %s, %s; %s", who, kind, v.Status, expiry, servedOn(v))
		if v.Status == accounts.StatusOverage {
			r.Detail += fmt.Sprintf("; past its monthly limit, served as overage (%.1f used past the limit", v.Overages)
			if v.OverageCap > 0 {
				r.Detail += fmt.Sprintf(" of %.0f", v.OverageCap)
			}
			r.Detail += ")"
		}
		if v.APIRegion != "" && !kiro.IsAPIRegion(v.APIRegion) {
			r.Verdict = Warn
			r.Detail += fmt.Sprintf("; Kiro's API does not exist in %s", v.APIRegion)
			r.Fix = "the API region comes from the account's profile: run `kirobar accounts check " + v.ID + "` to resolve it, " +
				"and keep [kiro] region at us-east-1 or eu-central-1 (an IAM Identity Center sign-in region goes to `kirobar accounts login --region`)"
		}
	case accounts.StatusNeedsLogin:
		r.Verdict, r.Detail = Fail, fmt.Sprintf("%s needs a new login%s", who, last)
		r.Fix = v.Renewal().Command(v.ID) + " (or log in again in the Kiro IDE and run `kirobar accounts import`)"
	case accounts.StatusSuspended:
		r.Verdict, r.Detail = Fail, fmt.Sprintf("%s is suspended by Kiro%s", who, last)
		r.Fix = "contact Kiro support, or `kirobar accounts remove " + v.ID + "`; `kirobar accounts enable " + v.ID + "` tries it again"
	case accounts.StatusDisabled:
		r.Verdict, r.Detail = Warn, who+" is disabled"
		r.Fix = "kirobar accounts enable " + v.ID
	default: // cooling, exhausted, error: rests until a time
		r.Verdict, r.Detail = Warn, fmt.Sprintf("%s is %s", who, v.Status)
		if !v.CooldownUntil.IsZero() {
			r.Detail += " until " + v.CooldownUntil.Local().Format("2006-01-02 15:04")
		}
		r.Detail += last
		r.Fix = "it returns by itself; `kirobar accounts enable " + v.ID + "` clears the rest now"
	}
	return r
}

// servedOn says where Kiro serves the account: host style, API region and
// profile (kiro-protocol.md §11.1, §11.2).
func servedOn(v accounts.View) string {
	profile := v.ProfileARN
	switch {
	case profile == "" && v.ProfileAt.IsZero():
		profile = "profile resolved at first use"
	case profile == "":
		profile = "no profile"
	default:
		profile = "profile " + profile
	}
	s := fmt.Sprintf("served on %s in %s, %s", v.APIStyle, v.APIRegion, profile)
	if v.Region != "" && v.Region != v.APIRegion {
		s += ", signs in in " + v.Region
	}
	return s
}
