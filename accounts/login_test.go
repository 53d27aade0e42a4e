package accounts

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

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

func (w *loginWorld) ui(device *[]DeviceCode, status *[]string) LoginUI {
	return LoginUI{
		OpenURL: w.m.login.openURL,
		Device:  func(d DeviceCode) { *device = append(*device, d) },
		Status:  func(msg string) { *status = append(*status, msg) },
	}
}

func TestDeviceLogin(t *testing.T) {
	pending, slow, approved := kirofake.DevicePending, kirofake.DeviceSlowDown, kirofake.DeviceApproved
	cases := []struct {
		name       string
		script     []kirofake.DeviceStep
		ttl        time.Duration
		wantErr    error
		wantSleeps []time.Duration
	}{
		{"pending then approved", []kirofake.DeviceStep{pending, pending, approved}, 0, nil,
			[]time.Duration{5 * time.Second, 5 * time.Second, 5 * time.Second}},
		{"slow down adds five seconds", []kirofake.DeviceStep{pending, slow, slow, approved}, 0, nil,
			[]time.Duration{5 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second}},
		{"denied", []kirofake.DeviceStep{pending, kirofake.DeviceDenied}, 0, ErrLoginDenied, nil},
		{"expired by the service", []kirofake.DeviceStep{pending, kirofake.DeviceExpired}, 0, ErrLoginExpired, nil},
		{"code runs out while pending", []kirofake.DeviceStep{pending}, 30 * time.Second, ErrLoginExpired, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newLoginWorld(t, kirofake.Options{DeviceCodeTTL: tc.ttl}, nil)
			w.fake.ScriptDevice(tc.script...)
			var codes []DeviceCode
			var status []string
			v, err := w.m.Login(context.Background(), LoginRequest{Kind: LoginBuilderID}, w.ui(&codes, &status))
			if len(codes) != 1 || codes[0].UserCode == "" || codes[0].VerificationURI == "" {
				t.Fatalf("device code shown: %+v", codes)
			}
			if len(w.opened) != 1 || w.opened[0] != codes[0].VerificationURIComplete {
				t.Errorf("browser opened %v, want %s", w.opened, codes[0].VerificationURIComplete)
			}
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
			if tc.wantSleeps != nil && !equalDurations(w.sleeps, tc.wantSleeps) {
				t.Errorf("waits %v, want %v", w.sleeps, tc.wantSleeps)
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

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDeviceLoginCanceled(t *testing.T) {
	w := newLoginWorld(t, kirofake.Options{}, nil)
	w.fake.ScriptDevice(kirofake.DevicePending)
	ctx, cancel := context.WithCancel(context.Background())
	ui := LoginUI{Device: func(DeviceCode) { cancel() }}
	_, err := w.m.Login(ctx, LoginRequest{Kind: LoginBuilderID}, ui)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestIdCLoginNeedsStartURL(t *testing.T) {
	w := newLoginWorld(t, kirofake.Options{}, nil)
	if _, err := w.m.Login(context.Background(), LoginRequest{Kind: LoginIdC}, LoginUI{}); err == nil || !strings.Contains(err.Error(), "start URL") {
		t.Fatalf("err = %v", err)
	}
	v, err := w.m.Login(context.Background(), LoginRequest{Kind: LoginIdC, StartURL: "https://example.awsapps.com/start", Region: "us-east-1"}, LoginUI{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Provider != "Enterprise" || v.AuthMethod != AuthIdC || v.Region != "us-east-1" {
		t.Errorf("account %+v", v)
	}
}

// testBrowser follows the auth portal's redirect to kirobar's callback the way
// a browser does, and tries the callback the ways an attacker or a
// reloaded tab would.
type testBrowser struct {
	t        *testing.T
	client   *http.Client
	callback *url.URL // where the portal redirected
	statuses []int    // wrong state, right state, replay
}

func newBrowser(t *testing.T) *testBrowser {
	return &testBrowser{t: t, client: &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (b *testBrowser) get(u string) (int, error) {
	resp, err := b.client.Get(u)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

func (b *testBrowser) open(portal string) error {
	resp, err := b.client.Get(portal)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return errors.New("portal answered " + resp.Status)
	}
	b.callback, err = url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return err
	}
	forged := *b.callback
	q := forged.Query()
	q.Set("state", "forged")
	forged.RawQuery = q.Encode()
	for _, u := range []string{forged.String(), b.callback.String(), b.callback.String()} {
		code, err := b.get(u)
		if err != nil {
			return err
		}
		b.statuses = append(b.statuses, code)
	}
	return nil
}

func TestSocialLogin(t *testing.T) {
	for _, kind := range []LoginKind{LoginGoogle, LoginGitHub} {
		t.Run(string(kind), func(t *testing.T) {
			b := newBrowser(t)
			w := newLoginWorld(t, kirofake.Options{}, b.open)
			v, err := w.m.Login(context.Background(), LoginRequest{Kind: kind}, LoginUI{OpenURL: w.m.login.openURL})
			if err != nil {
				t.Fatal(err)
			}
			want := []int{http.StatusBadRequest, http.StatusOK, http.StatusGone}
			if !equalInts(b.statuses, want) {
				t.Errorf("callback answers (wrong state, right state, replay) = %v, want %v", b.statuses, want)
			}
			if b.callback.Path != CallbackPath || b.callback.Hostname() != "localhost" {
				t.Errorf("redirect URI %s", b.callback)
			}
			if v.AuthMethod != AuthSocial || v.ProfileARN != kirofake.DefaultProfileARN || !strings.HasPrefix(v.Email, "social-") {
				t.Errorf("account %+v", v)
			}
			// The listener is gone: a replay cannot even connect.
			if _, err := b.get(b.callback.String()); err == nil {
				t.Error("callback still answers after the sign-in")
			}
			conn, err := net.DialTimeout("tcp", "127.0.0.1:"+b.callback.Port(), time.Second)
			if err == nil {
				conn.Close()
				t.Error("callback port still accepts connections")
			}
			l := acquire(t, w.m, AcquireRequest{Model: "claude-sonnet-4.5"})
			if err := w.send(l); err != nil {
				t.Fatalf("generate with the signed-in account: %v", err)
			}
			w.m.Release(l, Outcome{})
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSocialLoginTimesOutAndCloses(t *testing.T) {
	var redirect string
	w := newLoginWorld(t, kirofake.Options{}, func(portal string) error {
		u, err := url.Parse(portal)
		if err != nil {
			return err
		}
		redirect = u.Query().Get("redirect_uri")
		return nil // the user never signs in
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := w.m.Login(ctx, LoginRequest{Kind: LoginGoogle}, LoginUI{OpenURL: w.m.login.openURL})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline", err)
	}
	u, err := url.Parse(redirect)
	if err != nil || u.Port() == "" {
		t.Fatalf("redirect_uri %q", redirect)
	}
	if conn, err := net.DialTimeout("tcp", "127.0.0.1:"+u.Port(), time.Second); err == nil {
		conn.Close()
		t.Error("callback listener survived the timeout")
	}
}

func TestReloginKeepsAccount(t *testing.T) {
	b := newBrowser(t)
	w := newLoginWorld(t, kirofake.Options{}, b.open)
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
	v, err := w.m.Login(context.Background(), LoginRequest{Kind: LoginGoogle, Relogin: old.ID}, LoginUI{OpenURL: w.m.login.openURL})
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
	if _, err := w.m.Login(context.Background(), LoginRequest{Kind: LoginGoogle, Relogin: "nope"}, LoginUI{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("re-login of an unknown id: %v", err)
	}
}
