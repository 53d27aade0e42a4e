package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/internal/instance"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
	"github.com/kirobar/kirobar/kiro"
)

// healthy is an Env for a working setup: a private home with a config, a
// free port, one ready account, and Kiro hosts served by a fake on
// loopback.
func healthy(t *testing.T) Env {
	t.Helper()
	fake, err := kirofake.Start(kirofake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	home := filepath.Join(t.TempDir(), "kirobar")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(home, "config.toml")
	if err := os.WriteFile(cfgPath, []byte("[kiro]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	kc := kiro.DefaultConfig()
	kc.APIURL, kc.IDEURL, kc.AuthURL, kc.OIDCURL = fake.URL, fake.URL, fake.URL, fake.URL
	return Env{
		Home: home, ConfigPath: cfgPath, ConfigExists: true, Changed: []string{"kiro.api_url"},
		Kiro: kc, ListenAddr: "127.0.0.1:0",
		Accounts: []accounts.View{{ID: "a1", Label: "me@example.com", AuthMethod: accounts.AuthSocial,
			Status: accounts.StatusReady, Enabled: true, ExpiresAt: time.Now().Add(time.Hour)}},
		ReadInstance: func(string) (instance.Info, error) { return instance.Info{}, os.ErrNotExist },
		SkipSelfTest: true,
	}
}

// find returns the first check whose name starts with prefix.
func find(t *testing.T, rep Report, prefix string) Result {
	t.Helper()
	for _, c := range rep.Checks {
		if strings.HasPrefix(c.Name, prefix) {
			return c
		}
	}
	t.Fatalf("no check %q in %+v", prefix, rep.Checks)
	return Result{}
}

func TestHealthySetupPasses(t *testing.T) {
	env := healthy(t)
	env.SkipSelfTest = false
	rep := Run(context.Background(), env)
	for _, c := range rep.Checks {
		if c.Verdict != OK {
			t.Errorf("%s: %s %s (fix: %s)", c.Name, c.Verdict, c.Detail, c.Fix)
		}
	}
	if !rep.OK {
		t.Fatal("report not ok")
	}
	for _, name := range []string{"config", "home", "permissions", "port", "accounts", "account a1", "reach 127.0.0.1", "clock",
		"self-test Claude Code", "self-test Codex CLI", "self-test chat completion"} {
		find(t, rep, name)
	}
	if c := find(t, rep, "config"); !strings.Contains(c.Detail, "kiro.api_url") {
		t.Errorf("config check does not name the changed key: %s", c.Detail)
	}
	var text, js bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "no problems found") {
		t.Errorf("text report:\n%s", text.String())
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || !back.OK || len(back.Checks) != len(rep.Checks) {
		t.Errorf("JSON report does not round-trip: %v\n%s", err, js.String())
	}
}

func TestProblemsAreReported(t *testing.T) {
	closedPort := func(t *testing.T) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}
	cases := []struct {
		name    string
		unix    bool // permission bits are a Unix matter
		setup   func(t *testing.T, e *Env)
		check   string
		verdict Verdict
		detail  string
		fix     string
	}{
		{"broken proxy", false, func(t *testing.T, e *Env) { e.Kiro.Proxy = "http://" + closedPort(t) },
			"reach ", Fail, "proxy", "[kiro] proxy"},
		{"config readable by others", true, func(t *testing.T, e *Env) {
			if err := os.Chmod(e.ConfigPath, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "permissions", Fail, "config.toml is 0644", "chmod 600"},
		{"home readable by others", true, func(t *testing.T, e *Env) {
			if err := os.Chmod(e.Home, 0o755); err != nil {
				t.Fatal(err)
			}
		}, "permissions", Fail, "0755", "chmod 700"},
		{"clock far ahead", false, func(t *testing.T, e *Env) { e.Now = func() time.Time { return time.Now().Add(10 * time.Minute) } },
			"clock", Fail, "ahead of", "NTP"},
		{"clock behind", false, func(t *testing.T, e *Env) { e.Now = func() time.Time { return time.Now().Add(-2 * time.Minute) } },
			"clock", Warn, "behind", "NTP"},
		{"config does not parse", false, func(t *testing.T, e *Env) {
			e.ConfigErr = errors.New("config.toml:3:1: unknown key \"kiro.prxy\"")
		}, "config", Fail, "kiro.prxy", "config.toml.example"},
		{"DNS fails without a proxy", false, func(t *testing.T, e *Env) {
			e.Kiro.APIURL = "https://runtime.{region}.kiro.dev"
			e.LookupHost = func(context.Context, string) ([]string, error) {
				return nil, &net.DNSError{Err: "no such host", Name: "runtime.us-east-1.kiro.dev", IsNotFound: true}
			}
		}, "reach runtime.us-east-1.kiro.dev", Fail, "DNS", "proxy"},
		{"no accounts", false, func(t *testing.T, e *Env) { e.Accounts = nil }, "accounts", Fail, "no Kiro account", "kirobar accounts login --builder-id"},
		{"account needs login", false, func(t *testing.T, e *Env) {
			e.Accounts[0].Status, e.Accounts[0].Provider, e.Accounts[0].LastError = accounts.StatusNeedsLogin, "Google", "refresh token rejected"
		}, "account a1", Fail, "refresh token rejected", "kirobar accounts login --google --relogin a1"},
		{"identity center account needs login", false, func(t *testing.T, e *Env) {
			a := &e.Accounts[0]
			a.Status, a.AuthMethod, a.Provider, a.StartURL, a.Region = accounts.StatusNeedsLogin, accounts.AuthIdC, "Enterprise", "https://acme.awsapps.com/start", "eu-west-1"
		}, "account a1", Fail, "needs a new login", "kirobar accounts login --idc --start-url https://acme.awsapps.com/start --region eu-west-1 --relogin a1"},
		{"social account without a provider needs login", false, func(t *testing.T, e *Env) {
			e.Accounts[0].Status = accounts.StatusNeedsLogin
		}, "account a1", Fail, "needs a new login", "kirobar accounts login --google|--github --relogin a1"},
		{"account served in eu-central-1", false, func(t *testing.T, e *Env) {
			a := &e.Accounts[0]
			a.Kind, a.Region, a.APIRegion, a.APIStyle, a.ProfileARN = "idc", "ap-southeast-2", "eu-central-1", "runtime", "arn:aws:codewhisperer:eu-central-1:104748392733:profile/EUPROFILE123"
		}, "account a1", OK, "served on runtime in eu-central-1, profile arn:aws:codewhisperer:eu-central-1:104748392733:profile/EUPROFILE123, signs in in ap-southeast-2", ""},
		{"account in overage", false, func(t *testing.T, e *Env) {
			a := &e.Accounts[0]
			a.Status, a.OverageEnabled, a.Overages, a.OverageCap, a.APIRegion, a.APIStyle = accounts.StatusOverage, true, 12.5, 100, "us-east-1", "runtime"
		}, "account a1", OK, "served as overage (12.5 used past the limit of 100)", ""},
		{"account in a region without Kiro", false, func(t *testing.T, e *Env) {
			other := e.Accounts[0]
			other.ID = "a2"
			e.Accounts[0].APIRegion, e.Accounts[0].APIStyle = "ap-southeast-2", "runtime"
			e.Accounts = append(e.Accounts, other) // another one serves, so the pool is not down
		}, "account a1", Warn, "does not exist in ap-southeast-2", "kirobar accounts check a1"},
		{"port held by another program", false, func(t *testing.T, e *Env) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			e.ListenAddr = ln.Addr().String()
		}, "port", Fail, "cannot listen", "[server] listen"},
		{"port held by kirobar", false, func(t *testing.T, e *Env) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			e.ListenAddr = ln.Addr().String()
			e.ReadInstance = func(string) (instance.Info, error) {
				return instance.Info{PID: 42, Addr: ln.Addr().String(), Started: time.Now()}, nil
			}
		}, "port", OK, "kirobar itself (pid 42", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.unix && runtime.GOOS == "windows" {
				t.Skip("no Unix permission bits on Windows")
			}
			env := healthy(t)
			tc.setup(t, &env)
			rep := Run(context.Background(), env)
			c := find(t, rep, tc.check)
			if c.Verdict != tc.verdict || !strings.Contains(c.Detail, tc.detail) || !strings.Contains(c.Fix, tc.fix) {
				t.Errorf("%s = %s %q (fix %q), want %s with %q and fix %q", c.Name, c.Verdict, c.Detail, c.Fix, tc.verdict, tc.detail, tc.fix)
			}
			if rep.OK != (tc.verdict != Fail) {
				t.Errorf("report ok = %v with a %s check", rep.OK, tc.verdict)
			}
		})
	}
}

func TestSelfTestStyles(t *testing.T) {
	for _, style := range []string{kiro.StyleRuntime, kiro.StyleIDE} {
		t.Run(style, func(t *testing.T) {
			rs := SelfTest(context.Background(), style)
			if len(rs) != len(clientShapes) {
				t.Fatalf("results %+v", rs)
			}
			for _, r := range rs {
				if r.Verdict != OK {
					t.Errorf("%s: %s %s", r.Name, r.Verdict, r.Detail)
				}
			}
		})
	}
}
