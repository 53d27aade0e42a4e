package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Clock skew limits: Kiro's token expiry and AWS request signing assume a
// clock within minutes of the service's.
const (
	skewWarn = 30 * time.Second
	skewFail = 5 * time.Minute
)

// host is one configured Kiro URL.
type host struct {
	key string // config key, e.g. "api_url"
	url *url.URL
}

// kiroHosts are the configured URLs with the region filled in, one per
// distinct host.
func (e Env) kiroHosts() ([]host, error) {
	var out []host
	seen := map[string]bool{}
	for _, h := range []struct{ key, tmpl string }{
		{"api_url", e.Kiro.APIURL}, {"ide_url", e.Kiro.IDEURL}, {"auth_url", e.Kiro.AuthURL}, {"oidc_url", e.Kiro.OIDCURL},
	} {
		u, err := url.Parse(strings.ReplaceAll(h.tmpl, "{region}", e.Kiro.Region))
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("[kiro] %s %q is not a URL", h.key, h.tmpl)
		}
		if seen[u.Scheme+"://"+u.Host] {
			continue
		}
		seen[u.Scheme+"://"+u.Host] = true
		out = append(out, host{key: h.key, url: u})
	}
	return out, nil
}

// checkNetwork checks DNS, TLS and HTTP reachability of every configured
// Kiro host through the configured proxy, with a plain GET of the root
// that generates nothing, and compares the local clock with the first
// answer's Date header.
func checkNetwork(ctx context.Context, e Env) []Result {
	hosts, err := e.kiroHosts()
	if err != nil {
		return []Result{{Name: "network", Verdict: Fail, Detail: err.Error(), Fix: "correct the URL in the [kiro] section of config.toml"}}
	}
	var out []Result
	var date time.Time
	var sent time.Time
	for _, h := range hosts {
		r, d, at := probe(ctx, e, h)
		if date.IsZero() && !d.IsZero() {
			date, sent = d, at
		}
		out = append(out, r)
	}
	return append(out, checkClock(date, sent))
}

// probe reaches one host: DNS (unless a proxy resolves for us), then TLS
// and HTTP in one GET. It returns the answer's Date and when it arrived.
func probe(ctx context.Context, e Env, h host) (Result, time.Time, time.Time) {
	r := Result{Name: "reach " + h.url.Host}
	proxy := e.proxyInUse(h.url)
	via := ""
	if proxy != "" {
		via = " via proxy " + proxy
	}
	var notes []string
	if name := h.url.Hostname(); net.ParseIP(name) == nil {
		addrs, err := e.LookupHost(ctx, name)
		switch {
		case err != nil && proxy == "":
			r.Verdict, r.Detail = Fail, fmt.Sprintf("DNS: cannot resolve %s ([kiro] %s): %v", name, h.key, err)
			r.Fix = "check the network and DNS settings; behind a corporate network set [kiro] proxy in config.toml (or HTTPS_PROXY)"
			return r, time.Time{}, time.Time{}
		case err != nil:
			notes = append(notes, "DNS does not resolve it locally (the proxy does)")
		default:
			notes = append(notes, "DNS "+strings.Join(addrs[:min(2, len(addrs))], ", "))
		}
	}
	ctx, cancel := context.WithTimeout(ctx, httpTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.url.Scheme+"://"+h.url.Host+"/", nil)
	if err != nil {
		r.Verdict, r.Detail = Fail, err.Error()
		return r, time.Time{}, time.Time{}
	}
	start := time.Now()
	resp, err := e.HTTP.Do(req)
	if err != nil {
		r.Verdict = Fail
		r.Detail, r.Fix = describeFailure(err, h, proxy)
		return r, time.Time{}, time.Time{}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close() // the status is what counts; a close error changes nothing
	if h.url.Scheme == "https" {
		notes = append(notes, "TLS ok")
	}
	notes = append(notes, fmt.Sprintf("HTTP %d in %s", resp.StatusCode, time.Since(start).Round(time.Millisecond)))
	r.Verdict, r.Detail = OK, fmt.Sprintf("[kiro] %s reachable%s: %s", h.key, via, strings.Join(notes, ", "))
	if resp.StatusCode == http.StatusProxyAuthRequired {
		r.Verdict, r.Detail = Fail, fmt.Sprintf("[kiro] %s: the proxy %s wants credentials (HTTP 407)", h.key, proxy)
		r.Fix = "put the user and password in the proxy URL: proxy = \"http://user:pass@host:port\""
	}
	date, _ := http.ParseTime(resp.Header.Get("Date"))
	return r, date, e.Now()
}

// describeFailure names the stage that failed (proxy, DNS, connect, TLS)
// and its fix.
func describeFailure(err error, h host, proxy string) (string, string) {
	var op *net.OpError
	var dns *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var certInvalid x509.CertificateInvalidError
	var tlsRecord tls.RecordHeaderError
	switch {
	case errors.As(err, &op) && op.Op == "proxyconnect":
		return fmt.Sprintf("[kiro] %s: the proxy %s does not answer: %v", h.key, proxy, op.Err),
			"fix [kiro] proxy in config.toml (or HTTPS_PROXY in the environment), or remove it if this network needs no proxy"
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &certInvalid), errors.As(err, &tlsRecord):
		return fmt.Sprintf("[kiro] %s: TLS with %s failed: %v", h.key, h.url.Host, err),
			"something between you and Kiro replaces its certificate (a TLS-inspecting proxy or antivirus): add its CA to the system trust store, or exempt *.kiro.dev and *.amazonaws.com"
	case errors.As(err, &dns):
		return fmt.Sprintf("[kiro] %s: DNS: %v", h.key, dns),
			"check the network and DNS; behind a corporate network set [kiro] proxy in config.toml"
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fmt.Sprintf("[kiro] %s: no answer from %s within %s", h.key, h.url.Host, httpTimeout),
			"a firewall may drop the traffic: allow *.kiro.dev and *.amazonaws.com, or set [kiro] proxy"
	default:
		return fmt.Sprintf("[kiro] %s: cannot reach %s: %v", h.key, h.url.Host, err),
			"check the network; behind a corporate network set [kiro] proxy in config.toml"
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// checkClock compares the local clock, read when an answer arrived, with
// the answer's Date header.
func checkClock(date, local time.Time) Result {
	r := Result{Name: "clock"}
	if date.IsZero() {
		r.Verdict, r.Detail = Warn, "no Kiro host answered with a Date header, so the clock could not be compared"
		return r
	}
	skew := local.Sub(date)
	abs := skew
	if abs < 0 {
		abs = -abs
	}
	dir := "ahead of"
	if skew < 0 {
		dir = "behind"
	}
	switch {
	case abs <= skewWarn:
		r.Verdict, r.Detail = OK, fmt.Sprintf("within %s of the upstream's clock", skewWarn)
	case abs <= skewFail:
		r.Verdict, r.Detail = Warn, fmt.Sprintf("the local clock is %s %s the upstream's", abs.Round(time.Second), dir)
		r.Fix = "turn on automatic time (NTP) in the system settings"
	default:
		r.Verdict, r.Detail = Fail, fmt.Sprintf("the local clock is %s %s the upstream's: token expiry and refresh go wrong", abs.Round(time.Second), dir)
		r.Fix = "turn on automatic time (NTP) in the system settings, then run kirobar doctor again"
	}
	return r
}
