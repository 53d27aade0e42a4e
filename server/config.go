package server

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/kirobar/kirobar/internal/duration"
	"github.com/kirobar/kirobar/internal/keyguard"
)

// Config is the [server] section.
type Config struct {
	// Listen is the address the proxy binds; loopback by default so nothing
	// outside the machine can reach it.
	Listen string `toml:"listen"`
	// APIKeys are the client keys. A request must present one of them as
	// x-api-key or Authorization: Bearer.
	APIKeys []string `toml:"api_keys"`
	// AllowedHosts are the names and addresses this kirobar answers to in
	// the Host header, besides the loopback ones it always answers to.
	// Empty means the machine's own addresses when Listen is beyond
	// loopback. Any other Host is refused, so a web page that re-points
	// its own name at this machine (DNS rebinding) reaches nothing.
	AllowedHosts []string `toml:"allowed_hosts"`
	// TrustedProxies are the reverse proxies (addresses or networks) in
	// front of kirobar, such as a team gateway's load balancer. For a
	// request from one of them, the client the proxy names in
	// X-Forwarded-For is the one whose wrong keys are counted; everyone
	// else's header is ignored.
	TrustedProxies []string `toml:"trusted_proxies"`
	// MaxBodyMB caps a request body; agent requests with images exceed
	// fasthttp's 4 MiB default.
	MaxBodyMB int `toml:"max_body_mb"`
	// PingInterval is how often a silent stream gets a keep-alive event.
	// Writing it is also how a client that hung up is noticed.
	PingInterval duration.Duration `toml:"ping_interval"`
	// ReadTimeout bounds reading one request (headers and body), so a
	// client that trickles bytes cannot hold a connection forever.
	ReadTimeout duration.Duration `toml:"read_timeout"`
	// IdleTimeout closes idle keep-alive connections.
	IdleTimeout duration.Duration `toml:"idle_timeout"`
	// ShutdownGrace is how long open streams may run on after a stop
	// before they are cut with an error event.
	ShutdownGrace duration.Duration `toml:"shutdown_grace"`
	// MaxPayloadKB keeps the body sent to Kiro under the size it rejects
	// ("Improperly formed request" above ~615 KB): the oldest history is
	// trimmed first. 0 turns the guard off.
	MaxPayloadKB int `toml:"max_payload_kb"`
}

// StrongKeyLen is the shortest client key kirobar considers safe from
// guessing; the keys it generates are 51 characters. Shorter keys (down to
// 8) still work, with a warning at start.
const StrongKeyLen = 32

// DefaultConfig returns the defaults written to a new config.toml.
func DefaultConfig() Config {
	return Config{
		Listen:         "127.0.0.1:8999",
		APIKeys:        []string{},
		AllowedHosts:   []string{},
		TrustedProxies: []string{},
		MaxBodyMB:      32,
		PingInterval:   duration.Duration(15 * time.Second),
		ReadTimeout:    duration.Duration(60 * time.Second),
		IdleTimeout:    duration.Duration(120 * time.Second),
		ShutdownGrace:  duration.Duration(30 * time.Second),
		MaxPayloadKB:   600,
	}
}

// Validate checks the section, including the rule that a non-loopback
// listener needs at least one client key.
func (c Config) Validate() error {
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return fmt.Errorf("server.listen %q: %w", c.Listen, err)
	}
	if !isLoopbackHost(host) && len(c.APIKeys) == 0 {
		return fmt.Errorf("server.listen %q is not a loopback address: configure at least one key in server.api_keys before exposing kirobar", c.Listen)
	}
	for i, k := range c.APIKeys {
		if len(k) < 8 {
			return fmt.Errorf("server.api_keys[%d]: a client key must be at least 8 characters", i)
		}
	}
	for i, h := range c.AllowedHosts {
		if err := validateAllowedHost(i, h); err != nil {
			return err
		}
	}
	if _, err := keyguard.ParseProxies(c.TrustedProxies); err != nil {
		return fmt.Errorf("server.trusted_proxies: %w", err)
	}
	if c.MaxBodyMB <= 0 {
		return errors.New("server.max_body_mb must be positive")
	}
	if c.PingInterval.D() <= 0 {
		return errors.New("server.ping_interval must be positive")
	}
	return nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
