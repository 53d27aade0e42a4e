package browser

import "testing"

func TestOpenURLRefusesOtherSchemes(t *testing.T) {
	// A $BROWSER that would fail loudly if it ever ran.
	t.Setenv("BROWSER", "kirobar-test-no-such-browser")
	for _, u := range []string{"file:///etc/passwd", "javascript:alert(1)", "/usr/bin/xterm", "https://", "ftp://example.com/x", "http//example.com", "%zz"} {
		err := OpenURL(u)
		if err == nil {
			t.Errorf("OpenURL(%q) accepted", u)
		}
	}
}

func TestOpenPathNeedsAPath(t *testing.T) {
	if err := OpenPath(""); err == nil {
		t.Error(`OpenPath("") accepted`)
	}
}
