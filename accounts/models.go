package accounts

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/kirobar/kirobar/kiro"
)

// Models are discovered per account: ListAvailableModels on the q host
// (the runtime host has none, kiro-protocol.md §7.2), with the account's
// profile, is what Kiro serves it (§11.9; the official client lists and
// caches them, crates/chat-cli/src/api_client/mod.rs
// list_available_models_cached). The list is stored on the account, shown,
// and the pool's union is what /v1/models offers and what client model
// names are fitted to.

// storedModel is one entry of Account.Models.
type storedModel struct {
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	MaxInput  int    `json:"max_input,omitempty"`
	MaxOutput int    `json:"max_output,omitempty"`
}

func decodeModels(s string) []storedModel {
	if s == "" {
		return nil
	}
	var out []storedModel
	if json.Unmarshal([]byte(s), &out) != nil {
		return nil
	}
	return out
}

// discoverModels lists the account's models and stores them, resolving
// its profile first when it never was (an IAM Identity Center account's
// listing needs it, §11.5) and once more when Kiro calls it invalid.
func (m *Manager) discoverModels(ctx context.Context, id string) (int, error) {
	if err := m.ensureProfile(ctx, id); err != nil {
		m.log.Info("accounts: profile unresolved before listing models", "account", id, "err", err)
	}
	var list []kiro.Model
	for attempt := 0; ; attempt++ {
		a, err := m.snapshot(id)
		if err != nil {
			return 0, err
		}
		list, err = m.kc.ListModels(ctx, credentials(&a))
		if err == nil {
			break
		}
		if attempt > 0 || classify(err).Policy().Account != kiro.ActResolveProfile {
			return 0, fmt.Errorf("list models of %s: %w", id, err)
		}
		if rerr := m.resolveStale(ctx, id, a.ProfileARN); rerr != nil {
			return 0, fmt.Errorf("list models of %s: %w", id, err)
		}
	}
	stored := make([]storedModel, 0, len(list))
	for _, x := range list {
		if x.ID != "" {
			stored = append(stored, storedModel{ID: x.ID, Name: x.Name, MaxInput: x.MaxInputTokens, MaxOutput: x.MaxOutputTokens})
		}
	}
	enc, err := json.Marshal(stored)
	if err != nil {
		return 0, fmt.Errorf("encode models of %s: %w", id, err)
	}
	now := m.now().UTC()
	err = m.update(ctx, id, func(a *Account) map[string]any {
		a.Models, a.ModelsAt = string(enc), now
		return map[string]any{"models": a.Models, "models_at": now}
	})
	return len(stored), err
}

// resolveStale resolves an account's profile again after Kiro called the
// one it named (refused) invalid outside a request.
func (m *Manager) resolveStale(ctx context.Context, id, refused string) error {
	a, err := m.snapshot(id)
	if err != nil {
		return err
	}
	if a.kind() == kindSocial {
		if err := m.ensureFresh(ctx, id, true); err != nil {
			return err
		}
		if a, err = m.snapshot(id); err != nil {
			return err
		}
		if a.ProfileARN != refused && a.ProfileARN != "" {
			return nil
		}
	}
	f, err := m.findFacts(ctx, a, refused)
	if err != nil {
		return err
	}
	if f.same(factsOf(&a)) {
		return errNoProfile
	}
	return m.storeFacts(ctx, id, f)
}

// ServedModel is a model at least one account of the pool can serve.
type ServedModel struct {
	ID, Name                  string
	MaxInputTokens, MaxOutput int
	// Accounts is how many accounts list it.
	Accounts int
}

// ServedModels is the union of the models Kiro listed for the accounts
// that can serve now or soon (enabled, not needing a login, not
// suspended), sorted by id. It is empty while no account's models were
// listed; callers then fall back to the static table. The result is
// cached until an account changes.
func (m *Manager) ServedModels() []ServedModel {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.served != nil && m.servedRev == m.changes {
		return m.served
	}
	byID := map[string]*ServedModel{}
	for _, e := range m.accounts {
		a := &e.acc
		if !a.Enabled || a.Status == StatusNeedsLogin || a.Status == StatusSuspended {
			continue
		}
		for _, x := range decodeModels(a.Models) {
			s, ok := byID[x.ID]
			if !ok {
				s = &ServedModel{ID: x.ID, Name: x.Name, MaxInputTokens: x.MaxInput, MaxOutput: x.MaxOutput}
				byID[x.ID] = s
			}
			s.Accounts++
		}
	}
	out := make([]ServedModel, 0, len(byID))
	for _, s := range byID {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	ids := make([]string, len(out))
	for i, x := range out {
		ids[i] = x.ID
	}
	m.served, m.servedIDs, m.servedRev = out, ids, m.changes
	return out
}

// ServedModelIDs is ServedModels' ids, for fitting a client's model name
// to what the pool serves; the caller must not modify it.
func (m *Manager) ServedModelIDs() []string {
	m.ServedModels()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.servedIDs
}
