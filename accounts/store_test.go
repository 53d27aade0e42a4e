package accounts

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kirobar/kirobar/internal/testkit/kirofake"
)

// TestReloadAdoptsAnotherProcessesChanges: two Managers on one database
// file, as a running kirobar and a `kirobar accounts` command are. What
// one writes, the other adopts on its next reload; a write of its own in
// between loses nothing of the other's.
func TestReloadAdoptsAnotherProcessesChanges(t *testing.T) {
	for _, tc := range []struct {
		name string
		// change runs on the other process (cli), and on the running one
		// (srv) before it reloads; check looks at srv after the reload.
		change func(t *testing.T, e *env, srv, cli *Manager, id string)
		check  func(t *testing.T, srv *Manager, id string)
	}{
		{"a change to a row", func(t *testing.T, e *env, srv, cli *Manager, id string) {
			if err := cli.SetEnabled(id, false); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, srv *Manager, id string) {
			if v := viewOf(t, srv, id); v.Enabled || v.Status != StatusDisabled {
				t.Fatalf("account %s enabled %v", v.Status, v.Enabled)
			}
		}},
		{"a new account", func(t *testing.T, e *env, srv, cli *Manager, id string) {
			e.add(cli, "b", time.Hour)
		}, func(t *testing.T, srv *Manager, id string) {
			if n := len(srv.List()); n != 2 {
				t.Fatalf("%d accounts, want 2", n)
			}
		}},
		{"a removed account", func(t *testing.T, e *env, srv, cli *Manager, id string) {
			if err := cli.Remove(id); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, srv *Manager, id string) {
			if _, err := srv.View(id); !errors.Is(err, ErrNotFound) {
				t.Fatalf("removed account still known: %v", err)
			}
			if _, err := srv.Acquire(context.Background(), AcquireRequest{}); !errors.Is(err, ErrNoAccounts) {
				t.Fatalf("acquire from the emptied pool: %v", err)
			}
		}},
		{"writes of both in between", func(t *testing.T, e *env, srv, cli *Manager, id string) {
			if err := cli.SetEnabled(id, false); err != nil {
				t.Fatal(err)
			}
			if err := srv.SetProxy(id, "socks5://127.0.0.1:1080"); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, srv *Manager, id string) {
			if v := viewOf(t, srv, id); v.Enabled || v.Proxy != "socks5://127.0.0.1:1080" {
				t.Fatalf("enabled %v proxy %q: one of the two writes was lost", v.Enabled, v.Proxy)
			}
		}},
		{"request counts of both", func(t *testing.T, e *env, srv, cli *Manager, id string) {
			for _, m := range []*Manager{srv, srv, cli} {
				l := acquire(t, m, AcquireRequest{})
				m.Release(l, Outcome{Credits: 0.5, InputTokens: 10, OutputTokens: 2})
			}
			if _, err := cli.reload(context.Background()); err != nil { // flushes its count
				t.Fatal(err)
			}
		}, func(t *testing.T, srv *Manager, id string) {
			if v := viewOf(t, srv, id); v.Requests != 3 || v.Credits != 1.5 || v.InputTokens != 30 || v.OutputTokens != 6 {
				t.Fatalf("requests %d credits %v tokens %d/%d, want both processes' counts", v.Requests, v.Credits, v.InputTokens, v.OutputTokens)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, kirofake.Options{}, false)
			srv := e.manager(testConfig(), 0)
			id := e.add(srv, "a", time.Hour).ID
			cli := e.manager(testConfig(), 0)
			tc.change(t, e, srv, cli, id)
			ch, unsub := srv.Subscribe()
			defer unsub()
			changed, err := srv.reload(context.Background())
			if err != nil || !changed {
				t.Fatalf("reload: changed %v, %v", changed, err)
			}
			select {
			case <-ch:
			default:
				t.Fatal("a reload that changed accounts notified nobody")
			}
			tc.check(t, srv, id)
			if _, err := srv.View(id); err == nil {
				if stored, known := storedRow(t, srv, id).Revision, knownRevision(srv, id); stored != known {
					t.Fatalf("stored revision %d, known %d", stored, known)
				}
			}
			if changed, err := srv.reload(context.Background()); err != nil || changed {
				t.Fatalf("a second reload: changed %v, %v", changed, err)
			}
		})
	}
}

// knownRevision is the revision the Manager last adopted or wrote for id.
func knownRevision(m *Manager, id string) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.accounts[id]
	if !ok {
		return 0
	}
	return e.knownRev
}
