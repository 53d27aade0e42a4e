package tray

import (
	"errors"
	"slices"
	"testing"
)

// tableStates are controller states in which, between them, every item of
// the table shows: idle with every feature and an account that needs
// login, and with a sign-in running that reports its device code.
func tableStates() []*Controller {
	accts := []Account{acct("a", StateReady), acct("b", StateNeedsLogin)}
	idle, _, _ := newTestController()
	idle.SetFeatures(Features{Login: true, Dashboard: true})
	idle.Update(running, accts, 1)
	busy, _, _ := newTestController()
	busy.SetFeatures(Features{Login: true, Dashboard: true})
	busy.Update(running, accts, 1)
	if _, ok := busy.Click(ItemID{Kind: ItemLoginBuilderID}); !ok {
		panic("the sign-in did not start")
	}
	busy.LoginDevice("ABCD-EFGH", "https://view.awsapps.com/start/#/device?user_code=ABCD-EFGH")
	return []*Controller{idle, busy}
}

func TestMenuTable(t *testing.T) {
	seen := map[Kind]int{}
	for i, e := range entries {
		if prev, dup := seen[e.kind]; dup {
			t.Errorf("kind %d has rows %d and %d", e.kind, prev, i)
		}
		seen[e.kind] = i
		if e.look == nil {
			t.Errorf("kind %d has no look", e.kind)
		}
	}
	for k := Kind(0); k < numKinds; k++ {
		if _, ok := seen[k]; !ok {
			t.Errorf("kind %d has no row in the table", k)
		}
	}

	runs := 0
	for i, e := range entries {
		if e.perAccount && (i == 0 || !entries[i-1].perAccount) {
			runs++
		}
		if e.parent == top {
			continue
		}
		p, ok := seen[e.parent]
		switch {
		case !ok:
			t.Errorf("kind %d sits under kind %d, which has no row", e.kind, e.parent)
		case p >= i:
			t.Errorf("kind %d comes before its parent %d", e.kind, e.parent)
		case entries[p].click != nil:
			t.Errorf("kind %d sits under kind %d, which is clickable: a submenu's line asks for nothing", e.kind, e.parent)
		case entries[p].perAccount && !e.perAccount:
			t.Errorf("kind %d is fixed but sits under a per-account item", e.kind)
		}
	}
	if runs != 1 {
		t.Errorf("per-account rows in %d runs, want one run: a slot's items stay together", runs)
	}

	// Every item has a label in some state; only check boxes are checked.
	labelled := map[Kind]bool{}
	for _, c := range tableStates() {
		for id, it := range c.items() {
			if it.Label != "" && it.Label != "…" {
				labelled[id.Kind] = true
			}
			if it.Checked && !entryOf(id.Kind).check {
				t.Errorf("kind %d is checked but has no check box", id.Kind)
			}
		}
	}
	for _, e := range entries {
		if !labelled[e.kind] {
			t.Errorf("kind %d has no label in any state", e.kind)
		}
	}
}

// TestMenuActions clicks every clickable item, in both table states, and
// checks that the command has a row in actions that carries it out and
// records its result.
func TestMenuActions(t *testing.T) {
	for a := ActStartServer; a < actionsEnd; a++ {
		act, ok := actions[a]
		switch {
		case !ok:
			t.Errorf("action %d has no row", a)
		case act.name == "" || act.run == nil:
			t.Errorf("action %d (%q) has no name or no work", a, act.name)
		case act.now == (act.finish != nil):
			t.Errorf("action %q: a now action has no result to finish, every other one does", act.name)
		case act.now && act.signIn:
			t.Errorf("action %q: a sign-in runs on a worker", act.name)
		}
	}
	reached := map[Action]bool{}
	for _, state := range []int{0, 1} {
		for _, e := range entries {
			if e.click == nil {
				continue
			}
			for _, id := range order(2) {
				if id.Kind != e.kind {
					continue
				}
				c := tableStates()[state]
				cmd, ok := c.Click(id)
				if !ok {
					continue
				}
				reached[cmd.Action] = true
				act := actions[cmd.Action]
				if act.finish != nil {
					act.finish(c, Result{Command: cmd, Err: errors.New("boom")})
				}
			}
		}
	}
	for _, a := range []Action{ActStopServer, ActRefreshAccount, ActDisableAccount, ActRefreshExpiring, ActCheckAll,
		ActCopySetup, ActOpenLogs, ActOpenConfig, ActEnableAutostart, ActQuit, ActOpenDashboard, ActLogin,
		ActRelogin, ActOpenLoginPage, ActCancelLogin} {
		if !reached[a] {
			t.Errorf("no item asks for action %q in the table states", actions[a].name)
		}
	}
}

// TestMenuOrder is the menu as a user sees it, top to bottom, with two
// account slots. The DBus end-to-end test checks that the real menu on
// the bus has this shape.
func TestMenuOrder(t *testing.T) {
	want := []ItemID{
		{Kind: ItemStatus}, {Kind: ItemServer}, {Kind: ItemDashboard}, {Kind: ItemAccounts}, {Kind: ItemNoAccounts},
		{ItemAccount, 0}, {ItemAccountRefresh, 0}, {ItemAccountToggle, 0}, {ItemAccountRelogin, 0},
		{ItemAccount, 1}, {ItemAccountRefresh, 1}, {ItemAccountToggle, 1}, {ItemAccountRelogin, 1},
		{Kind: ItemAddAccount}, {Kind: ItemLoginBuilderID}, {Kind: ItemLoginGoogle}, {Kind: ItemLoginGitHub}, {Kind: ItemImportIDE},
		{Kind: ItemLoginCode}, {Kind: ItemLoginCancel},
		{Kind: ItemRefreshExpiring}, {Kind: ItemCheckAll},
		{Kind: ItemCopySetup}, {Kind: ItemOpenLogs}, {Kind: ItemOpenConfig},
		{Kind: ItemAutostart}, {Kind: ItemQuit},
	}
	if got := order(2); !slices.Equal(got, want) {
		t.Errorf("order(2) =\n%v\nwant\n%v", got, want)
	}
	var gaps []Kind
	for _, e := range entries {
		if e.gap {
			gaps = append(gaps, e.kind)
		}
	}
	if want := []Kind{ItemServer, ItemRefreshExpiring, ItemCopySetup, ItemAutostart}; !slices.Equal(gaps, want) {
		t.Errorf("separators before %v, want before %v", gaps, want)
	}
	for _, tc := range []struct {
		id     ItemID
		parent ItemID
		nested bool
	}{
		{ItemID{Kind: ItemServer}, ItemID{}, false},
		{ItemID{Kind: ItemNoAccounts}, ItemID{Kind: ItemAccounts}, true},
		{ItemID{ItemAccount, 3}, ItemID{Kind: ItemAccounts}, true},
		{ItemID{ItemAccountRelogin, 3}, ItemID{ItemAccount, 3}, true},
		{ItemID{Kind: ItemImportIDE}, ItemID{Kind: ItemAddAccount}, true},
	} {
		if p, nested := parentOf(tc.id); p != tc.parent || nested != tc.nested {
			t.Errorf("parentOf(%v) = %v, %v; want %v, %v", tc.id, p, nested, tc.parent, tc.nested)
		}
	}
}
