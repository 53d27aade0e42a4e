package flows

import (
	"strings"
	"testing"
)

func TestScrubURLUserinfo(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain text @ here", "plain text @ here"},
		{"http://proxy.example:3128", "http://proxy.example:3128"},
		{"http://bob:hunter2@proxy.example:3128", "http://bob:xxxxx@proxy.example:3128"},
		{"dial socks5://tok@10.0.0.1:1080 failed", "dial socks5://xxxxx@10.0.0.1:1080 failed"},
		{`{"proxy":"http://u:p@h/x?y=z@w"}`, `{"proxy":"http://u:xxxxx@h/x?y=z@w"}`},
		{"a http://a:b@h and https://c:d@i", "a http://a:xxxxx@h and https://c:xxxxx@i"},
		{"mailto:me@example.com", "mailto:me@example.com"},
		{"http://x@y@z/p", "http://xxxxx@z/p"},
	} {
		if got := scrubURLUserinfo(tc.in); got != tc.want {
			t.Errorf("scrubURLUserinfo(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestBundleMasksURLCredentials: a proxy URL with a password in any
// section of a bundle (config.json under a key no name rule knows, an
// account's status) is masked by value.
func TestBundleMasksURLCredentials(t *testing.T) {
	v := maskURLUserinfo(map[string]any{
		"Kiro":    map[string]any{"Proxy": "http://bob:Hunter2Pass@proxy:3128"},
		"proxies": []any{"socks5://carol:Other-Pass@proxy:1080", 3.0},
	})
	got := strings.Join([]string{
		v.(map[string]any)["Kiro"].(map[string]any)["Proxy"].(string),
		v.(map[string]any)["proxies"].([]any)[0].(string),
	}, " ")
	if strings.Contains(got, "Hunter2Pass") || strings.Contains(got, "Other-Pass") || !strings.Contains(got, "bob:xxxxx@proxy") {
		t.Fatalf("masked: %s", got)
	}
}

// FuzzScrubURLUserinfo: any text is scrubbed without a panic, scrubbing is
// idempotent, and a password written into a URL never survives.
func FuzzScrubURLUserinfo(f *testing.F) {
	f.Add("http://bob:hunter2@proxy:3128", "hunter2")
	f.Add("x://@@:/", "")
	f.Add("see https://u:p@h and ftp://q@r", "p")
	f.Fuzz(func(t *testing.T, s, pass string) {
		once := scrubURLUserinfo(s)
		if twice := scrubURLUserinfo(once); twice != once {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, once, twice)
		}
		if len(pass) < 4 || strings.ContainsAny(pass, "/?# \t\r\n\"'<>`,;()[]{}@:") {
			return
		}
		in := s + " http://user:" + pass + "@host:1/"
		if out := scrubURLUserinfo(in); strings.Contains(out, "user:"+pass+"@") {
			t.Fatalf("password survived: %q", out)
		}
	})
}
