package keyguard

import (
	"net"
	"testing"
)

func TestClientBehindTrustedProxy(t *testing.T) {
	nets, err := ParseProxies([]string{"127.0.0.1", "10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	g := New(nil)
	for _, tc := range []struct {
		name, remote, xff, want string
		trust                   bool
	}{
		{"no proxies trusted", "127.0.0.1", "203.0.113.7", "127.0.0.1", false},
		{"trusted proxy", "127.0.0.1", "203.0.113.7", "203.0.113.7", true},
		{"chain of trusted proxies", "127.0.0.1", "198.51.100.1, 203.0.113.7, 10.1.2.3", "203.0.113.7", true},
		{"untrusted sender's header ignored", "192.0.2.9", "203.0.113.7", "192.0.2.9", true},
		{"no header", "127.0.0.1", "", "127.0.0.1", true},
		{"malformed hop", "127.0.0.1", "203.0.113.7, bogus", "127.0.0.1", true},
		{"only proxies", "127.0.0.1", "10.0.0.1", "127.0.0.1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.trust {
				g.TrustProxies(nets)
			} else {
				g.TrustProxies(nil)
			}
			got := g.Client(net.ParseIP(tc.remote), []byte(tc.xff))
			if got.String() != tc.want {
				t.Fatalf("client = %s, want %s", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"example.com", "10.0.0.0/99", ""} {
		if _, err := ParseProxies([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
