package accounts

import (
	"context"
	"fmt"

	"github.com/kirobar/kirobar/kiro"
)

// Recover fixes what made Kiro refuse a lease, when the policy table says
// the same account may then be retried (kiro.RetrySameAfterFix): a token
// Kiro called invalid is refreshed; a missing or stale profile ARN is
// resolved again. A nil error means the caller may retry on this account.
func (m *Manager) Recover(ctx context.Context, l *Lease, ke *kiro.Error) error {
	switch ke.Policy().Account {
	case kiro.ActRefresh:
		return m.RefreshRejected(ctx, l)
	case kiro.ActResolveProfile:
		return m.ResolveProfile(ctx, l)
	}
	return fmt.Errorf("account %s: nothing to recover from %s", l.AccountID, ke.Class)
}

// ResolveProfile finds the profile ARN of a lease whose request Kiro
// refused for a missing or stale profile. A social login's profile comes
// with its token, so a forced refresh brings the current one; the retry is
// worth it only when the profile changed.
func (m *Manager) ResolveProfile(ctx context.Context, l *Lease) error {
	m.mu.Lock()
	e, ok := m.accounts[l.AccountID]
	if !ok {
		m.mu.Unlock()
		return fmt.Errorf("account %s: %w", l.AccountID, ErrNotFound)
	}
	method := e.acc.AuthMethod
	m.mu.Unlock()
	if method != AuthSocial {
		return fmt.Errorf("account %s: no way to resolve the profile of a %s login", l.AccountID, method)
	}
	if err := m.ensureFresh(ctx, l.AccountID, true); err != nil {
		return fmt.Errorf("resolve profile of %s: %w", l.AccountID, err)
	}
	m.mu.Lock()
	arn := m.accounts[l.AccountID].acc.ProfileARN
	m.mu.Unlock()
	if arn == "" || arn == l.Credentials.ProfileARN {
		return fmt.Errorf("account %s: the refresh brought no new profile", l.AccountID)
	}
	return nil
}
