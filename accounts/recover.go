package accounts

import (
	"context"
	"fmt"

	"github.com/kirobar/kirobar/kiro"
)

// Recover fixes what made Kiro refuse a lease, when the policy table says
// the same account may then be retried (kiro.RetrySameAfterFix): a token
// Kiro called invalid is refreshed (and, for an IdC or Builder ID token the
// runtime host refuses even fresh, the account moves to the q host); a
// missing, stale or refused profile is resolved again (ResolveProfile). A
// nil error means something changed and the caller may retry on this
// account.
func (m *Manager) Recover(ctx context.Context, l *Lease, ke *kiro.Error) error {
	switch ke.Policy().Account {
	case kiro.ActRefresh:
		return m.RefreshRejected(ctx, l)
	case kiro.ActResolveProfile:
		return m.ResolveProfile(ctx, l)
	}
	return fmt.Errorf("account %s: nothing to recover from %s", l.AccountID, ke.Class)
}
