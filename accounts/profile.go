package accounts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kirobar/kirobar/kiro"
)

// Profiles, API regions and API styles are account facts (design.md,
// "Profiles and regions are account facts"): resolved once per account (at
// import, sign-in or first use), stored, shown, and resolved again on the
// errors that mean they went stale. The request path reads them.
//
// What resolving means depends on the account's kind (kiro-protocol.md
// §11.1, §11.2, §11.4):
//   - social: the profile comes with the token (the refresh answer's
//     profileArn); ListAvailableProfiles is asked when it did not;
//   - IAM Identity Center: ListAvailableProfiles in both API regions, as
//     the official client does (crates/chat-cli/src/api_client/profile.rs);
//     the profile's region is the API region
//     (crates/chat-cli/src/api_client/endpoints.rs);
//   - AWS Builder ID: no profile exists (ListAvailableProfiles refuses it);
//     the runtime host takes the shared placeholder ARN, and where it does
//     not, the q host serves the account without one.
//
// When nothing gives a profile the account moves to the ide style (the q
// host), which serves every kind without one; when even that is used up,
// resolving fails and the account rests.

// errNoProfile means the account has no profile and no other API style
// left to try.
var errNoProfile = errors.New("no profile found and no other API style left to try")

// facts are an account's resolved profile, API region, API style and kind.
type facts struct {
	arn, apiRegion, style, provider string
	// note says what was decided, for the log and the user.
	note string
}

// same reports whether two sets of facts decide the same.
func (f facts) same(g facts) bool {
	return f.arn == g.arn && f.apiRegion == g.apiRegion && f.style == g.style && f.provider == g.provider
}

// factsOf reads the stored facts.
func factsOf(a *Account) facts {
	return facts{arn: a.ProfileARN, apiRegion: a.APIRegion, style: a.APIStyle, provider: a.Provider}
}

// style is the account's effective API style.
func (m *Manager) style(a *Account) string {
	if a.APIStyle != "" {
		return a.APIStyle
	}
	return m.kc.DefaultStyle()
}

// apiRegion is the region of the hosts that serve the account: its
// profile's, else the stored one, else "" ([kiro] region).
func apiRegion(a *Account) string {
	if r := kiro.RegionFromARN(a.ProfileARN); r != "" {
		return r
	}
	return a.APIRegion
}

// needsProfile reports whether an account has facts left to resolve: it
// never had them resolved and lacks a profile (an IdC account needs one on
// every host, for usage and models too; the others on the runtime host).
func (m *Manager) needsProfile(a *Account) bool {
	if !a.ProfileAt.IsZero() || a.ProfileARN != "" {
		return false
	}
	return a.kind() == kindIdC || m.style(a) == kiro.StyleRuntime
}

// findFacts resolves the profile of a (a copy; nothing is stored). refused
// is a profile ARN Kiro just refused or called invalid, which must not be
// chosen again ("" when none was).
func (m *Manager) findFacts(ctx context.Context, a Account, refused string) (facts, error) {
	f := factsOf(&a)
	switch a.kind() {
	case kindSocial:
		if a.ProfileARN != "" && a.ProfileARN != refused {
			f.apiRegion, f.note = kiro.RegionFromARN(a.ProfileARN), "profile from the sign-in"
			return f, nil
		}
		ps, err := m.kc.ListAvailableProfiles(ctx, credentials(&a), kiro.APIRegionsFor(a.Region))
		if p, ok := pickProfile(ps, refused); ok {
			f.arn, f.apiRegion, f.note = p.ARN, p.Region, "profile from ListAvailableProfiles"
			return f, nil
		}
		if err != nil && !refusedBy(err) {
			return f, fmt.Errorf("look up the profile: %w", err)
		}
		f.arn = "" // none, or only the refused one
		return m.toIDE(a, f, "no usable profile came with the sign-in")
	case kindBuilderID:
		return m.builderFacts(a, f, refused)
	}
	ps, err := m.kc.ListAvailableProfiles(ctx, credentials(&a), kiro.APIRegionsFor(a.Region))
	if p, ok := pickProfile(ps, refused); ok {
		f.arn, f.apiRegion, f.note = p.ARN, p.Region, "profile from ListAvailableProfiles ("+p.Region+")"
		return f, nil
	}
	if err != nil && isBuilderIDRefusal(err) {
		// An IdC login without a start URL or provider (a pasted refresh
		// token) that turns out to be a Builder ID.
		a.Provider, f.provider = "BuilderId", "BuilderId"
		return m.builderFacts(a, f, refused)
	}
	if err != nil && !refusedBy(err) {
		return f, fmt.Errorf("look up the profile: %w", err)
	}
	f.arn, f.apiRegion = "", kiro.APIRegionsFor(a.Region)[0] // none, or only the refused one
	return m.toIDE(a, f, "ListAvailableProfiles found no usable profile in "+strings.Join(kiro.APIRegions, " or "))
}

// builderFacts gives a Builder ID account the placeholder profile on the
// runtime host, or the q host without a profile once the placeholder was
// refused (kiro-protocol.md §11.1: both variants of the service exist).
func (m *Manager) builderFacts(a Account, f facts, refused string) (facts, error) {
	if refused != kiro.BuilderIDProfileARN && m.style(&a) == kiro.StyleRuntime {
		f.arn, f.apiRegion, f.note = kiro.BuilderIDProfileARN, kiro.RegionFromARN(kiro.BuilderIDProfileARN), "Builder ID placeholder profile"
		return f, nil
	}
	f.arn = kiro.BuilderIDProfileARN // kept for the record; the q host is sent none
	f.apiRegion = kiro.RegionFromARN(kiro.BuilderIDProfileARN)
	return m.toIDE(a, f, "the runtime host refused the Builder ID placeholder profile")
}

// toIDE moves the account to the q host, which serves it without a
// profile; an account already there has nothing left to try.
func (m *Manager) toIDE(a Account, f facts, why string) (facts, error) {
	if m.style(&a) == kiro.StyleIDE {
		return f, fmt.Errorf("%s: %w", why, errNoProfile)
	}
	f.style, f.note = kiro.StyleIDE, why+"; served on the q host (api_style ide) without a profile"
	return f, nil
}

// pickProfile chooses the first profile that is not the refused one.
func pickProfile(ps []kiro.Profile, refused string) (kiro.Profile, bool) {
	for _, p := range ps {
		if p.ARN != "" && p.ARN != refused {
			if r := kiro.RegionFromARN(p.ARN); r != "" {
				p.Region = r
			}
			return p, true
		}
	}
	return kiro.Profile{}, false
}

// isBuilderIDRefusal is ListAvailableProfiles' 403 "AWS Builder ID is not
// supported for this operation." (kirodotdev/Kiro#5143).
func isBuilderIDRefusal(err error) bool {
	ke, ok := kiro.AsError(err)
	return ok && strings.Contains(strings.ToLower(ke.Message), "builder id")
}

// refusedBy reports an answer that says the account has no profile to
// list (a 403 or 400), as opposed to a failure worth retrying later.
func refusedBy(err error) bool {
	ke, ok := kiro.AsError(err)
	if !ok {
		return false
	}
	switch ke.Class {
	case kiro.ClassForbidden, kiro.ClassBadRequest, kiro.ClassNotFound, kiro.ClassProfileRequired:
		return true
	}
	return false
}

// storeFacts writes resolved facts. A move to another style gives the
// account a fresh start there: an error status left by the failures that
// led to the move is cleared.
func (m *Manager) storeFacts(ctx context.Context, id string, f facts) error {
	now := m.now().UTC()
	m.mu.Lock()
	if e, ok := m.accounts[id]; ok && f.style != e.acc.APIStyle {
		e.authFails, e.breakerFails = 0, 0
	}
	m.mu.Unlock()
	return m.update(ctx, id, func(a *Account) map[string]any {
		moved := f.style != a.APIStyle
		a.ProfileARN, a.APIRegion, a.APIStyle, a.Provider, a.ProfileAt = f.arn, f.apiRegion, f.style, f.provider, now
		cols := map[string]any{
			"profile_arn": a.ProfileARN, "api_region": a.APIRegion, "api_style": a.APIStyle,
			"provider": a.Provider, "profile_at": now,
		}
		if moved && a.Status == StatusError {
			a.Status, a.CooldownUntil, a.LastError = StatusReady, time.Time{}, ""
			cols["status"], cols["cooldown_until"], cols["last_error"] = a.Status, time.Time{}, ""
		}
		return cols
	})
}

// snapshot returns a copy of the stored account.
func (m *Manager) snapshot(id string) (Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.accounts[id]
	if !ok {
		return Account{}, fmt.Errorf("account %s: %w", id, ErrNotFound)
	}
	return e.acc, nil
}

// ensureProfile resolves the facts of an account that never had them, with
// a usable token (refreshing it when due). Callers that add or check
// accounts use it so the request path finds them ready; a failure is
// returned for the caller to report, and the request path tries again at
// first use.
func (m *Manager) ensureProfile(ctx context.Context, id string) error {
	a, err := m.snapshot(id)
	if err != nil {
		return err
	}
	if a.ProfileAt.IsZero() && a.ProfileARN != "" {
		// It came with the login (a social token, kiro-cli's state): its
		// region is the API region.
		f := factsOf(&a)
		f.apiRegion = kiro.RegionFromARN(a.ProfileARN)
		return m.storeFacts(ctx, id, f)
	}
	if !m.needsProfile(&a) {
		return nil
	}
	if err := m.ensureFresh(ctx, id, false); err != nil {
		return err
	}
	if a, err = m.snapshot(id); err != nil {
		return err
	}
	f, err := m.findFacts(ctx, a, "")
	if err != nil {
		return fmt.Errorf("resolve the profile of %s: %w", id, err)
	}
	m.log.Info("accounts: profile resolved", "account", id, "profile", f.arn, "api_region", f.apiRegion, "style", f.style, "how", f.note)
	return m.storeFacts(ctx, id, f)
}

// ResolveProfile resolves the profile of a lease whose request Kiro
// refused for its profile: missing ("profileArn is required"), stale
// ("Invalid profileArn.") or refused (403 to the ARN sent). A social
// account's token is refreshed first, since its profile comes with it. A
// nil error means something changed and the request may be retried on the
// account. When nothing is left to try, the account rests for
// forbidden_cooldown, its last error saying why; a lookup that failed on
// the network only fails this request.
func (m *Manager) ResolveProfile(ctx context.Context, l *Lease) error {
	a, err := m.snapshot(l.AccountID)
	if err != nil {
		return err
	}
	sent := l.Credentials.ProfileARN
	if a.kind() == kindSocial {
		if err := m.ensureFresh(ctx, l.AccountID, true); err != nil {
			return fmt.Errorf("resolve profile of %s: %w", l.AccountID, err)
		}
		if a, err = m.snapshot(l.AccountID); err != nil {
			return err
		}
	}
	if a.ProfileARN != sent || a.APIStyle != l.Credentials.APIStyle {
		return nil // resolved meanwhile (the refresh, or a concurrent request)
	}
	f, err := m.findFacts(ctx, a, sent)
	if err == nil && f.same(factsOf(&a)) {
		err = errNoProfile
	}
	if errors.Is(err, errNoProfile) {
		// Nothing left to try: rest the account rather than let every
		// request spend an attempt on it. A lookup that failed for another
		// reason (the network) is only this request's loss.
		msg := "Kiro refused the account's profile and none other could be resolved (" + err.Error() + "); " +
			"kirobar tries again after the cooldown, or sign in again with `kirobar accounts login --relogin " + l.AccountID + "`"
		if uerr := m.update(ctx, l.AccountID, setStatus(StatusError, m.now().Add(m.cfg.ForbiddenCooldown.D()), msg)); uerr != nil {
			err = errors.Join(err, uerr)
		}
	}
	if err != nil {
		return fmt.Errorf("resolve profile of %s: %w", l.AccountID, err)
	}
	m.log.Info("accounts: profile resolved again", "account", l.AccountID, "refused", sent, "profile", f.arn,
		"api_region", f.apiRegion, "style", f.style, "how", f.note)
	return m.storeFacts(ctx, l.AccountID, f)
}
