package accounts

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kirobar/kirobar/accounts/signin"
	"github.com/kirobar/kirobar/internal/db"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
)

// loginWorld is a Manager whose device-login waits advance the injected
// clock instead of sleeping, and which records them.
type loginWorld struct {
	*env
	m      *Manager
	mu     sync.Mutex
	sleeps []time.Duration
	opened []string
}

func newLoginWorld(t *testing.T, fopts kirofake.Options, openURL func(string) error) *loginWorld {
	t.Helper()
	return newLoginWorldIn(t, newEnv(t, fopts, false), openURL, nil)
}

// newLoginWorldIn is newLoginWorld in a given env, with the Manager's
// options adjusted by opts.
func newLoginWorldIn(t *testing.T, e *env, openURL func(string) error, opts func(*Options)) *loginWorld {
	t.Helper()
	w := &loginWorld{env: e}
	gdb, err := db.Open(w.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(gdb) })
	if openURL == nil {
		openURL = func(u string) error {
			w.mu.Lock()
			w.opened = append(w.opened, u)
			w.mu.Unlock()
			return nil
		}
	}
	o := Options{
		UserHome: w.dir, Now: w.clock.Now, OpenURL: openURL,
		Sleep: func(ctx context.Context, d time.Duration) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			w.mu.Lock()
			w.sleeps = append(w.sleeps, d)
			w.mu.Unlock()
			w.clock.Advance(d)
			return nil
		},
	}
	if opts != nil {
		opts(&o)
	}
	w.m, err = NewManager(gdb, w.kc, testConfig(), o)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// rawAccount is the stored account with its tokens.
func (w *loginWorld) rawAccount(id string) Account {
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	return w.m.accounts[id].acc
}

func (w *loginWorld) ui(device *[]signin.DeviceCode, status *[]string) signin.UI {
	return signin.UI{
		OpenURL: w.m.login.openURL,
		Device:  func(d signin.DeviceCode) { *device = append(*device, d) },
		Status:  func(msg string) { *status = append(*status, msg) },
	}
}

// TestDeviceLogin: a device sign-in that the user approves is stored as a
// ready Builder ID account that serves and refreshes; one that fails
// stores nothing. The flow itself (polling, slow_down, the code shown) is
// signin's and tested there.
func TestDeviceLogin(t *testing.T) {
	pending, slow, approved := kirofake.DevicePending, kirofake.DeviceSlowDown, kirofake.DeviceApproved
	cases := []struct {
		name    string
		script  []kirofake.DeviceStep
		ttl     time.Duration
		wantErr error
	}{
		{"pending then approved", []kirofake.DeviceStep{pending, pending, approved}, 0, nil},
		{"slow down then approved", []kirofake.DeviceStep{pending, slow, slow, approved}, 0, nil},
		{"denied", []kirofake.DeviceStep{pending, kirofake.DeviceDenied}, 0, signin.ErrDenied},
		{"expired by the service", []kirofake.DeviceStep{pending, kirofake.DeviceExpired}, 0, signin.ErrExpired},
		{"code runs out while pending", []kirofake.DeviceStep{pending}, 30 * time.Second, signin.ErrExpired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newLoginWorld(t, kirofake.Options{DeviceCodeTTL: tc.ttl}, nil)
			w.fake.ScriptDevice(tc.script...)
			var codes []signin.DeviceCode
			var status []string
			v, err := w.m.Login(context.Background(), LoginRequest{Kind: signin.BuilderID}, w.ui(&codes, &status))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if n := len(w.m.List()); n != 0 {
					t.Errorf("%d accounts stored after a failed sign-in", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.AuthMethod != AuthIdC || v.Provider != "BuilderId" || v.Status != StatusReady {
				t.Errorf("account %+v", v)
			}
			// Builder ID has no profile: ListAvailableProfiles refuses it,
			// and the runtime host takes the placeholder (kiro-protocol.md
			// §11.1).
			if v.ProfileARN != kirofake.BuilderIDProfileARN || v.APIStyle != "runtime" || v.APIRegion != "us-east-1" || v.Kind != kindBuilderID {
				t.Errorf("profile %q region %q style %q kind %q, want the Builder ID placeholder on runtime", v.ProfileARN, v.APIRegion, v.APIStyle, v.Kind)
			}
			if !strings.HasPrefix(v.Email, "builder-") || v.Label != v.Email {
				t.Errorf("email %q label %q: want the email from getUsageLimits", v.Email, v.Label)
			}
			// The account serves a real generation on the runtime style,
			// which refuses a request without a profile ARN.
			l := acquire(t, w.m, AcquireRequest{Model: "claude-sonnet-4.5"})
			if err := w.send(l); err != nil {
				t.Fatalf("generate with the signed-in account: %v", err)
			}
			w.m.Release(l, Outcome{})
			// And it refreshes with the registered client.
			if err := w.m.Refresh(context.Background(), v.ID); err != nil {
				t.Fatalf("refresh: %v", err)
			}
		})
	}
}

func TestIdCLoginNeedsStartURL(t *testing.T) {
	w := newLoginWorld(t, kirofake.Options{}, nil)
	if _, err := w.m.Login(context.Background(), LoginRequest{Kind: signin.IdC}, signin.UI{}); err == nil || !strings.Contains(err.Error(), "start URL") {
		t.Fatalf("err = %v", err)
	}
	v, err := w.m.Login(context.Background(), LoginRequest{Kind: signin.IdC, StartURL: "https://example.awsapps.com/start", Region: "us-east-1"}, signin.UI{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Provider != "Enterprise" || v.AuthMethod != AuthIdC || v.Region != "us-east-1" {
		t.Errorf("account %+v", v)
	}
}

// TestSocialLogin: a Google or GitHub sign-in is stored as a social
// account with its profile and email, and serves. The callback's rules
// are signin's and tested there.
func TestSocialLogin(t *testing.T) {
	for _, kind := range []signin.Kind{signin.Google, signin.GitHub} {
		t.Run(string(kind), func(t *testing.T) {
			b := kirofake.NewBrowser()
			w := newLoginWorld(t, kirofake.Options{}, b.Open)
			v, err := w.m.Login(context.Background(), LoginRequest{Kind: kind}, signin.UI{OpenURL: w.m.login.openURL})
			if err != nil {
				t.Fatal(err)
			}
			if v.AuthMethod != AuthSocial || v.ProfileARN != kirofake.DefaultProfileARN || !strings.HasPrefix(v.Email, "social-") {
				t.Errorf("account %+v", v)
			}
			l := acquire(t, w.m, AcquireRequest{Model: "claude-sonnet-4.5"})
			if err := w.send(l); err != nil {
				t.Fatalf("generate with the signed-in account: %v", err)
			}
			w.m.Release(l, Outcome{})
		})
	}
}

// TestLoginTimesOut: a sign-in the user never finishes ends at the
// Manager's login timeout, saying so, and stores nothing.
func TestLoginTimesOut(t *testing.T) {
	w := newLoginWorldIn(t, newEnv(t, kirofake.Options{}, false), func(string) error { return nil }, func(o *Options) {
		o.LoginTimeout = 200 * time.Millisecond
	})
	_, err := w.m.Login(context.Background(), LoginRequest{Kind: signin.Google}, signin.UI{OpenURL: w.m.login.openURL})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "not finished within 200ms") {
		t.Fatalf("err = %v, want the login timeout", err)
	}
	if n := len(w.m.List()); n != 0 {
		t.Fatalf("%d accounts stored", n)
	}
}

func TestReloginKeepsAccount(t *testing.T) {
	w := newLoginWorld(t, kirofake.Options{}, kirofake.NewBrowser().Open)
	old := w.add(w.m, "old", time.Hour)
	if err := w.m.update(context.Background(), old.ID, func(a *Account) map[string]any {
		a.Requests, a.Credits, a.Status, a.LastError = 7, 1.5, StatusNeedsLogin, "refresh token rejected"
		return map[string]any{"requests": a.Requests, "credits": a.Credits, "status": a.Status, "last_error": a.LastError}
	}); err != nil {
		t.Fatal(err)
	}
	before := viewOf(t, w.m, old.ID)
	oldToken := w.rawAccount(old.ID).RefreshToken
	if before.Status != StatusNeedsLogin {
		t.Fatalf("status %s", before.Status)
	}
	v, err := w.m.Login(context.Background(), LoginRequest{Kind: signin.Google, Relogin: old.ID}, signin.UI{OpenURL: w.m.login.openURL})
	if err != nil {
		t.Fatal(err)
	}
	if v.ID != old.ID || v.Requests != 7 || v.Credits != 1.5 || v.Status != StatusReady || v.LastError != "" {
		t.Errorf("renewed account %+v", v)
	}
	if w.rawAccount(v.ID).RefreshToken == oldToken || v.SourceFile != "" {
		t.Errorf("tokens not renewed, or still linked to %q", v.SourceFile)
	}
	if n := len(w.m.List()); n != 1 {
		t.Errorf("%d accounts after re-login, want 1", n)
	}
	// Another process sees the same row.
	other := w.manager(testConfig(), 0)
	if ov := viewOf(t, other, old.ID); ov.Status != StatusReady || ov.Requests != 7 {
		t.Errorf("database row %+v", ov)
	}
	if _, err := w.m.Login(context.Background(), LoginRequest{Kind: signin.Google, Relogin: "nope"}, signin.UI{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("re-login of an unknown id: %v", err)
	}
}

// TestLoginCallbackPorts: Options.CallbackPorts are the ports a social
// sign-in's callback may take, in place of the portal's usual list. (Which
// ports the portal accepts, a busy port passed over and none free are
// signin's and tested there.)
func TestLoginCallbackPorts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port // free a moment ago
	ln.Close()
	b := kirofake.NewBrowser()
	only := []int{port} // the fake refuses any other redirect port
	w := newLoginWorldIn(t, newEnv(t, kirofake.Options{RedirectPorts: only}, false), b.Open, func(o *Options) { o.CallbackPorts = only })
	if _, err := w.m.Login(context.Background(), LoginRequest{Kind: signin.Google}, signin.UI{OpenURL: w.m.login.openURL}); err != nil {
		t.Fatal(err)
	}
	if b.Callback().Port() != fmt.Sprint(port) {
		t.Fatalf("callback on %s, want %d", b.Callback().Port(), port)
	}
}
