//go:build !windows

package browser

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// recorder writes a shell script that appends its arguments to a file, and
// returns the script's path and a function reading what it recorded.
func recorder(t *testing.T, name string) (string, func() string) {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "opened")
	script := filepath.Join(dir, name)
	body := "#!/bin/sh\nprintf '%s\\n' \"$*\" >>'" + log + "'\n"
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	return script, func() string {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if b, err := os.ReadFile(log); err == nil {
				return strings.TrimSpace(string(b))
			}
			time.Sleep(10 * time.Millisecond)
		}
		return ""
	}
}

func TestOpenURLFollowsBROWSER(t *testing.T) {
	script, opened := recorder(t, "browser")
	t.Setenv("BROWSER", script+" --new-window")
	const page = "https://view.awsapps.com/start/#/device?user_code=ABCD-EFGH"
	if err := OpenURL(page); err != nil {
		t.Fatal(err)
	}
	if got := opened(); got != "--new-window "+page {
		t.Errorf("browser got %q", got)
	}
}

func TestOpenURLReportsAFailingOpener(t *testing.T) {
	for _, tc := range []struct{ browser, want string }{
		{"false", "exit status 1"},
		{"kirobar-test-no-such-browser", "executable file not found"},
	} {
		t.Setenv("BROWSER", tc.browser)
		err := OpenURL("http://127.0.0.1:8999/ui/?token=secret-one-time")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("BROWSER=%s: err %v, want %q", tc.browser, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret-one-time") {
			t.Errorf("BROWSER=%s: the error repeats the URL: %v", tc.browser, err)
		}
	}
}

func TestOpenPathUsesTheDesktopOpener(t *testing.T) {
	if runtime.GOOS == "darwin" {
		t.Skip("open(1) is the opener on macOS; not replaced in tests")
	}
	script, opened := recorder(t, "xdg-open")
	t.Setenv("PATH", filepath.Dir(script)+string(os.PathListSeparator)+os.Getenv("PATH"))
	dir := t.TempDir()
	if err := OpenPath(dir); err != nil {
		t.Fatal(err)
	}
	if got := opened(); got != dir {
		t.Errorf("opener got %q, want %q", got, dir)
	}
}
