package keyguard

import (
	"bytes"
	"fmt"
	"net"
	"strings"
)

// Behind a team gateway's reverse proxy every client arrives from the
// proxy's address, so one client with a wrong key would have every
// user's key checks refused. The guard counts the client the proxy names
// in X-Forwarded-For instead — but only for a proxy it was told to trust,
// since anyone can send the header.

// ParseProxies reads trusted proxy addresses and networks ("10.0.0.5",
// "10.0.0.0/8", "::1").
func ParseProxies(list []string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, s := range list {
		s = strings.TrimSpace(s)
		if !strings.Contains(s, "/") {
			ip := net.ParseIP(s)
			if ip == nil {
				return nil, fmt.Errorf("trusted proxy %q is neither an address nor a network", s)
			}
			bits := 128
			if ip.To4() != nil {
				ip, bits = ip.To4(), 32
			}
			out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is neither an address nor a network", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// TrustProxies makes the guard count, for a request from one of nets,
// the client its X-Forwarded-For names.
func (g *Guard) TrustProxies(nets []*net.IPNet) {
	g.mu.Lock()
	g.proxies = nets
	g.mu.Unlock()
}

// Client is the address a key check is counted against: remote itself,
// or, when remote is a trusted proxy, the nearest address in
// forwardedFor (read from the right) that is not a trusted proxy.
func (g *Guard) Client(remote net.IP, forwardedFor []byte) net.IP {
	g.mu.Lock()
	proxies := g.proxies
	g.mu.Unlock()
	if len(proxies) == 0 || !within(proxies, remote) || len(forwardedFor) == 0 {
		return remote
	}
	hops := bytes.Split(forwardedFor, []byte(","))
	for i := len(hops) - 1; i >= 0; i-- {
		ip := net.ParseIP(string(bytes.TrimSpace(hops[i])))
		if ip == nil {
			return remote // a malformed hop: count the proxy, not a guess
		}
		if !within(proxies, ip) {
			return ip
		}
	}
	return remote
}

func within(nets []*net.IPNet, ip net.IP) bool {
	for _, n := range nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}
