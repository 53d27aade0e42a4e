package doctor

import (
	"fmt"
	"time"

	"github.com/kirobar/kirobar/accounts"
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
	case accounts.StatusReady, accounts.StatusExpiring:
		r.Detail = fmt.Sprintf("%s (%s) %s, %s", who, v.AuthMethod, v.Status, expiry)
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
