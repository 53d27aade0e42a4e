//go:build !windows && !darwin

package autostart

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestXDGEnableDisable(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config home")
	t.Setenv("XDG_CONFIG_HOME", cfg)
	e := Entry{ID: "kirobar", Name: "kirobar", Exec: "/home/ann/My Tools/kirobar", Args: []string{"--hidden"}}
	path := filepath.Join(cfg, "autostart", "kirobar.desktop")
	if got, err := Path(e); err != nil || got != path {
		t.Fatalf("Path = %q, %v; want %q", got, err, path)
	}

	steps := []struct {
		name string
		do   func() error
		want bool
	}{
		{"initially off", nil, false},
		{"disable when off", func() error { return Disable(e) }, false},
		{"enable", func() error { return Enable(e) }, true},
		{"enable again", func() error { return Set(e, true) }, true},
		{"hidden by the desktop settings", func() error {
			return os.WriteFile(path, []byte(desktopFile(e)+"Hidden=true\n"), 0o644)
		}, false},
		{"enable over hidden", func() error { return Enable(e) }, true},
		{"disable", func() error { return Set(e, false) }, false},
	}
	for _, st := range steps {
		if st.do != nil {
			if err := st.do(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
		}
		got, err := Enabled(e)
		if err != nil {
			t.Fatalf("%s: Enabled: %v", st.name, err)
		}
		if got != st.want {
			t.Fatalf("%s: Enabled = %v, want %v", st.name, got, st.want)
		}
		if st.name == "enable" {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var execLine string
			for _, l := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(l, "Exec="); ok {
					execLine = v
				}
			}
			if execLine != `"/home/ann/My Tools/kirobar" --hidden` {
				t.Errorf("Exec=%s", execLine)
			}
			args, err := parseDesktopExec(execLine)
			if err != nil || !slices.Equal(args, []string{e.Exec, "--hidden"}) {
				t.Errorf("Exec parses to %q, %v", args, err)
			}
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("file after Disable: %v", err)
	}
}

func TestXDGDefaultsToDotConfig(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", "")
	got, err := Path(Entry{ID: "kirobar", Exec: "/k"})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(home, ".config", "autostart", "kirobar.desktop"); got != want {
		t.Errorf("Path = %q, want %q", got, want)
	}
}

func TestEntryValidation(t *testing.T) {
	for _, e := range []Entry{{Exec: "/k"}, {ID: "a/b", Exec: "/k"}, {ID: "kirobar"}} {
		if err := Enable(e); err == nil {
			t.Errorf("Enable(%+v) succeeded, want an error", e)
		}
	}
}
