// Package kiro talks to the Kiro upstream: it sends generateAssistantResponse
// requests, refreshes tokens, resolves profiles and regions, reads usage
// limits, lists models and runs web searches, and classifies every failure.
//
// Every failure is a *Error of one Class, decided by what the upstream's
// body says before its status (errors.go). What kirobar does about each
// class — fail over or not, what happens to the account, what each client
// surface answers — is one table, policy.go; the account pool, the request
// path and the surfaces read it instead of deciding for themselves.
//
// Sub-packages: eventstream (the binary frame codec), payload (the request
// builder and history repair), stream (frames to canonical events), models
// (the model table and name resolver), rules (the service's request rules).
package kiro

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/kirobar/kirobar/internal/duration"
)

// API styles: how a generateAssistantResponse request is addressed.
const (
	// StyleRuntime is the awsJson1.0 style on runtime.{region}.kiro.dev that
	// replaced the q.* hosts on 2026-05-15.
	StyleRuntime = "runtime"
	// StyleIDE is the older REST style on q.{region}.amazonaws.com.
	StyleIDE = "ide"
)

// Auth methods of an account.
const (
	AuthSocial = "social"
	AuthIdC    = "idc"
)

// DefaultKiroVersion is the Kiro IDE version kirobar announces in user
// agents: a current 1.x release (IDE 1.1.14, 2026-09, kirodotdev/Kiro#11501).
// The service parses it and refuses usage and model calls from versions
// below 1.0 (kiro-protocol.md §11.13).
const DefaultKiroVersion = "1.1.14"

// Config is the upstream section of kirobar's config file. URLs may contain
// {region}: the account's API region (from its profile ARN) in api_url and
// ide_url, its sign-in region in auth_url and oidc_url.
type Config struct {
	Region           string            `toml:"region"`
	APIStyle         string            `toml:"api_style"`
	APIURL           string            `toml:"api_url"`
	IDEURL           string            `toml:"ide_url"`
	AuthURL          string            `toml:"auth_url"`
	OIDCURL          string            `toml:"oidc_url"`
	Proxy            string            `toml:"proxy"`
	FirstByteTimeout duration.Duration `toml:"first_byte_timeout"`
	IdleTimeout      duration.Duration `toml:"idle_timeout"`
	ConnectTimeout   duration.Duration `toml:"connect_timeout"`
	KiroVersion      string            `toml:"kiro_version"`
	MaxIdleConns     int               `toml:"max_idle_conns"`
}

// DefaultConfig returns the defaults: the runtime API in us-east-1, timeouts
// sized for long agent turns, and an idle pool large enough that concurrent
// streams reuse connections instead of paying a TLS handshake each.
func DefaultConfig() Config {
	return Config{
		Region:           "us-east-1",
		APIStyle:         StyleRuntime,
		APIURL:           "https://runtime.{region}.kiro.dev",
		IDEURL:           "https://q.{region}.amazonaws.com",
		AuthURL:          "https://prod.{region}.auth.desktop.kiro.dev",
		OIDCURL:          "https://oidc.{region}.amazonaws.com",
		FirstByteTimeout: duration.Duration(90 * time.Second),
		IdleTimeout:      duration.Duration(120 * time.Second),
		ConnectTimeout:   duration.Duration(15 * time.Second),
		KiroVersion:      DefaultKiroVersion,
		MaxIdleConns:     256,
	}
}

// Validate reports the first setting that cannot work, naming its key.
func (c Config) Validate() error {
	if err := checkRegion(c.Region); err != nil {
		return fmt.Errorf("region: %w", err)
	}
	if err := checkStyle(c.APIStyle); err != nil {
		return fmt.Errorf("api_style: %w", err)
	}
	for _, u := range []struct{ key, val string }{
		{"api_url", c.APIURL}, {"ide_url", c.IDEURL}, {"auth_url", c.AuthURL}, {"oidc_url", c.OIDCURL},
	} {
		if _, err := baseURL(u.val, c.Region); err != nil {
			return fmt.Errorf("%s: %w", u.key, err)
		}
	}
	if _, err := parseProxy(c.Proxy); err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	for _, d := range []struct {
		key string
		val duration.Duration
	}{
		{"first_byte_timeout", c.FirstByteTimeout}, {"idle_timeout", c.IdleTimeout}, {"connect_timeout", c.ConnectTimeout},
	} {
		if d.val <= 0 {
			return fmt.Errorf("%s: must be positive, like 30s", d.key)
		}
	}
	if err := checkKiroVersion(c.KiroVersion); err != nil {
		return fmt.Errorf("kiro_version %q: %w", c.KiroVersion, err)
	}
	if c.MaxIdleConns < 1 {
		return fmt.Errorf("max_idle_conns: must be at least 1, got %d", c.MaxIdleConns)
	}
	return nil
}

// checkKiroVersion accepts a numeric X.Y.Z version of 1.0 or newer: Kiro
// refuses older IDEs on usage and model calls and caps their history
// (kiro-protocol.md §11.13), which would look like a broken account.
func checkKiroVersion(v string) error {
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return fmt.Errorf("must be a version like %s", DefaultKiroVersion)
	}
	for _, p := range parts {
		if p == "" || len(p) > 6 || strings.Trim(p, "0123456789") != "" {
			return fmt.Errorf("must be a version like %s", DefaultKiroVersion)
		}
	}
	if parts[0] == "0" {
		return fmt.Errorf("the service refuses Kiro IDE versions below 1.0 on usage and model calls; use a current one like %s", DefaultKiroVersion)
	}
	return nil
}

// checkStyle accepts the two API styles.
func checkStyle(s string) error {
	if s != StyleRuntime && s != StyleIDE {
		return fmt.Errorf("%q is not %q or %q", s, StyleRuntime, StyleIDE)
	}
	return nil
}

// checkRegion accepts AWS-style region names (lowercase letters, digits and
// dashes), which also keeps a region from a credential file from changing
// anything but the host label it is substituted into.
func checkRegion(r string) error {
	if r == "" || len(r) > 32 {
		return fmt.Errorf("%q is not a region name like us-east-1", r)
	}
	for _, c := range r {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("%q is not a region name like us-east-1", r)
		}
	}
	return nil
}

// baseURL substitutes region into tmpl and checks the result is an absolute
// http(s) URL. The returned string has no trailing slash.
func baseURL(tmpl, region string) (string, error) {
	s := strings.ReplaceAll(tmpl, "{region}", region)
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%q: %w", s, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "", fmt.Errorf("%q: scheme must be https or http", s)
	}
	if u.Host == "" {
		return "", fmt.Errorf("%q: has no host", s)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q: must not carry a query or fragment", s)
	}
	return strings.TrimSuffix(s, "/"), nil
}

// parseProxy checks a proxy URL; "" means "use the environment".
func parseProxy(p string) (*url.URL, error) {
	if p == "" {
		return nil, nil
	}
	u, err := url.Parse(p)
	if err != nil {
		// url.Parse errors quote the input, which may hold a proxy password.
		return nil, errors.New("not a valid URL")
	}
	switch u.Scheme {
	case "http", "https", "socks5", "socks5h":
	default:
		return nil, fmt.Errorf("%s: scheme must be http, https, socks5 or socks5h", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%s: has no host", u.Redacted())
	}
	return u, nil
}
