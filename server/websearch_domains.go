package server

import (
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/kiro"
)

// domainFilter applies a web search tool's allowed_domains or
// blocked_domains. Kiro's search takes only a query, so the filter asks for
// the allowed domains with site: operators when they fit into the query,
// and always filters the results: a domain covers its subdomains, and a
// domain with a path ("example.com/blog") covers only pages under it, as
// the Messages API documents for these lists.
type domainFilter struct {
	allowed, blocked []domainRule
}

type domainRule struct {
	host string // lower case, no www.
	path string // "" or "/blog"
}

// siteHints is the most allowed domains put into a query as site: terms;
// more would crowd out the query itself.
const siteHints = 3

func newDomainFilter(t *canon.Tool) domainFilter {
	return domainFilter{allowed: domainRules(t.AllowedDomains), blocked: domainRules(t.BlockedDomains)}
}

func domainRules(list []string) []domainRule {
	var out []domainRule
	for _, d := range list {
		if r, ok := parseDomainRule(d); ok {
			out = append(out, r)
		}
	}
	return out
}

// parseDomainRule reads "example.com", "docs.example.com/guide",
// "https://example.com/x" or "*.example.com".
func parseDomainRule(d string) (domainRule, bool) {
	d = strings.ToLower(strings.TrimSpace(d))
	if _, rest, ok := strings.Cut(d, "://"); ok {
		d = rest
	}
	d = strings.TrimPrefix(d, "*.")
	host, path, _ := strings.Cut(d, "/")
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	host = strings.Trim(strings.TrimPrefix(host, "www."), ".")
	if host == "" {
		return domainRule{}, false
	}
	r := domainRule{host: host}
	if path = strings.Trim(path, "/"); path != "" {
		r.path = "/" + path
	}
	return r, true
}

func (r domainRule) matches(host, path string) bool {
	if host != r.host && !strings.HasSuffix(host, "."+r.host) {
		return false
	}
	if r.path == "" {
		return true
	}
	return path == r.path || strings.HasPrefix(path, r.path+"/")
}

// permits reports whether a result's URL passes the filter. A URL that does
// not parse passes only when no allowed list is set.
func (f domainFilter) permits(raw string) bool {
	if len(f.allowed) == 0 && len(f.blocked) == 0 {
		return true
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return len(f.allowed) == 0
	}
	host := strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
	path := strings.TrimRight(u.EscapedPath(), "/")
	for _, r := range f.blocked {
		if r.matches(host, path) {
			return false
		}
	}
	if len(f.allowed) == 0 {
		return true
	}
	for _, r := range f.allowed {
		if r.matches(host, path) {
			return true
		}
	}
	return false
}

// query is the query sent to Kiro: the model's, with site: terms for a
// short allowed list or -site: terms for the blocked domains when they fit
// within Kiro's query limit; the results are filtered either way.
func (f domainFilter) query(q string) string {
	var terms []string
	switch {
	case len(f.allowed) > 0 && len(f.allowed) <= siteHints:
		for i, r := range f.allowed {
			if i > 0 {
				terms = append(terms, "OR")
			}
			terms = append(terms, "site:"+r.host+r.path)
		}
	case len(f.blocked) > 0:
		for _, r := range f.blocked {
			terms = append(terms, "-site:"+r.host+r.path)
		}
	}
	if len(terms) == 0 {
		return q
	}
	out := q + " " + strings.Join(terms, " ")
	if utf8.RuneCountInString(out) > kiro.MaxSearchQuery {
		return q
	}
	return out
}
