package keyguard

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

func TestGuard(t *testing.T) {
	now := time.Unix(1000, 0)
	var logs bytes.Buffer
	g := NewWith(2, 3, slog.New(slog.NewTextHandler(&logs, nil)), func() time.Time { return now })
	a, b := net.ParseIP("192.0.2.1"), net.ParseIP("192.0.2.2")
	for i := 0; i < 3; i++ {
		if _, ok := g.Allow(a); !ok {
			t.Fatalf("check %d refused within the burst", i)
		}
		g.Failed(a, "/v1/models")
	}
	wait, ok := g.Allow(a)
	if ok || wait != time.Second {
		t.Fatalf("after the burst: ok=%v wait=%v, want refused for 1s", ok, wait)
	}
	if _, ok := g.Allow(b); !ok {
		t.Fatal("another address is refused")
	}
	now = now.Add(500 * time.Millisecond) // refills 1 at 2/s
	if _, ok := g.Allow(a); !ok {
		t.Fatal("still refused after the allowance refilled")
	}
	g.Failed(a, "/v1/models")
	if _, ok := g.Allow(a); ok {
		t.Fatal("one refill allowed more than one check")
	}
	out := logs.String()
	if n := strings.Count(out, `msg="failed client key check"`); n != 2 {
		t.Fatalf("%d failure lines, want 2 (then one throttling notice):\n%s", n, out)
	}
	if n := strings.Count(out, "too many failed client key checks"); n != 1 {
		t.Fatalf("%d throttling notices, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, "client=192.0.2.1") {
		t.Fatalf("the log does not name the address:\n%s", out)
	}
}

// TestGuardIPv6Prefix: addresses of one /64 share an allowance, so
// rotating through a prefix does not buy more guesses.
func TestGuardIPv6Prefix(t *testing.T) {
	now := time.Unix(1000, 0)
	g := NewWith(1, 2, nil, func() time.Time { return now })
	g.Failed(net.ParseIP("2001:db8::1"), "/")
	g.Failed(net.ParseIP("2001:db8::2"), "/")
	if _, ok := g.Allow(net.ParseIP("2001:db8::ffff")); ok {
		t.Fatal("another address of the same /64 got a fresh allowance")
	}
	if _, ok := g.Allow(net.ParseIP("2001:db8:0:1::1")); !ok {
		t.Fatal("another /64 is refused")
	}
}

// TestGuardBounded: the table stays bounded; past the bound, new
// addresses share one allowance instead of each getting a fresh one.
func TestGuardBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	g := NewWith(1, 2, slog.New(slog.DiscardHandler), func() time.Time { return now })
	for i := 0; i < maxClients+100; i++ {
		ip := net.IPv4(10, byte(i>>16), byte(i>>8), byte(i))
		g.Failed(ip, "/")
		g.Failed(ip, "/")
	}
	if len(g.clients) > maxClients {
		t.Fatalf("%d addresses kept, bound %d", len(g.clients), maxClients)
	}
	if _, ok := g.Allow(net.IPv4(10, 200, 0, 1)); ok {
		t.Fatal("an address past the bound has a fresh allowance")
	}
	now = now.Add(time.Hour)
	g.Failed(net.IPv4(10, 201, 0, 1), "/") // prunes the refilled ones
	if len(g.clients) != 1 {
		t.Fatalf("%d addresses kept after every allowance refilled, want 1", len(g.clients))
	}
}
