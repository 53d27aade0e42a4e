package main

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kirobar/kirobar/internal/testkit/kirofake"
)

// kirobarEnv runs the binary with extra environment, and HOME in a temp
// directory so no real Kiro IDE login or browser is touched.
func kirobarEnv(t *testing.T, home string, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(kirobarBin, append([]string{"--home", home}, args...)...)
	cmd.Env = append(os.Environ(), append([]string{"KIROBAR_HOME=", "HOME=" + t.TempDir(), "BROWSER=true"}, env...)...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

// TestDoctorAndLogin follows a new user: doctor says how to add an
// account, `accounts login --builder-id` adds one through the device
// flow, and doctor then passes.
func TestDoctorAndLogin(t *testing.T) {
	fake, err := kirofake.Start(kirofake.Options{DeviceInterval: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	home := filepath.Join(t.TempDir(), "home")
	writeConfig(t, home, freePort(t), "kb-doctor-key-0123456789abcdef", fake.URL)

	out, code := kirobarEnv(t, home, nil, "doctor")
	if code != exitFailure || !strings.Contains(out, "FAIL  accounts") || !strings.Contains(out, "kirobar accounts login --builder-id") {
		t.Fatalf("doctor without accounts: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "differs from the defaults: kiro.api_url, kiro.auth_url, kiro.ide_url, kiro.oidc_url") {
		t.Errorf("doctor does not list the changed keys:\n%s", out)
	}

	out, code = kirobarEnv(t, home, nil, "accounts", "login", "--builder-id")
	if code != 0 || !strings.Contains(out, "enter the code") || !strings.Contains(out, "added ") {
		t.Fatalf("accounts login: exit %d\n%s", code, out)
	}
	a := fake.Account("device-1")
	for _, secret := range []string{a.RefreshToken, a.AccessToken, a.ClientSecret} {
		if secret != "" && strings.Contains(out, secret) {
			t.Fatal("accounts login printed a secret")
		}
	}

	out, code = kirobarEnv(t, home, nil, "doctor", "--json")
	var rep struct {
		OK     bool `json:"ok"`
		Checks []struct{ Name, Verdict, Detail, Fix string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("doctor --json: %v\n%s", err, out)
	}
	if code != 0 || !rep.OK {
		t.Fatalf("doctor after login: exit %d\n%s", code, out)
	}
	var names []string
	for _, c := range rep.Checks {
		names = append(names, c.Name)
	}
	for _, want := range []string{"accounts", "clock", "self-test Claude Code"} {
		if !slices.Contains(names, want) {
			t.Errorf("no %q check in %v", want, names)
		}
	}
}

// TestFirstRunSaysHowToAddAnAccount starts kirobar with no account and no
// Kiro IDE login: it keeps running, and the log, /health and API errors
// name the commands that add one.
func TestFirstRunSaysHowToAddAnAccount(t *testing.T) {
	fake, err := kirofake.Start(kirofake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	home := filepath.Join(t.TempDir(), "home")
	addr := freePort(t)
	key := "kb-first-run-key-0123456789abcdef"
	writeConfig(t, home, addr, key, fake.URL)

	serve := startServe(t, home)
	url := "http://" + addr
	const want = "kirobar accounts login --builder-id"
	var health string
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && !strings.Contains(health, want) {
		if resp, err := http.Get(url + "/health"); err == nil {
			health = readBody(t, resp)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(health, `"no_accounts"`) || !strings.Contains(health, want) {
		t.Fatalf("/health = %s", health)
	}
	for _, c := range []struct{ path, body string }{
		{"/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`},
		{"/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`},
	} {
		req, _ := http.NewRequest(http.MethodPost, url+c.path, strings.NewReader(c.body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, want) || !strings.Contains(body, "kirobar accounts import") {
			t.Errorf("%s: %d %s", c.path, resp.StatusCode, body)
		}
	}
	if !strings.Contains(serve.logs.String(), want) {
		t.Errorf("the log does not say how to add an account:\n%s", serve.logs.String())
	}
}

func TestChangedKeys(t *testing.T) {
	cur := defaultConfig()
	cur.Server.APIKeys = []string{"kb-x"}
	cur.Kiro.Proxy = "http://proxy:3128"
	cur.Models.Aliases = map[string]string{"x": "claude-sonnet-4.5"}
	got, err := changedKeys(defaultConfig(), cur)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"kiro.proxy", "models.aliases"}
	if !slices.Equal(got, want) {
		t.Errorf("changed = %v, want %v", got, want)
	}
	if got, _ := changedKeys(defaultConfig(), defaultConfig()); len(got) != 0 {
		t.Errorf("defaults differ from themselves: %v", got)
	}
}
