// Package keyguard slows down guessing of kirobar's client keys. It
// counts failed key checks per client address with a token bucket
// (golang.org/x/time/rate): an address that failed too often has its
// further key checks refused, correct keys included, until its allowance
// refills, and the refusal says when to come back. Both the API and the
// dashboard's sign-in check keys through one Guard, so guesses on one
// count against the other.
package keyguard

import (
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults: ten wrong keys at once, then one a second. A client with a
// typo in its key sees the 401 that explains it many times before the
// guard steps in; a guesser gets one try a second, which against a
// 192-bit generated key is nothing.
const (
	DefaultBurst = 10
	DefaultRate  = rate.Limit(1)
	// maxClients bounds the table; addresses whose allowance is full are
	// forgotten first, and past the bound new addresses share one bucket.
	maxClients = 4096
)

// Guard is the per-address table of failed key checks.
type Guard struct {
	limit rate.Limit
	burst int
	log   *slog.Logger
	now   func() time.Time

	mu       sync.Mutex
	clients  map[string]*client
	overflow *client
	prunedAt time.Time
	proxies  []*net.IPNet // trusted to name the client (proxies.go)
}

type client struct {
	lim       *rate.Limiter
	failures  int  // since the address last had a full allowance
	throttled bool // a throttling notice was logged
}

// New returns a guard with the default allowance. log may be nil.
func New(log *slog.Logger) *Guard {
	return NewWith(DefaultRate, DefaultBurst, log, time.Now)
}

// NewWith returns a guard allowing burst failures at once and limit a
// second after that, on the given clock.
func NewWith(limit rate.Limit, burst int, log *slog.Logger, now func() time.Time) *Guard {
	if log == nil {
		log = slog.Default()
	}
	g := &Guard{limit: limit, burst: burst, log: log, now: now, clients: map[string]*client{}}
	g.overflow = &client{lim: rate.NewLimiter(limit, burst)}
	return g
}

// Allow reports whether a key check from addr may run now. When it may
// not, retryAfter is how long until it may (at least one second).
func (g *Guard) Allow(addr net.IP) (retryAfter time.Duration, ok bool) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.clients[bucket(addr)]
	if c == nil {
		if len(g.clients) < maxClients {
			return 0, true
		}
		c = g.overflow
	}
	tokens := c.lim.TokensAt(now)
	if tokens >= 1 {
		return 0, true
	}
	wait := time.Duration((1 - tokens) / float64(g.limit) * float64(time.Second))
	return max(wait, time.Second), false
}

// Failed records a failed key check from addr at where (a path). It logs
// the failure (never the key presented), and once the address is
// throttled, one notice instead of a line per guess.
func (g *Guard) Failed(addr net.IP, where string) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	key := bucket(addr)
	c := g.clients[key]
	if c == nil {
		if len(g.clients) >= maxClients {
			g.prune(now)
		}
		if len(g.clients) < maxClients {
			c = &client{lim: rate.NewLimiter(g.limit, g.burst)}
			g.clients[key] = c
		} else {
			c = g.overflow
		}
	}
	if c.lim.TokensAt(now) >= float64(g.burst) {
		c.failures, c.throttled = 0, false // a fresh episode
	}
	c.failures++
	c.lim.AllowN(now, 1)
	if c.lim.TokensAt(now) >= 1 {
		g.log.Warn("failed client key check", "client", addr.String(), "path", where, "failures", c.failures)
		return
	}
	if !c.throttled {
		c.throttled = true
		g.log.Warn("too many failed client key checks: refusing key checks from this address for now",
			"client", addr.String(), "path", where, "failures", c.failures, "allowed_per_second", float64(g.limit))
	}
}

// prune forgets addresses whose allowance has refilled, at most once a
// second: a spray of new addresses must not make every check scan the
// table.
func (g *Guard) prune(now time.Time) {
	if now.Sub(g.prunedAt) < time.Second {
		return
	}
	g.prunedAt = now
	for k, c := range g.clients {
		if c.lim.TokensAt(now) >= float64(g.burst) {
			delete(g.clients, k)
		}
	}
}

// bucket is the table key for an address: IPv4 addresses by themselves,
// IPv6 ones by their /64, which one host or network typically holds
// whole, so rotating through it gains nothing.
func bucket(ip net.IP) string {
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	if len(ip) == net.IPv6len {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}
