package accounts

import (
	"context"
	"errors"
)

// Outcome is what happened on one leased attempt.
type Outcome struct {
	// Err is the attempt's error; nil on success. Kiro errors are
	// classified with kiro.AsError to pick the cooldown.
	Err error
	// Style is the upstream API style that worked; it is remembered per
	// account so the next request starts with it.
	Style string
	// Credits Kiro metered for the attempt.
	Credits float64
	// InputTokens and OutputTokens as reported to the client.
	InputTokens, OutputTokens int
	// Started reports that the first byte reached the client.
	Started bool
}

// Release returns a lease and records its outcome: counters, the API
// style that worked, and a cooldown chosen by the error class. Only the
// first call for a lease counts.
func (m *Manager) Release(l *Lease, o Outcome) {
	if l == nil || l.e == nil {
		return
	}
	l.released.Do(func() { m.release(l, o) })
}

func (m *Manager) release(l *Lease, o Outcome) {
	now := m.now()
	e := l.e
	m.mu.Lock()
	e.inflight--
	e.pending.requests++
	e.pending.credits += o.Credits
	e.pending.inTokens += int64(o.InputTokens)
	e.pending.outTokens += int64(o.OutputTokens)
	e.pending.lastUsed = now
	change := m.judgeLocked(e, l.model, o, now)
	if o.Style != "" && o.Style != e.acc.APIStyle {
		prev := change
		change = func(a *Account) map[string]any {
			cols := map[string]any{}
			if prev != nil {
				cols = prev(a)
			}
			a.APIStyle = o.Style
			cols["api_style"] = o.Style
			return cols
		}
	}
	m.mu.Unlock()
	if change != nil {
		if err := m.update(context.Background(), l.AccountID, change); err != nil && !errors.Is(err, ErrNotFound) {
			m.log.Warn("accounts: record outcome", "account", l.AccountID, "err", err)
		}
	}
	m.signalFreed()
	m.notify()
}
