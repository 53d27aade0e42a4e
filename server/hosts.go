package server

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// ownAddrsTTL is how long the machine's interface addresses are trusted
// before a Host naming an unknown address makes kirobar look again (a
// laptop changes networks).
const ownAddrsTTL = 10 * time.Second

// hostGuard decides which Host headers this kirobar answers. It defeats
// DNS rebinding: a browser page on evil.example whose name the attacker
// re-points at this machine still sends "Host: evil.example", so only the
// names and addresses kirobar is known by pass. Loopback names and
// addresses always do; server.allowed_hosts adds more; left empty on a
// listener beyond loopback, it means the machine's own addresses.
type hostGuard struct {
	allowed map[string]bool // normalized server.allowed_hosts
	useOwn  bool            // allow the machine's own addresses
	addrs   func() ([]net.Addr, error)
	now     func() time.Time

	mu    sync.Mutex
	own   map[string]bool
	ownAt time.Time
}

func newHostGuard(cfg Config) *hostGuard {
	g := &hostGuard{allowed: map[string]bool{}, addrs: net.InterfaceAddrs, now: time.Now}
	for _, h := range cfg.AllowedHosts {
		g.allowed[normalizeHost(h)] = true
	}
	lhost, _, _ := net.SplitHostPort(cfg.Listen)
	g.useOwn = len(cfg.AllowedHosts) == 0 && !isLoopbackHost(lhost)
	return g
}

// allow reports whether a request's Host header (with or without a port)
// names this kirobar.
func (g *hostGuard) allow(hostHeader string) bool {
	host := hostHeader
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = normalizeHost(host)
	if host == "" {
		return false
	}
	if isLoopbackHost(host) || g.allowed[host] {
		return true
	}
	if !g.useOwn || net.ParseIP(host) == nil {
		return false
	}
	return g.isOwn(host)
}

// isOwn reports whether ip is one of the machine's interface addresses,
// looking again when the cached list is old.
func (g *hostGuard) isOwn(ip string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if g.own[ip] {
		return true
	}
	if g.own != nil && now.Sub(g.ownAt) < ownAddrsTTL {
		return false
	}
	g.own, g.ownAt = map[string]bool{}, now
	addrs, err := g.addrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		switch v := a.(type) {
		case *net.IPNet:
			g.own[v.IP.String()] = true
		case *net.IPAddr:
			g.own[v.IP.String()] = true
		}
	}
	return g.own[ip]
}

// normalizeHost lower-cases a host name or address and drops IPv6
// brackets and a trailing dot, so "Kirobar.LAN." and "kirobar.lan", or
// "[::1]" and "::1", compare equal; addresses take their canonical form.
func normalizeHost(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	h = strings.TrimSuffix(h, ".")
	if len(h) > 1 && h[0] == '[' && h[len(h)-1] == ']' {
		h = h[1 : len(h)-1]
	}
	if ip := net.ParseIP(h); ip != nil {
		return ip.String()
	}
	return h
}

// validateAllowedHost checks one server.allowed_hosts entry: a host name
// or an address, without scheme, port or path.
func validateAllowedHost(i int, h string) error {
	n := normalizeHost(h)
	switch {
	case n == "":
		return fmt.Errorf("server.allowed_hosts[%d] is empty", i)
	case strings.ContainsAny(n, "/ @*") || (strings.Contains(n, ":") && net.ParseIP(n) == nil):
		return fmt.Errorf("server.allowed_hosts[%d] %q: write a host name or an address only, without scheme, port, path or wildcard", i, h)
	}
	return nil
}
