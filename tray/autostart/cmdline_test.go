package autostart

import (
	"strings"
	"testing"
)

func TestWindowsCommandLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		exec string
		args []string
		want string
	}{
		{"program files", `C:\Program Files\kirobar\kirobar.exe`, []string{"--hidden"}, `"C:\Program Files\kirobar\kirobar.exe" --hidden`},
		{"no space", `C:\kirobar.exe`, []string{"--hidden"}, `"C:\kirobar.exe" --hidden`},
		{"arg with space", `C:\k.exe`, []string{`a b`}, `"C:\k.exe" "a b"`},
		{"arg with quote", `C:\k.exe`, []string{`a"b`}, `"C:\k.exe" "a\"b"`},
		{"trailing backslash", `C:\k.exe`, []string{`C:\my dir\`}, `"C:\k.exe" "C:\my dir\\"`},
		{"backslash before quote", `C:\k.exe`, []string{`a\"b`}, `"C:\k.exe" "a\\\"b"`},
		{"plain backslashes", `C:\k.exe`, []string{`C:\dir\x`}, `"C:\k.exe" C:\dir\x`},
		{"empty", `C:\k.exe`, []string{""}, `"C:\k.exe" ""`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := windowsCommandLine(tc.exec, tc.args); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestLaunchAgentPlist(t *testing.T) {
	p := launchAgentPlist(Entry{ID: "kirobar", Exec: "/Applications/Kiro Bar & Co.app/Contents/MacOS/kirobar", Args: []string{"--hidden"}})
	for _, want := range []string{
		"<string>app.kirobar</string>",
		"<string>/Applications/Kiro Bar &amp; Co.app/Contents/MacOS/kirobar</string>",
		"<string>--hidden</string>",
		"<key>RunAtLoad</key>\n\t<true/>",
	} {
		if !strings.Contains(p, want) {
			t.Errorf("plist lacks %q:\n%s", want, p)
		}
	}
}
