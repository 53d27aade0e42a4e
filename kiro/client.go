package kiro

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Credentials is what one upstream call needs to know about an account.
type Credentials struct {
	AccountID   string // for error messages and logs (never the token)
	AuthMethod  string // "social" | "idc"
	AccessToken string
	ProfileARN  string
	Region      string // API region (the profile ARN's); "" = Config.Region
	MachineID   string // 64 hex chars, stable per account
	Proxy       string // per-account proxy URL; "" = Config.Proxy
	APIStyle    string // "" = Config.APIStyle
}

// Client calls the Kiro upstream over net/http. It is safe for concurrent
// use; connections are pooled per proxy so concurrent streams reuse them.
type Client struct {
	cfg Config
	log *slog.Logger
	now func() time.Time // wall clock for token expiry; tests replace it

	mu      sync.Mutex
	clients map[string]*http.Client // by proxy URL; "" = from the environment
}

// NewClient validates cfg and returns a Client. A nil log discards.
func NewClient(cfg Config, log *slog.Logger) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("kiro config: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{cfg: cfg, log: log, now: time.Now, clients: make(map[string]*http.Client)}, nil
}

// CloseIdleConnections closes idle pooled connections of every transport,
// for shutdown and for tests that check for leaked goroutines.
func (c *Client) CloseIdleConnections() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, hc := range c.clients {
		hc.CloseIdleConnections()
	}
}

// httpClient returns the shared client for a proxy URL: the account's, else
// the configured one, else "" (environment: HTTPS_PROXY, HTTP_PROXY,
// NO_PROXY).
func (c *Client) httpClient(accountProxy string) (*http.Client, error) {
	key := accountProxy
	if key == "" {
		key = c.cfg.Proxy
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if hc, ok := c.clients[key]; ok {
		return hc, nil
	}
	pu, err := parseProxy(key)
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	proxy := http.ProxyFromEnvironment
	if pu != nil {
		proxy = http.ProxyURL(pu)
	}
	connect := c.cfg.ConnectTimeout.D()
	tr := &http.Transport{
		Proxy:                 proxy,
		DialContext:           (&net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          0, // no global cap; the per-host cap below bounds the pool
		MaxIdleConnsPerHost:   c.cfg.MaxIdleConns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   connect,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
	}
	hc := &http.Client{
		Transport: tr,
		// Upstream redirects are unexpected; surface them as errors
		// rather than replaying a POST with a bearer token elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	c.clients[key] = hc
	if pu != nil {
		c.log.Debug("kiro transport created", "proxy", pu.Redacted())
	}
	return hc, nil
}

// region returns the API region for an account.
func (c *Client) region(r string) (string, error) {
	if r == "" {
		r = c.cfg.Region
	}
	if err := checkRegion(r); err != nil {
		return "", fmt.Errorf("account region: %w", err)
	}
	return r, nil
}

// isSocial reports whether an auth method names a social (Google/GitHub)
// login; every other spelling (IdC, builder-id, iam, enterprise) is not.
func isSocial(method string) bool {
	return strings.EqualFold(strings.TrimSpace(method), AuthSocial)
}

// checkHeaderValue refuses values net/http would reject, with a message that
// does not repeat the value (it may be a token).
func checkHeaderValue(what, v string) error {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b <= ' ' || b >= 0x7f {
			return fmt.Errorf("%s contains a character not allowed in an HTTP header", what)
		}
	}
	return nil
}

// checkCredentials validates what goes into request headers.
func checkCredentials(cr Credentials) error {
	if cr.AccessToken == "" {
		return errors.New("account has no access token")
	}
	if err := checkHeaderValue("access token", cr.AccessToken); err != nil {
		return err
	}
	return checkHeaderValue("machine id", cr.MachineID)
}

// kiroAgent is the "KiroIDE-<version>-<machineId>" product token.
func (c *Client) kiroAgent(machineID string) string {
	if machineID == "" {
		return "KiroIDE-" + c.cfg.KiroVersion
	}
	return "KiroIDE-" + c.cfg.KiroVersion + "-" + machineID
}

// osToken picks the OS the IDE user agent claims, stable per machine ID
// (kiro.rs chooses between these two).
func osToken(machineID string) string {
	if machineID != "" && machineID[len(machineID)-1]%2 == 1 {
		return "win32#10.0.22631"
	}
	return "darwin#24.6.0"
}

// failure classifies an error from a round trip that produced no response:
// our own timeout, the caller's context, or the network.
func failure(ctx context.Context, op string, timedOut string, err error) *Error {
	switch {
	case timedOut != "":
		return &Error{Class: ClassTimeout, Op: op, Message: timedOut, Err: err}
	case errors.Is(ctx.Err(), context.Canceled):
		return &Error{Class: ClassCanceled, Op: op, Err: context.Canceled}
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &Error{Class: ClassTimeout, Op: op, Message: "caller deadline exceeded", Err: ctx.Err()}
	default:
		return &Error{Class: ClassNetwork, Op: op, Err: err}
	}
}

// DefaultStyle is the configured API style, which accounts without one of
// their own use.
func (c *Client) DefaultStyle() string { return c.cfg.APIStyle }

// DefaultRegion is the configured region, which accounts without an API or
// sign-in region of their own use.
func (c *Client) DefaultRegion() string { return c.cfg.Region }
