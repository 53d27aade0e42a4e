package accounts

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kirobar/kirobar/accounts/tokenfile"
	"github.com/kirobar/kirobar/internal/duration"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
	"github.com/kirobar/kirobar/kiro"
)

// fileTokens reads the tokens in an IDE token file.
func fileTokens(t *testing.T, path string) (access, refresh string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal(b, &obj); err != nil {
		t.Fatal(err)
	}
	access, _ = obj["accessToken"].(string)
	refresh, _ = obj["refreshToken"].(string)
	return access, refresh
}

func TestExpiringTokenRefreshedInBackgroundWhileIdle(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, true)
	cfg := testConfig()
	cfg.RefreshLead = duration.Duration(2 * time.Second)
	m := e.manager(cfg, time.Hour)
	a := e.fakeAccount("a", 3*time.Second) // due for refresh in about a second
	path := e.ideFile(a, filepath.Join(e.dir, "cache", tokenfile.IDEFile))
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	views, err := m.ImportPath(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	id := views[0].ID
	run(t, m)
	waitFor(t, m, "a background refresh", func() bool { return e.fake.Stats().Refreshes["a"] >= 1 })
	waitFor(t, m, "the refreshed token written back", func() bool {
		access, _ := fileTokens(t, path)
		return access == e.fake.Account("a").AccessToken
	})
	row := storedRow(t, m, id)
	if row.AccessToken != e.fake.Account("a").AccessToken || !row.ExpiresAt.After(a.AccessExpiry) {
		t.Fatal("the refreshed token was not stored")
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("linked file mode after write-back: %v %v", st.Mode(), err)
	}
	if n := e.fake.Stats().Generations; n != 0 {
		t.Fatalf("%d generations: a refresh must not spend credits", n)
	}
}

func TestTokenRotatedInLinkedFileIsAdopted(t *testing.T) {
	for _, tc := range []struct {
		name       string
		fileExpiry time.Duration // the IDE's token expiry relative to kirobar's
		viaRun     bool          // adopted by the running watcher instead of a refresh
	}{
		{"newer file adopted before refreshing", 30 * time.Minute, false},
		{"invalid_grant sends kirobar to the file", 0, false},
		{"running watcher adopts a changed file", 30 * time.Minute, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, kirofake.Options{RotateRefreshTokens: true}, false)
			m := e.manager(testConfig(), 10*time.Millisecond)
			a := e.fakeAccount("a", time.Hour)
			path := e.ideFile(a, filepath.Join(e.dir, "cache", tokenfile.IDEFile))
			views, err := m.ImportPath(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			id := views[0].ID
			stored := storedRow(t, m, id)

			// The IDE refreshes first, consuming the one-time refresh token.
			toks, err := e.kc.Refresh(context.Background(), kiro.RefreshRequest{
				AuthMethod: kiro.AuthSocial, RefreshToken: a.RefreshToken, MachineID: strings.Repeat("cd", 32),
			})
			if err != nil {
				t.Fatal(err)
			}
			ide := a
			ide.AccessToken, ide.RefreshToken, ide.AccessExpiry = toks.AccessToken, toks.RefreshToken, stored.ExpiresAt.Add(tc.fileExpiry)
			e.ideFile(ide, path)

			if tc.viaRun {
				run(t, m)
				waitFor(t, m, "the watcher to adopt the file", func() bool {
					return storedRow(t, m, id).RefreshToken == ide.RefreshToken
				})
			} else {
				e.clock.Advance(55 * time.Minute) // inside the refresh lead
				if err := m.Refresh(context.Background(), id); err != nil {
					t.Fatalf("refresh after the IDE rotated the token: %v", err)
				}
			}
			row := storedRow(t, m, id)
			if row.RefreshToken != ide.RefreshToken || row.AccessToken != ide.AccessToken {
				t.Fatal("the IDE's tokens were not adopted")
			}
			if row.Status == StatusNeedsLogin {
				t.Fatal("account marked needs_login although the file had a working token")
			}
			if n := e.fake.Stats().Refreshes["a"]; n != 1 {
				t.Fatalf("refreshes at the fake %d, want only the IDE's", n)
			}
			l := acquire(t, m, AcquireRequest{})
			if err := e.send(l); err != nil {
				t.Fatalf("request with adopted token: %v", err)
			}
			m.Release(l, Outcome{})
		})
	}
}

func TestRevokedRefreshTokenNeedsLogin(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, false)
	m := e.manager(testConfig(), 0)
	v := e.add(m, "a", -time.Minute)
	e.fake.RevokeRefreshToken("a")
	err := m.Refresh(context.Background(), v.ID)
	if err == nil || !strings.Contains(err.Error(), "log in again") {
		t.Fatalf("refresh with revoked token: %v", err)
	}
	if st := viewOf(t, m, v.ID).Status; st != StatusNeedsLogin {
		t.Fatalf("status %s, want needs_login", st)
	}
	if _, err := m.Acquire(context.Background(), AcquireRequest{}); err == nil {
		t.Fatal("an account that needs login was handed out")
	}
}

func TestTransientRefreshFailureKeepsAccount(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, false)
	m := e.manager(testConfig(), 0)
	v := e.add(m, "a", 5*time.Minute) // still usable, inside the lead
	e.fake.FailRefreshes("a", 1)
	if err := m.Refresh(context.Background(), v.ID); err == nil {
		t.Fatal("refresh against a failing server succeeded")
	}
	got := viewOf(t, m, v.ID)
	if got.Status != StatusExpiring || got.LastError == "" {
		t.Fatalf("after a 500 on refresh: status %s, last error %q", got.Status, got.LastError)
	}
	if err := m.Refresh(context.Background(), v.ID); err != nil {
		t.Fatalf("second refresh: %v", err)
	}
	if st := viewOf(t, m, v.ID).Status; st != StatusReady {
		t.Fatalf("status %s after a good refresh", st)
	}
}
