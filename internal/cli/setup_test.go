package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"
)

const testSetupKey = "kb-setup-test-key-0123456789"

func setupTarget(t *testing.T) Target {
	dir := t.TempDir()
	return Target{Listen: "127.0.0.1:8999", Key: testSetupKey, ClaudeDir: filepath.Join(dir, ".claude"), CodexDir: filepath.Join(dir, ".codex")}
}

// setup runs `kirobar setup ARGS` with stdin as the terminal's input when
// interactive.
func setup(t *testing.T, tg Target, stdin string, interactive bool, args ...string) (int, string, string) {
	t.Helper()
	var out, errw bytes.Buffer
	env := Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errw, Interactive: interactive,
		Now: func() time.Time { return time.Date(2026, 1, 2, 15, 4, 5, 0, time.Local) }}
	code := Setup(args, tg, env)
	return code, out.String(), errw.String()
}

func TestSetupPrintsLines(t *testing.T) {
	tg := setupTarget(t)
	tg.Listen = "0.0.0.0:8999" // a wildcard listen is reached on loopback
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"claude"}, []string{"export ANTHROPIC_BASE_URL=http://127.0.0.1:8999\n", "export ANTHROPIC_API_KEY=" + testSetupKey + "\n"}},
		{[]string{"claude", "--shell", "powershell"}, []string{`$env:ANTHROPIC_BASE_URL = "http://127.0.0.1:8999"`}},
		{[]string{"codex"}, []string{"[model_providers.kirobar]\n", `base_url = "http://127.0.0.1:8999/v1"`, `env_key = "KIROBAR_KEY"`, "export KIROBAR_KEY=" + testSetupKey}},
		{[]string{"env", "--shell", "fish"}, []string{"set -gx OPENAI_BASE_URL http://127.0.0.1:8999/v1\n", "set -gx OPENAI_API_KEY " + testSetupKey}},
	} {
		code, out, errw := setup(t, tg, "", false, tc.args...)
		if code != ExitOK {
			t.Fatalf("%v: exit %d %s", tc.args, code, errw)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v lacks %q:\n%s", tc.args, w, out)
			}
		}
	}
	for _, args := range [][]string{nil, {"vim"}, {"env", "--write"}, {"claude", "--shell", "tcsh"}, {"claude", "extra"}} {
		if code, _, _ := setup(t, tg, "", false, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
	}
	tg.Key = ""
	if code, _, errw := setup(t, tg, "", false, "claude"); code != ExitFailure || !strings.Contains(errw, "api_keys") {
		t.Errorf("no key: exit %d %s", code, errw)
	}
}

func TestSetupWritesClaudeSettings(t *testing.T) {
	tg := setupTarget(t)
	path := filepath.Join(tg.ClaudeDir, "settings.json")
	// A fresh machine: the file and its directory are made.
	code, out, errw := setup(t, tg, "", false, "claude", "--write")
	if code != ExitOK || !strings.Contains(out, "will create") {
		t.Fatalf("exit %d\n%s%s", code, out, errw)
	}
	var got struct{ Env map[string]string }
	readJSON(t, path, &got)
	if got.Env["ANTHROPIC_BASE_URL"] != "http://127.0.0.1:8999" || got.Env["ANTHROPIC_AUTH_TOKEN"] != testSetupKey || len(got.Env) != 2 {
		t.Fatalf("env = %v", got.Env)
	}
	if strings.Contains(out, testSetupKey) {
		t.Error("the change shown prints the whole key")
	}

	// Settings of the user's own: kept, in order, and so are the other
	// variables; the key replaces an ANTHROPIC_API_KEY already there.
	own := `{
  "model": "opus",
  "permissions": {"allow": ["Bash(ls:*)"], "deny": []},
  "env": {"DISABLE_TELEMETRY": "1", "ANTHROPIC_API_KEY": "sk-old", "ANTHROPIC_BASE_URL": "https://api.example"},
  "statusLine": {"type": "command", "command": "echo hi"}
}
`
	if err := os.WriteFile(path, []byte(own), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errw = setup(t, tg, "", false, "claude", "--write")
	if code != ExitOK || !strings.Contains(out, "env.ANTHROPIC_API_KEY") || !strings.Contains(out, "kirobar-backup-20260102-150405") {
		t.Fatalf("exit %d\n%s%s", code, out, errw)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]any
	if err := json.Unmarshal(data, &all); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	env := all["env"].(map[string]any)
	if env["DISABLE_TELEMETRY"] != "1" || env["ANTHROPIC_API_KEY"] != testSetupKey || env["ANTHROPIC_BASE_URL"] != "http://127.0.0.1:8999" {
		t.Fatalf("env = %v", env)
	}
	if _, ok := env["ANTHROPIC_AUTH_TOKEN"]; ok {
		t.Fatal("both ANTHROPIC_API_KEY and ANTHROPIC_AUTH_TOKEN set")
	}
	if all["model"] != "opus" || all["statusLine"].(map[string]any)["command"] != "echo hi" ||
		all["permissions"].(map[string]any)["allow"].([]any)[0] != "Bash(ls:*)" {
		t.Fatalf("other settings changed:\n%s", data)
	}
	order := []string{`"model"`, `"permissions"`, `"env"`, `"statusLine"`, `"DISABLE_TELEMETRY"`, `"ANTHROPIC_API_KEY"`}
	for i := 1; i < len(order); i++ {
		if i != 4 && strings.Index(string(data), order[i-1]) > strings.Index(string(data), order[i]) {
			t.Fatalf("keys reordered:\n%s", data)
		}
	}
	backup, err := os.ReadFile(path + ".kirobar-backup-20260102-150405")
	if err != nil || string(backup) != own {
		t.Fatalf("backup %q %v", backup, err)
	}
	assertPrivate(t, path, path+".kirobar-backup-20260102-150405")
	assertNoTempFiles(t, tg.ClaudeDir)

	// Once set, nothing changes and no backup is made.
	code, out, _ = setup(t, tg, "", false, "claude", "--write")
	if code != ExitOK || !strings.Contains(out, "already points at kirobar") {
		t.Fatalf("second write: %d %s", code, out)
	}
	if m, _ := filepath.Glob(path + ".kirobar-backup-*"); len(m) != 1 {
		t.Fatalf("backups %v", m)
	}

	// A file kirobar cannot read is left alone.
	for _, bad := range []string{`{"env": "x"}`, `{"model": "opus",}`, `[1]`} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if code, _, errw := setup(t, tg, "", false, "claude", "--write"); code != ExitFailure || !strings.Contains(errw, "nothing was written") {
			t.Errorf("%s: exit %d %s", bad, code, errw)
		}
		if b, _ := os.ReadFile(path); string(b) != bad {
			t.Errorf("%s was changed to %s", bad, b)
		}
	}
}

func TestSetupAsksAtTheTerminal(t *testing.T) {
	tg := setupTarget(t)
	path := filepath.Join(tg.ClaudeDir, "settings.json")
	code, out, _ := setup(t, tg, "n\n", true, "claude", "--write")
	if code != ExitOK || !strings.Contains(out, "Write it? [y/N]") || !strings.Contains(out, "Left unchanged") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("written after a no: %v", err)
	}
	if code, out, _ := setup(t, tg, "", true, "claude", "--write"); code != ExitFailure || strings.Contains(out, "Wrote") {
		t.Fatalf("input ended before an answer: exit %d\n%s", code, out)
	}
	if code, out, _ := setup(t, tg, "y\n", true, "claude", "--write"); code != ExitOK || !strings.Contains(out, "Wrote") {
		t.Fatalf("yes: exit %d\n%s", code, out)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := setup(t, tg, "", true, "claude", "--write", "--yes"); code != ExitOK || strings.Contains(out, "Write it?") {
		t.Fatalf("--yes: exit %d\n%s", code, out)
	}
}

func TestSetupWritesCodexConfig(t *testing.T) {
	own := `# my codex settings
model = "gpt-5"
approval_policy = "on-request"

[model_providers.other]
name = "other"
base_url = "https://llm.example/v1"
env_key = "OTHER_KEY"

# profiles below
[profiles.fast]
model = "gpt-5-mini"
`
	for _, tc := range []struct {
		name, before string
		want         []string // substrings of the result
		unchanged    []string // lines kept as they were
		note         string
	}{
		{"fresh", "", []string{"model_provider = \"kirobar\"\n\n[model_providers.kirobar]\n"}, nil, ""},
		{"own settings", own, []string{"approval_policy = \"on-request\"\nmodel_provider = \"kirobar\"\n\n[model_providers.other]",
			"model = \"gpt-5-mini\"\n\n[model_providers.kirobar]\nname = \"kirobar\"\nbase_url = \"http://127.0.0.1:8999/v1\""},
			strings.Split(strings.TrimSpace(own), "\n"), ""},
		{"old kirobar block", "model_provider = \"openai\"\n\n[model_providers.kirobar]\nname = \"kirobar\"\nbase_url = \"http://127.0.0.1:1234/v1\"\nenv_key = \"KIROBAR_KEY\"\nwire_api = \"responses\"\n\n# next\n[profiles.x]\nmodel = \"o3\"\n",
			[]string{"model_provider = \"openai\"\n\n[model_providers.kirobar]\nname = \"kirobar\"\nbase_url = \"http://127.0.0.1:8999/v1\"\nenv_key = \"KIROBAR_KEY\"\nwire_api = \"responses\"\n\n# next\n[profiles.x]\n"},
			nil, "model_provider stays \"openai\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := setupTarget(t)
			path := filepath.Join(tg.CodexDir, "config.toml")
			if tc.before != "" {
				if err := os.MkdirAll(tg.CodexDir, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(tc.before), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			code, out, errw := setup(t, tg, "", false, "codex", "--write")
			if code != ExitOK || !strings.Contains(out, tc.note) || !strings.Contains(out, "export KIROBAR_KEY="+testSetupKey) {
				t.Fatalf("exit %d\n%s%s", code, out, errw)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range append(tc.want, tc.unchanged...) {
				if !strings.Contains(string(data), w) {
					t.Errorf("config lacks %q:\n%s", w, data)
				}
			}
			if strings.Contains(string(data), testSetupKey) {
				t.Error("the key was written into Codex's config")
			}
			var cfg map[string]any
			if err := toml.Unmarshal(data, &cfg); err != nil {
				t.Fatalf("%v\n%s", err, data)
			}
			// Codex's own default model works through kirobar: the model
			// stays whatever the file said, nothing where it said nothing.
			var orig map[string]any
			if err := toml.Unmarshal([]byte(tc.before), &orig); err != nil {
				t.Fatal(err)
			}
			if cfg["model"] != orig["model"] {
				t.Errorf("model = %v, was %v", cfg["model"], orig["model"])
			}
			if st, _ := os.Stat(path); tc.before != "" && st.Mode().Perm() != 0o644 {
				t.Errorf("mode %v, want the file's own 0644", st.Mode().Perm())
			}
			if code, out, _ := setup(t, tg, "", false, "codex", "--write"); code != ExitOK || !strings.Contains(out, "already points") {
				t.Errorf("second write: %d %s", code, out)
			}
			assertNoTempFiles(t, tg.CodexDir)
		})
	}

	// A kirobar provider kirobar cannot edit in place is left alone.
	tg := setupTarget(t)
	path := filepath.Join(tg.CodexDir, "config.toml")
	inline := "[model_providers]\nkirobar = { name = \"kirobar\", base_url = \"http://x/v1\" }\n"
	for _, bad := range []string{inline, "model = \n"} {
		if err := os.MkdirAll(tg.CodexDir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if code, _, errw := setup(t, tg, "", false, "codex", "--write"); code != ExitFailure || !strings.Contains(errw, "nothing was written") {
			t.Errorf("%q: exit %d %s", bad, code, errw)
		}
		if b, _ := os.ReadFile(path); string(b) != bad {
			t.Errorf("%q changed to %q", bad, b)
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, b)
	}
}

func assertPrivate(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p, st.Mode().Perm())
		}
	}
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}
