package doctor

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"time"

	"github.com/kirobar/kirobar/internal/instance"
)

// httpTimeout bounds one reachability probe.
const httpTimeout = 15 * time.Second

func (e Env) withDefaults() Env {
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.LookupHost == nil {
		e.LookupHost = net.DefaultResolver.LookupHost
	}
	if e.Listen == nil {
		e.Listen = net.Listen
	}
	if e.ReadInstance == nil {
		e.ReadInstance = instance.ReadInfo
	}
	if e.GOOS == "" {
		e.GOOS = runtime.GOOS
	}
	if e.HTTP == nil {
		e.HTTP = NewHTTPClient(e.Kiro.Proxy)
	}
	return e
}

// NewHTTPClient is a client that goes through proxy, or through the
// environment's HTTPS_PROXY / HTTP_PROXY / NO_PROXY when proxy is "", as
// kirobar's upstream client does. It never follows redirects.
func NewHTTPClient(proxy string) *http.Client {
	proxyFn := http.ProxyFromEnvironment
	if proxy != "" {
		if u, err := url.Parse(proxy); err == nil {
			proxyFn = http.ProxyURL(u)
		}
	}
	return &http.Client{
		Timeout: httpTimeout,
		Transport: &http.Transport{
			Proxy:               proxyFn,
			DialContext:         (&net.Dialer{Timeout: httpTimeout}).DialContext,
			TLSHandshakeTimeout: httpTimeout,
			TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12},
			DisableKeepAlives:   true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// proxyInUse says which proxy a request to target goes through, "" for none.
func (e Env) proxyInUse(target *url.URL) string {
	if e.Kiro.Proxy != "" {
		if u, err := url.Parse(e.Kiro.Proxy); err == nil {
			return u.Redacted()
		}
		return "the configured proxy"
	}
	u, err := http.ProxyFromEnvironment(&http.Request{URL: target})
	if err != nil || u == nil {
		return ""
	}
	return u.Redacted()
}
