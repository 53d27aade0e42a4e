package dbustest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Opener is a stand-in xdg-open for the tray process: put Dir first on its
// PATH and every page or file the tray opens is recorded, so a test sees
// what "Open dashboard" or a sign-in opened without a browser.
type Opener struct {
	Dir    string // the directory holding the xdg-open script
	record string
}

// FakeOpener writes the xdg-open script into a fresh directory.
func FakeOpener(t testing.TB) *Opener {
	t.Helper()
	o := &Opener{Dir: t.TempDir()}
	o.record = filepath.Join(o.Dir, "opened")
	quoted := "'" + strings.ReplaceAll(o.record, "'", `'\''`) + "'"
	script := "#!/bin/sh\nprintf '%s\\n' \"$1\" >>" + quoted + "\n"
	if err := os.WriteFile(filepath.Join(o.Dir, "xdg-open"), []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return o
}

// PATH is the PATH value that puts the fake opener first.
func (o *Opener) PATH() string {
	return o.Dir + string(os.PathListSeparator) + os.Getenv("PATH")
}

// WaitPrefix waits until the opener was asked to open something starting
// with prefix, and returns it.
func (o *Opener) WaitPrefix(t testing.TB, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(o.record)
		for _, line := range strings.Split(string(b), "\n") {
			if line != "" && strings.HasPrefix(line, prefix) {
				return line
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(o.record)
	t.Fatalf("the opener never got %q…; it got:\n%s", prefix, b)
	return ""
}
