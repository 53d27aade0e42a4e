package flows

import "strings"

// urlUserinfoMask replaces the credential part of a URL's authority; it
// is what net/url's Redacted writes for a password.
const urlUserinfoMask = "xxxxx"

// scrubURLUserinfo masks credentials written into URLs inside s
// ("http://user:pass@proxy:3128" becomes "http://user:xxxxx@proxy:3128";
// a lone user name, which some proxies take as the credential, becomes
// "xxxxx"). It works by value: a proxy URL is a secret whatever key or
// sentence holds it, so the key-name rules alone would miss it.
func scrubURLUserinfo(s string) string {
	if !strings.Contains(s, "://") || !strings.Contains(s, "@") {
		return s
	}
	var b strings.Builder
	rest := s
	for {
		i := strings.Index(rest, "://")
		if i < 0 {
			break
		}
		start := i + len("://")
		end := start
		for end < len(rest) && !strings.ContainsRune("/?# \t\r\n\"'<>`,;()[]{}", rune(rest[end])) {
			end++
		}
		at := strings.LastIndexByte(rest[start:end], '@')
		if at < 0 {
			b.WriteString(rest[:end])
			rest = rest[end:]
			continue
		}
		at += start
		user := rest[start:at]
		b.WriteString(rest[:start])
		if c := strings.IndexByte(user, ':'); c >= 0 {
			b.WriteString(user[:c+1])
		}
		b.WriteString(urlUserinfoMask)
		b.WriteString(rest[at:end])
		rest = rest[end:]
	}
	if b.Len() == 0 {
		return s
	}
	b.WriteString(rest)
	return b.String()
}

// maskURLUserinfo applies scrubURLUserinfo to every string in a decoded
// JSON value, in place.
func maskURLUserinfo(v any) any {
	switch x := v.(type) {
	case string:
		return scrubURLUserinfo(x)
	case map[string]any:
		for k, val := range x {
			x[k] = maskURLUserinfo(val)
		}
		return x
	case []any:
		for i := range x {
			x[i] = maskURLUserinfo(x[i])
		}
		return x
	}
	return v
}
