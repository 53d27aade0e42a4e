package accounts

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/kirobar/kirobar/internal/testkit/kirofake"
)

// TestModelsDiscoveredPerAccount: each account's ListAvailableModels is
// stored and shown; the pool serves their union.
func TestModelsDiscoveredPerAccount(t *testing.T) {
	e := newHostEnv(t, kirofake.Options{})
	m := e.manager(testConfig(), 0)
	for id, models := range map[string][]string{
		"a": {"claude-sonnet-4.5", "claude-haiku-4.5"},
		"b": {"claude-sonnet-4.5", "claude-opus-4.8"},
	} {
		e.fake.AddAccount(kirofake.Account{ID: id, RefreshToken: token("aor"), AccessToken: token("aoa"), AccessExpiry: e.now().Add(time.Hour), Models: models})
		a := e.fake.Account(id)
		if _, err := m.ImportPath(context.Background(), e.ideFile(a, filepath.Join(e.dir, "tokens", id+".json"))); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Second)
	}
	served := m.ServedModels()
	var ids []string
	count := map[string]int{}
	for _, s := range served {
		ids = append(ids, s.ID)
		count[s.ID] = s.Accounts
	}
	if !slices.Equal(ids, []string{"claude-haiku-4.5", "claude-opus-4.8", "claude-sonnet-4.5"}) || count["claude-sonnet-4.5"] != 2 {
		t.Fatalf("served %+v", served)
	}
	for _, v := range m.List() {
		if len(v.Models) != 2 || v.ModelsAt.IsZero() {
			t.Fatalf("account %s models %v", v.ID, v.Models)
		}
	}
	// A disabled account's models leave the pool.
	for _, v := range m.List() {
		if slices.Contains(v.Models, "claude-opus-4.8") {
			if err := m.SetEnabled(v.ID, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := m.ServedModelIDs(); !slices.Equal(got, []string{"claude-haiku-4.5", "claude-sonnet-4.5"}) {
		t.Fatalf("served after disabling: %v", got)
	}
}

// TestRunListsUnlistedModels: accounts whose models were never listed (an
// older kirobar added them, or Kiro did not answer then) are listed once
// when the pool starts.
func TestRunListsUnlistedModels(t *testing.T) {
	e := newHostEnv(t, kirofake.Options{})
	m := e.manager(testConfig(), 0)
	a := kirofake.Account{ID: "late", RefreshToken: token("aor"), AccessToken: token("aoa"), AccessExpiry: e.now().Add(time.Hour),
		ProfileARN: kirofake.DefaultProfileARN, Models: []string{"claude-sonnet-4.5"}}
	views, err := m.ImportPath(context.Background(), e.ideFile(a, filepath.Join(e.dir, "tokens", "late.json")))
	if err != nil || len(views) != 1 {
		t.Fatalf("import: %v %v", views, err)
	}
	if v := viewOf(t, m, views[0].ID); !v.ModelsAt.IsZero() {
		t.Fatal("models listed for an account the fake does not know")
	}
	e.fake.AddAccount(a) // Kiro answers now
	run(t, m)
	waitFor(t, m, "models listed", func() bool { return len(viewOf(t, m, views[0].ID).Models) == 1 })
	if got := m.ServedModelIDs(); !slices.Equal(got, []string{"claude-sonnet-4.5"}) {
		t.Fatalf("served %v", got)
	}
}
