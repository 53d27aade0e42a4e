package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kirobar/kirobar/internal/testkit/kirofake"
)

// readmeCurls returns the curl commands of the README's sh blocks, with
// their continuation lines joined.
func readmeCurls(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(data), -1)
	var cmds []string
	for _, b := range blocks {
		text := strings.ReplaceAll(b[1], "\\\n", " ")
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "curl ") {
				cmds = append(cmds, strings.TrimSpace(line))
			}
		}
	}
	return cmds
}

// TestReadmeCurlExamples runs every curl example in the README against a
// real kirobar, so the README's promise "they work as written" holds.
func TestReadmeCurlExamples(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("curl is not installed: run .ci/setup")
		}
		t.Skip("curl is not installed")
	}
	cmds := readmeCurls(t)
	if len(cmds) < 6 {
		t.Fatalf("found %d curl examples in README.md, want one per endpoint", len(cmds))
	}
	fake, err := kirofake.Start(kirofake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	refresh := "aorAAAAA" + strings.Repeat("q", 120)
	fake.AddAccount(kirofake.Account{ID: "a", AuthMethod: kirofake.AuthSocial, RefreshToken: refresh})
	home := filepath.Join(t.TempDir(), "home")
	addr := freePort(t)
	key := "kb-readme-key-0123456789abcdef"
	writeConfig(t, home, addr, key, fake.URL)
	if out, code := kirobar(t, home, "accounts", "add", "--refresh-token", refresh); code != 0 {
		t.Fatalf("accounts add: %s", out)
	}
	startServe(t, home)
	waitHealthy(t, "http://"+addr)

	for _, cmd := range cmds {
		run := strings.ReplaceAll(cmd, "127.0.0.1:8999", addr)
		c := exec.Command("bash", "-c", run+" --fail-with-body --max-time 20")
		c.Env = append(os.Environ(), "KIROBAR_KEY="+key)
		out, err := c.CombinedOutput()
		if err != nil {
			t.Errorf("%s\nfailed: %v\n%s", cmd, err, out)
			continue
		}
		s := string(out)
		if strings.Contains(s, `"error":{`) || strings.TrimSpace(s) == "" {
			t.Errorf("%s\nanswered:\n%s", cmd, s)
		}
	}
}

// TestReadmeTeamExample: the Team gateway section's config files are valid
// kirobar configs for instances of one team, and its proxy sends to the
// addresses they listen on.
func TestReadmeTeamExample(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start := strings.Index(text, "\n## Team gateway\n")
	if start < 0 {
		t.Fatal("README.md has no Team gateway section")
	}
	section := text[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	blocks := regexp.MustCompile("(?s)```toml\n(.*?)```").FindAllStringSubmatch(section, -1)
	if len(blocks) < 2 {
		t.Fatalf("found %d config files in the Team gateway section, want two instances", len(blocks))
	}
	names := map[string]bool{}
	for i, b := range blocks {
		cfg, err := parseConfig(fmt.Sprintf("README.md team config %d", i+1), []byte(b[1]))
		if err != nil {
			t.Fatal(err)
		}
		if !cfg.Store.Shared() || cfg.Store.Instance == "" || names[cfg.Store.Instance] {
			t.Fatalf("config %d: store %+v is not one more instance of a team", i+1, cfg.Store)
		}
		names[cfg.Store.Instance] = true
		if !strings.Contains(section, "reverse_proxy") || !strings.Contains(section, " "+cfg.Server.Listen) {
			t.Errorf("the proxy does not send to %s", cfg.Server.Listen)
		}
		if len(cfg.Server.TrustedProxies) == 0 || len(cfg.Server.AllowedHosts) == 0 {
			t.Errorf("config %d does not trust the proxy or allow the name it passes on", i+1)
		}
	}
}
