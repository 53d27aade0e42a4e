package accounts

import (
	"slices"
	"strings"
	"testing"
)

func TestMaskProxy(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"http://proxy.example:3128", "http://proxy.example:3128"},
		{"http://bob:hunter2@proxy.example:3128", "http://bob:xxxxx@proxy.example:3128"},
		{"socks5://bob:p%40ss@10.0.0.1:1080", "socks5://bob:xxxxx@10.0.0.1:1080"},
		{"https://tok-abcdef@proxy.example", "https://xxxxx@proxy.example"},
		// Text url.Parse refuses still has its password masked.
		{"http://bob:bad%zzpass@proxy.example:1", "http://bob:xxxxx@proxy.example:1"},
		{"http://tok%zz@proxy.example/x", "http://xxxxx@proxy.example/x"},
		{"not a url", "not a url"},
	} {
		if got := MaskProxy(tc.in); got != tc.want {
			t.Errorf("MaskProxy(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestValidateProxyErrorHidesPassword(t *testing.T) {
	for _, in := range []string{
		"http://bob:Secret-Pass%zz@proxy.example:1",
		"ftp://bob:Secret-Pass@proxy.example:1",
		"http://bob:Secret-Pass@",
	} {
		err := validateProxy(in)
		if err == nil {
			t.Fatalf("%q accepted", in)
		}
		if strings.Contains(err.Error(), "Secret-Pass") {
			t.Fatalf("the error for %q shows the password: %v", in, err)
		}
	}
}

func TestProxySecrets(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"http://proxy.example", nil},
		{"http://bob:hunter2@proxy.example", []string{"hunter2"}},
		{"http://bob:p%40ss@proxy.example", []string{"p@ss", "p%40ss"}},
		{"http://tok-abcdef@proxy.example", []string{"tok-abcdef"}},
	} {
		if got := ProxySecrets(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("ProxySecrets(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
