package server

import (
	"net"
	"testing"
	"time"
)

// TestHostGuard: which Host headers each configuration answers. A name or
// address an attacker controls never passes; the machine's own addresses
// pass beyond loopback unless allowed_hosts names the hosts explicitly.
func TestHostGuard(t *testing.T) {
	own := []net.Addr{&net.IPNet{IP: net.ParseIP("192.0.2.7"), Mask: net.CIDRMask(24, 32)}, &net.IPNet{IP: net.ParseIP("2001:db8::7"), Mask: net.CIDRMask(64, 128)}}
	for _, tc := range []struct {
		name    string
		listen  string
		allowed []string
		host    string
		want    bool
	}{
		{"loopback name", "127.0.0.1:8999", nil, "localhost:8999", true},
		{"loopback address", "127.0.0.1:8999", nil, "127.0.0.1:8999", true},
		{"ipv6 loopback", "127.0.0.1:8999", nil, "[::1]:8999", true},
		{"own address on a loopback listener", "127.0.0.1:8999", nil, "192.0.2.7:8999", false},
		{"rebinding name on loopback", "127.0.0.1:8999", nil, "evil.example:8999", false},
		{"rebinding name on all interfaces", "0.0.0.0:8999", nil, "evil.example:8999", false},
		{"rebinding name without port", "0.0.0.0:8999", nil, "evil.example", false},
		{"own address on all interfaces", "0.0.0.0:8999", nil, "192.0.2.7:8999", true},
		{"own ipv6 address", "[::]:8999", nil, "[2001:db8::7]:8999", true},
		{"other address on all interfaces", "0.0.0.0:8999", nil, "192.0.2.8:8999", false},
		{"loopback on all interfaces", "0.0.0.0:8999", nil, "localhost:8999", true},
		{"listed name", "0.0.0.0:8999", []string{"Kirobar.LAN."}, "kirobar.lan:8999", true},
		{"listed list replaces own addresses", "0.0.0.0:8999", []string{"kirobar.lan"}, "192.0.2.7:8999", false},
		{"listed address", "0.0.0.0:8999", []string{"[2001:db8::9]"}, "[2001:db8::9]:8999", true},
		{"listed name on loopback listener", "127.0.0.1:8999", []string{"kirobar.lan"}, "kirobar.lan", true},
		{"suffix of a listed name", "0.0.0.0:8999", []string{"kirobar.lan"}, "kirobar.lan.evil.example", false},
		{"empty host", "0.0.0.0:8999", nil, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newHostGuard(Config{Listen: tc.listen, AllowedHosts: tc.allowed})
			g.addrs = func() ([]net.Addr, error) { return own, nil }
			if got := g.allow(tc.host); got != tc.want {
				t.Fatalf("allow(%q) = %v, want %v", tc.host, got, tc.want)
			}
		})
	}
}

// TestHostGuardLooksAgain: an address the machine gains later (a new
// network) is answered once the cached list is older than ownAddrsTTL.
func TestHostGuardLooksAgain(t *testing.T) {
	now := time.Unix(1000, 0)
	addrs := []net.Addr{}
	g := newHostGuard(Config{Listen: "0.0.0.0:1"})
	g.now = func() time.Time { return now }
	g.addrs = func() ([]net.Addr, error) { return addrs, nil }
	if g.allow("192.0.2.9") {
		t.Fatal("unknown address allowed")
	}
	addrs = []net.Addr{&net.IPAddr{IP: net.ParseIP("192.0.2.9")}}
	if g.allow("192.0.2.9") {
		t.Fatal("the address list was read again before its TTL")
	}
	now = now.Add(ownAddrsTTL)
	if !g.allow("192.0.2.9") {
		t.Fatal("a new address of the machine is refused after the TTL")
	}
}

func TestValidateAllowedHosts(t *testing.T) {
	for _, tc := range []struct {
		host string
		ok   bool
	}{
		{"kirobar.lan", true}, {"192.0.2.1", true}, {"[2001:db8::1]", true}, {"2001:db8::1", true},
		{"", false}, {"http://kirobar.lan", false}, {"kirobar.lan:8999", false}, {"*.lan", false}, {"a b", false},
	} {
		err := Config{Listen: "127.0.0.1:1", MaxBodyMB: 1, PingInterval: 1, AllowedHosts: []string{tc.host}}.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("allowed_hosts %q: err %v, want ok=%v", tc.host, err, tc.ok)
		}
	}
}
