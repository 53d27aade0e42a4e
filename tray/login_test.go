package tray

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestOptionalItems(t *testing.T) {
	accts := []Account{acct("a", StateReady), acct("b", StateNeedsLogin)}
	stopped := Status{Total: 2, Ready: 1}
	for _, tc := range []struct {
		name     string
		features Features
		st       Status
		id       ItemID
		label    string
		enabled  bool
		visible  bool
	}{
		{"no dashboard", Features{}, running, ItemID{Kind: ItemDashboard}, "Open dashboard", true, false},
		{"dashboard", Features{Dashboard: true}, running, ItemID{Kind: ItemDashboard}, "Open dashboard", true, true},
		{"dashboard while stopped", Features{Dashboard: true}, stopped, ItemID{Kind: ItemDashboard}, "Open dashboard", false, true},
		{"no sign-in", Features{}, running, ItemID{Kind: ItemAddAccount}, "Add account…", true, false},
		{"add account", Features{Login: true}, running, ItemID{Kind: ItemAddAccount}, "Add account…", true, true},
		{"builder id", Features{Login: true}, running, ItemID{Kind: ItemLoginBuilderID}, "Sign in with Builder ID", true, true},
		{"google", Features{Login: true}, running, ItemID{Kind: ItemLoginGoogle}, "Sign in with Google", true, true},
		{"github", Features{Login: true}, running, ItemID{Kind: ItemLoginGitHub}, "Sign in with GitHub", true, true},
		{"import", Features{Login: true}, running, ItemID{Kind: ItemImportIDE}, "Import from Kiro IDE", true, true},
		{"import without sign-in", Features{}, running, ItemID{Kind: ItemImportIDE}, "Import from Kiro IDE", true, false},
		{"no code line while idle", Features{Login: true}, running, ItemID{Kind: ItemLoginCode}, "…", false, false},
		{"no cancel while idle", Features{Login: true}, running, ItemID{Kind: ItemLoginCancel}, "Cancel sign-in", true, false},
		{"sign in again when it needs login", Features{Login: true}, running, ItemID{ItemAccountRelogin, 1}, "Sign in again", true, true},
		{"not for a ready account", Features{Login: true}, running, ItemID{ItemAccountRelogin, 0}, "Sign in again", true, false},
		{"not without sign-in", Features{}, running, ItemID{ItemAccountRelogin, 1}, "Sign in again", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, m := newTestController()
			c.SetFeatures(tc.features)
			c.Update(tc.st, accts, 0)
			c.Render(m)
			got := m.items[tc.id]
			if got.Label != tc.label || got.Enabled != tc.enabled || got.Visible != tc.visible {
				t.Errorf("%v = %+v, want label %q enabled %v visible %v", tc.id, got, tc.label, tc.enabled, tc.visible)
			}
			// A submenu's own line opens the submenu and asks for nothing.
			want := tc.enabled && tc.visible && tc.id.Kind != ItemAddAccount
			if _, ok := c.Click(tc.id); ok != want {
				t.Errorf("Click accepted = %v, want %v", ok, want)
			}
		})
	}
}

func TestLogin(t *testing.T) {
	accts := []Account{acct("a", StateReady), acct("b", StateNeedsLogin)}
	const page = "https://view.awsapps.com/start/#/device?user_code=ABCD-EFGH"
	for _, tc := range []struct {
		name   string
		click  ItemID
		cmd    Command
		what   string   // the code line before any progress
		device []string // user code and page reported by the sign-in
		status string   // a progress line reported by the sign-in
		line   string   // the code line after the reports
		cancel bool     // click "Cancel sign-in" before the result
		result Result
		note   string
	}{
		{"builder id", ItemID{Kind: ItemLoginBuilderID}, Command{Action: ActLogin, Login: LoginBuilderID},
			"Sign-in with Builder ID…", []string{"ABCD-EFGH", page}, "", "Enter code ABCD-EFGH at view.awsapps.com/start", false,
			Result{Added: "new@example.com"}, "Added new@example.com"},
		{"google", ItemID{Kind: ItemLoginGoogle}, Command{Action: ActLogin, Login: LoginGoogle},
			"Sign-in with Google…", nil, "Waiting for the browser", "Sign-in with Google: Waiting for the browser", false,
			Result{Added: "g@example.com"}, "Added g@example.com"},
		{"github fails", ItemID{Kind: ItemLoginGitHub}, Command{Action: ActLogin, Login: LoginGitHub},
			"Sign-in with GitHub…", nil, "", "Sign-in with GitHub…", false,
			Result{Err: errors.New("state mismatch")}, "Sign-in with GitHub failed: state mismatch"},
		{"import", ItemID{Kind: ItemImportIDE}, Command{Action: ActLogin, Login: LoginKiroIDE},
			"Import from Kiro IDE…", nil, "", "Import from Kiro IDE…", false,
			Result{Added: "ide@example.com"}, "Added ide@example.com"},
		{"import without a label", ItemID{Kind: ItemImportIDE}, Command{Action: ActLogin, Login: LoginKiroIDE},
			"Import from Kiro IDE…", nil, "", "Import from Kiro IDE…", false,
			Result{}, "Import from Kiro IDE done"},
		{"canceled", ItemID{Kind: ItemLoginBuilderID}, Command{Action: ActLogin, Login: LoginBuilderID},
			"Sign-in with Builder ID…", []string{"WXYZ-1234", page}, "", "Enter code WXYZ-1234 at view.awsapps.com/start", true,
			Result{Err: fmt.Errorf("device flow: %w", context.Canceled)}, "Sign-in with Builder ID canceled"},
		{"sign in again", ItemID{ItemAccountRelogin, 1}, Command{Action: ActRelogin, AccountID: "b", Label: "b@example.com"},
			"Sign-in to b@example.com…", []string{"ABCD-EFGH", page}, "", "Enter code ABCD-EFGH at view.awsapps.com/start", false,
			Result{}, "b@example.com signed in again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, m := newTestController()
			c.SetFeatures(Features{Login: true})
			c.Update(running, accts, 0)
			c.Render(m)
			cmd, ok := c.Click(tc.click)
			if !ok || cmd != tc.cmd {
				t.Fatalf("Click = %+v, %v; want %+v", cmd, ok, tc.cmd)
			}
			c.Render(m)
			code := ItemID{Kind: ItemLoginCode}
			if it := m.items[code]; it.Label != tc.what || !it.Visible || it.Enabled {
				t.Errorf("code line at start %+v, want %q shown, not clickable", it, tc.what)
			}
			// One sign-in at a time: every way to start another is greyed out.
			for _, id := range []ItemID{{Kind: ItemLoginBuilderID}, {Kind: ItemLoginGoogle}, {Kind: ItemLoginGitHub}, {Kind: ItemImportIDE}, {ItemAccountRelogin, 1}} {
				if m.items[id].Enabled {
					t.Errorf("%v enabled while a sign-in runs", id)
				}
				if _, again := c.Click(id); again {
					t.Errorf("%v started a second sign-in", id)
				}
			}
			if len(tc.device) == 2 {
				c.LoginDevice(tc.device[0], tc.device[1])
			}
			if tc.status != "" {
				c.LoginStatus(tc.status)
			}
			c.Render(m)
			it := m.items[code]
			if it.Label != tc.line || !it.Visible {
				t.Errorf("code line %+v, want %q", it, tc.line)
			}
			if it.Enabled != (len(tc.device) == 2) {
				t.Errorf("code line clickable = %v with device %v", it.Enabled, tc.device)
			}
			if it.Enabled {
				if open, ok := c.Click(code); !ok || open != (Command{Action: ActOpenLoginPage, URL: tc.device[1]}) {
					t.Errorf("click on the code line = %+v, %v", open, ok)
				}
			}
			if tc.cancel {
				if cc, ok := c.Click(ItemID{Kind: ItemLoginCancel}); !ok || cc.Action != ActCancelLogin {
					t.Fatalf("cancel = %+v, %v", cc, ok)
				}
				c.Render(m)
				if it := m.items[ItemID{Kind: ItemLoginCancel}]; it.Enabled || it.Label != "Canceling sign-in…" {
					t.Errorf("cancel item while canceling %+v", it)
				}
			}
			tc.result.Command = cmd
			c.Finish(tc.result)
			// A report that arrives after the result changes nothing.
			c.LoginDevice("LATE-CODE", page)
			c.Render(m)
			for _, id := range []ItemID{code, {Kind: ItemLoginCancel}} {
				if m.items[id].Visible {
					t.Errorf("%v still shown after the result: %+v", id, m.items[id])
				}
			}
			if !m.items[ItemID{Kind: ItemLoginGoogle}].Enabled {
				t.Error("sign-in items still greyed out after the result")
			}
			want := "Running on 127.0.0.1:8999 · 2/2 ready · 12 requests today · " + tc.note
			if got := m.label(ItemStatus, 0); got != want {
				t.Errorf("status %q, want %q", got, want)
			}
		})
	}
}

func TestShortURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://view.awsapps.com/start/#/device?user_code=ABCD-EFGH", "view.awsapps.com/start"},
		{"https://device.sso.us-east-1.amazonaws.com/", "device.sso.us-east-1.amazonaws.com"},
		{"not a url", "not a url"},
	} {
		if got := shortURL(tc.in); got != tc.want {
			t.Errorf("shortURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNeedsLoginNoticeNamesTheMenuItem(t *testing.T) {
	for _, tc := range []struct {
		login bool
		body  string
	}{
		{false, "Its token could not be refreshed. Log in to this account again to use it."},
		{true, "Its token could not be refreshed. Choose Accounts › b@example.com › Sign in again to use it."},
	} {
		c, _, _ := newTestController()
		c.SetFeatures(Features{Login: tc.login})
		c.Update(running, []Account{acct("b", StateReady)}, 0)
		n := c.Update(running, []Account{acct("b", StateNeedsLogin)}, 0)
		if len(n) != 1 || n[0].Body != tc.body {
			t.Errorf("login %v: notices %+v", tc.login, n)
		}
	}
}
