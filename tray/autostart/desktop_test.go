package autostart

import (
	"slices"
	"strings"
	"testing"
)

func TestDesktopExec(t *testing.T) {
	for _, tc := range []struct {
		name string
		exec string
		args []string
		want string // as written in the file
	}{
		{"plain", "/usr/bin/kirobar", []string{"--hidden"}, `/usr/bin/kirobar --hidden`},
		{"space", "/home/ann/My Apps/kirobar", []string{"--hidden"}, `"/home/ann/My Apps/kirobar" --hidden`},
		{"dollar and backtick", "/opt/$x/`y`/kirobar", nil, `"/opt/\\$x/\\` + "`" + `y\\` + "`" + `/kirobar"`},
		{"quote", `/opt/a"b/kirobar`, nil, `"/opt/a\\"b/kirobar"`},
		{"backslash", `/opt/a\b/kirobar`, nil, `"/opt/a\\\\b/kirobar"`},
		{"percent", "/opt/100%/kirobar", nil, `/opt/100%%/kirobar`},
		{"percent quoted", "/opt/100% sure/kirobar", nil, `"/opt/100%% sure/kirobar"`},
		{"empty arg", "/k", []string{""}, `/k ""`},
		{"newline", "/opt/a\nb/kirobar", nil, `"/opt/a\nb/kirobar"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := desktopExec(tc.exec, tc.args)
			if got != tc.want {
				t.Errorf("desktopExec = %s, want %s", got, tc.want)
			}
			back, err := parseDesktopExec(got)
			if err != nil {
				t.Fatalf("parse %s: %v", got, err)
			}
			if want := append([]string{tc.exec}, tc.args...); !slices.Equal(back, want) {
				t.Errorf("parsed back %q, want %q", back, want)
			}
		})
	}
}

func TestParseDesktopExecRejects(t *testing.T) {
	for _, v := range []string{`kirobar %U`, `"unterminated`, `a\`, `a$b`, `"a\qb"`, `a\q`} {
		if args, err := parseDesktopExec(v); err == nil {
			t.Errorf("parseDesktopExec(%s) = %q, want an error", v, args)
		}
	}
}

func TestDesktopActive(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string
		want    bool
	}{
		{"ours", desktopFile(Entry{ID: "kirobar", Exec: "/k"}), true},
		{"hidden", "[Desktop Entry]\nExec=/k\nHidden=true\n", false},
		{"gnome off", "[Desktop Entry]\nExec=/k\nX-GNOME-Autostart-enabled = false\n", false},
		{"hidden in another group", "[Desktop Entry]\nExec=/k\n[Desktop Action x]\nHidden=true\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := desktopActive(tc.content); got != tc.want {
				t.Errorf("desktopActive = %v, want %v", got, tc.want)
			}
		})
	}
}

// FuzzDesktopExec checks that any executable path and arguments survive the
// trip through the .desktop quoting and escaping.
func FuzzDesktopExec(f *testing.F) {
	f.Add("/usr/bin/kirobar", "--hidden")
	f.Add("/home/a b/$c`d\"e\\f%g", "x y")
	f.Add("C:\\x", "")
	f.Fuzz(func(t *testing.T, exec, arg string) {
		if exec == "" || strings.ContainsRune(exec+arg, 0) {
			t.Skip()
		}
		v := desktopExec(exec, []string{arg})
		if strings.ContainsAny(v, "\n\r") {
			t.Fatalf("Exec value %q spans lines", v)
		}
		back, err := parseDesktopExec(v)
		if err != nil {
			t.Fatalf("parse %q: %v", v, err)
		}
		if want := []string{exec, arg}; !slices.Equal(back, want) {
			t.Fatalf("round trip of %q gave %q", want, back)
		}
	})
}
