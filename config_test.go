package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestExampleIsDefaults keeps config.toml.example honest: it parses, and
// what it says equals the defaults the code uses.
func TestExampleIsDefaults(t *testing.T) {
	got, err := parseConfig("config.toml.example", exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	want := defaultConfig()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("example differs from defaults:\n got %+v\nwant %+v", got, want)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, toml, want string
	}{
		{"unknown key", "[server]\nlisten = \"127.0.0.1:1\"\nlisen = \"x\"\n", "cfg.toml:3:1: unknown key \"server.lisen\""},
		{"unknown section", "[serverr]\n", "unknown key \"serverr\""},
		{"wrong type", "[server]\nmax_body_mb = \"big\"\n", "cfg.toml:2:"},
		{"bad duration", "[server]\nping_interval = \"soon\"\n", "use a number with a unit"},
		{"exposed without key", "[server]\nlisten = \"0.0.0.0:8999\"\n", "configure at least one key"},
		{"bad style", "[kiro]\napi_style = \"grpc\"\n", "api_style"},
		{"bad level", "[log]\nlevel = \"loud\"\n", "log.level"},
		{"bad toml", "[server\n", "cfg.toml:1:"},
		{"store not postgres", "[store]\nurl = \"mysql://u:pw@db/k\"\n", "store.url: the scheme \"mysql\""},
		{"store without database", "[store]\nurl = \"postgres://u:pw@db\"\n", "store.url names no database"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConfig("cfg.toml", []byte(tc.toml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestFirstStartWritesConfigWithKey(t *testing.T) {
	home := t.TempDir()
	cfg, path, err := loadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Server.APIKeys) != 1 || !strings.HasPrefix(cfg.Server.APIKeys[0], "kb-") || len(cfg.Server.APIKeys[0]) != 51 {
		t.Fatalf("generated keys = %q", cfg.Server.APIKeys)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("config mode: %v %v", st.Mode().Perm(), err)
	}
	again, _, err := loadConfig(home)
	if err != nil || again.Server.APIKeys[0] != cfg.Server.APIKeys[0] {
		t.Fatalf("second load changed the key: %v %v", again.Server.APIKeys, err)
	}
	if filepath.Dir(path) != home {
		t.Fatalf("config at %s", path)
	}
}

// TestDatabaseURLFromEnv: $KIROBAR_DATABASE_URL overrides [store] url,
// and a bad one is an error that does not repeat it.
func TestDatabaseURLFromEnv(t *testing.T) {
	home := t.TempDir()
	if _, _, err := loadConfig(home); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KIROBAR_DATABASE_URL", "postgres://team:pw@db.internal:5432/kirobar")
	cfg, _, err := loadConfig(home)
	if err != nil || cfg.Store.URL != "postgres://team:pw@db.internal:5432/kirobar" {
		t.Fatalf("store = %+v, %v", cfg.Store, err)
	}
	t.Setenv("KIROBAR_DATABASE_URL", "redis://team:pw-secret@db.internal/0")
	if _, _, err := loadConfig(home); err == nil || !strings.Contains(err.Error(), "KIROBAR_DATABASE_URL") || strings.Contains(err.Error(), "pw-secret") {
		t.Fatalf("bad env URL: %v", err)
	}
}

func TestResolveHome(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "h")
	t.Setenv("KIROBAR_HOME", dir)
	got, err := resolveHome("")
	if err != nil || got != dir {
		t.Fatalf("got %q %v", got, err)
	}
	st, _ := os.Stat(dir)
	if st.Mode().Perm() != 0o700 {
		t.Fatalf("home mode %v", st.Mode().Perm())
	}
	flagDir := filepath.Join(t.TempDir(), "f")
	if got, _ := resolveHome(flagDir); got != flagDir {
		t.Fatalf("--home ignored: %q", got)
	}
}
