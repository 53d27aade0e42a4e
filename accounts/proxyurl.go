package accounts

import (
	"net/url"
	"strings"
)

// maskedUserinfo replaces a proxy password (or a user name that stands
// alone, which some proxies use as the credential) wherever a proxy URL
// is shown: the same placeholder net/url's Redacted uses.
const maskedUserinfo = "xxxxx"

// MaskProxy returns a proxy URL fit to show or export: its password, or a
// lone user name, replaced by "xxxxx". It works on text that does not
// parse as a URL too (a typo in set-proxy), so an error message quoting
// the input never carries the password either.
func MaskProxy(s string) string {
	if s == "" {
		return ""
	}
	if u, err := url.Parse(s); err == nil && u.Host != "" {
		if u.User == nil {
			return s
		}
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), maskedUserinfo)
		} else {
			u.User = url.User(maskedUserinfo)
		}
		return u.String()
	}
	return maskUserinfoText(s)
}

// maskUserinfoText masks what sits between "scheme://" and the last '@'
// of the authority in text that net/url refused: the password after the
// first ':' or, without one, the whole user part.
func maskUserinfoText(s string) string {
	i := strings.Index(s, "://")
	if i < 0 {
		return s
	}
	start := i + len("://")
	end := len(s)
	if j := strings.IndexAny(s[start:], "/?#"); j >= 0 {
		end = start + j
	}
	at := strings.LastIndexByte(s[start:end], '@')
	if at < 0 {
		return s
	}
	at += start
	user := s[start:at]
	if c := strings.IndexByte(user, ':'); c >= 0 {
		return s[:start+c+1] + maskedUserinfo + s[at:]
	}
	return s[:start] + maskedUserinfo + s[at:]
}

// ProxySecrets returns the credential parts of a proxy URL (password, or a
// user name that stands alone) as known secret values for the redactors
// of logs, flow records and diagnostic bundles.
func ProxySecrets(s string) []string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return nil
	}
	if p, ok := u.User.Password(); ok {
		out := []string{p}
		if dec := u.User.String(); dec != "" {
			// The escaped form is what appears when the URL itself is
			// printed ("p%40ss" for "p@ss").
			if _, esc, ok := strings.Cut(dec, ":"); ok && esc != p {
				out = append(out, esc)
			}
		}
		return out
	}
	if name := u.User.Username(); name != "" {
		return []string{name}
	}
	return nil
}

// ProxySecrets returns the credential parts of every account's proxy URL.
func (m *Manager) ProxySecrets() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, e := range m.accounts {
		out = append(out, ProxySecrets(e.acc.Proxy)...)
	}
	return out
}
