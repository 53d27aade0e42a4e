package flows

import (
	"bytes"
	"sort"
	"strings"
)

// redacted replaces every secret value kirobar removes.
const redacted = "[REDACTED]"

// minSecretLen is the shortest known secret scrubbed by value; shorter
// strings are not credentials and would scrub ordinary text.
const minSecretLen = 4

// redactor removes secrets and bulky binary data from what a flow carries.
// known holds the secret values given to Recorder.SetSecrets, longest
// first, so a secret is scrubbed wherever it appears. Bodies are redacted
// by one scan of their bytes (redactJSON), never decoded into values and
// re-encoded: that round trip was most of kirobar's CPU with flows on.
type redactor struct {
	known    []string
	finders  []finder // one per known secret, in the same order
	replacer *strings.Replacer
	// escRisky marks the JSON escape letters (n, t, /, …) whose decoded
	// character occurs in a known secret, so a secret spelled with that
	// escape is found by decoding only the strings that use one.
	escRisky [256]bool
	// longest is the length of the longest known secret.
	longest int
}

// newRedactor builds a redactor for the given known secret values.
func newRedactor(secrets []string) *redactor {
	seen := make(map[string]bool)
	var known []string
	for _, s := range secrets {
		if len(s) < minSecretLen || seen[s] {
			continue
		}
		seen[s] = true
		known = append(known, s)
	}
	sort.Slice(known, func(i, j int) bool { return len(known[i]) > len(known[j]) })
	rd := &redactor{known: known}
	rd.escRisky['u'] = true // \uXXXX can spell any character
	escOf := map[byte]byte{'"': '"', '\\': '\\', '/': '/', '\b': 'b', '\f': 'f', '\n': 'n', '\r': 'r', '\t': 't'}
	if len(known) > 0 {
		rd.longest = len(known[0])
		pairs := make([]string, 0, 2*len(known))
		for _, s := range known {
			pairs = append(pairs, s, redacted)
			for i := 0; i < len(s); i++ {
				if e, ok := escOf[s[i]]; ok {
					rd.escRisky[e] = true
				}
			}
		}
		rd.replacer = strings.NewReplacer(pairs...)
	}
	for _, k := range known {
		rd.finders = append(rd.finders, newFinder(k))
	}
	return rd
}

// finder looks for one known secret by its least common byte: searching
// by the first byte, as bytes.Index does, stops at nearly every byte of
// prose when a token starts with a lower-case letter, and every body and
// every details line is searched for every secret.
type finder struct {
	s      string
	anchor int // offset in s of the byte searched for
}

// newFinder picks s's rarest byte by how often it occurs in JSON bodies
// of prose and code: lower-case letters and JSON punctuation are common,
// digits less so, upper-case and other symbols least.
func newFinder(s string) finder {
	rank := func(c byte) int {
		switch {
		case strings.IndexByte(" etaoinsrhldcu", c) >= 0:
			return 10
		case strings.IndexByte("\"\n,:.{}[]", c) >= 0:
			return 9
		case c >= 'a' && c <= 'z':
			return 6
		case c >= '0' && c <= '9':
			return 4
		case strings.IndexByte("ETAOINSRHLDCU", c) >= 0:
			return 3
		default:
			return 2
		}
	}
	f := finder{s: s}
	for i := 1; i < len(s); i++ {
		if rank(s[i]) < rank(s[f.anchor]) {
			f.anchor = i
		}
	}
	return f
}

// index returns the offset of the first occurrence of the secret in b at
// or after from, or -1.
func (f finder) index(b []byte, from int) int {
	a := f.s[f.anchor]
	for i := from + f.anchor; i < len(b); {
		j := bytes.IndexByte(b[i:], a)
		if j < 0 {
			return -1
		}
		i += j
		start := i - f.anchor
		if start+len(f.s) <= len(b) && string(b[start:start+len(f.s)]) == f.s {
			return start
		}
		i++
	}
	return -1
}

// text scrubs known secrets, bearer tokens and credential pairs from s.
func (rd *redactor) text(s string) string {
	if s == "" || !rd.mayNeedScrub(s) {
		return s
	}
	out, changed := rd.scrub(nil, []byte(s))
	if !changed {
		return s
	}
	return string(out)
}

// mayNeedScrub is text's fast path: short index strings (models, paths,
// account ids) rarely hold anything scrub would change.
func (rd *redactor) mayNeedScrub(s string) bool {
	if strings.ContainsAny(s, `="`) || indexFold([]byte(s), "bearer") >= 0 {
		return true
	}
	for _, k := range rd.known {
		if strings.Contains(s, k) {
			return true
		}
	}
	return false
}

// span is a run of bytes scrub replaces: with prefix+[REDACTED], or with
// note when note is set (binary data).
type span struct {
	start, end int
	prefix     string
	note       string
}

// scrub appends s to dst with known secrets, bearer tokens, credential
// pairs embedded in text ("accessToken":"…", as an error message quotes a
// JSON body; refresh_token=… in a form or query) and base64 data URLs
// replaced, and reports whether anything was replaced. All patterns are
// found on s as given and replaced together, so overlapping matches
// become one [REDACTED].
func (rd *redactor) scrub(dst, s []byte) ([]byte, bool) {
	var spans []span
	for _, f := range rd.finders {
		for off := 0; ; {
			i := f.index(s, off)
			if i < 0 {
				break
			}
			spans = append(spans, span{start: i, end: i + len(f.s)})
			off = i + len(f.s)
		}
	}
	spans = bearerSpans(spans, s)
	if bytes.IndexByte(s, '"') >= 0 {
		spans = pairSpans(spans, s)
	}
	if bytes.IndexByte(s, '=') >= 0 {
		spans = formSpans(spans, s)
	}
	if bytes.Contains(s, []byte(";base64,")) {
		spans = dataURLSpans(spans, s)
	}
	if len(spans) == 0 {
		return append(dst, s...), false
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	at := 0
	for i := 0; i < len(spans); {
		cur := spans[i]
		for i++; i < len(spans) && spans[i].start < cur.end; i++ {
			cur.end = max(cur.end, spans[i].end)
			cur.note = "" // merged with a secret: say nothing but [REDACTED]
		}
		dst = append(dst, s[at:cur.start]...)
		if cur.note != "" {
			dst = append(dst, cur.note...)
		} else {
			dst = append(append(dst, cur.prefix...), redacted...)
		}
		at = cur.end
	}
	return append(dst, s[at:]...), true
}

// isWord reports whether c is a regexp word character ([0-9A-Za-z_]).
func isWord(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// isSpace reports whether c is ASCII white space (\s in Go's regexp).
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

// isTokenChar reports whether c can be part of a bearer token.
func isTokenChar(c byte) bool {
	return isWord(c) || strings.IndexByte("-.~+/=:", c) >= 0
}

// indexFold returns the index of the lower-case ASCII word sub in s,
// ignoring case, or -1. It finds the first letter in either case with the
// vectorised IndexByte, remembering where the next one of each case is,
// so text without the word costs about two fast passes.
func indexFold(s []byte, sub string) int {
	lo, up := sub[0], sub[0]-('a'-'A')
	nextLo, nextUp := -2, -2 // -2: not searched yet; -1: none left
	for off := 0; off+len(sub) <= len(s); {
		if nextLo != -1 && nextLo < off {
			if nextLo = bytes.IndexByte(s[off:], lo); nextLo >= 0 {
				nextLo += off
			}
		}
		if nextUp != -1 && nextUp < off {
			if nextUp = bytes.IndexByte(s[off:], up); nextUp >= 0 {
				nextUp += off
			}
		}
		i := nextLo
		if i < 0 || (nextUp >= 0 && nextUp < i) {
			i = nextUp
		}
		if i < 0 || i+len(sub) > len(s) {
			return -1
		}
		if equalFoldASCII(s[i:i+len(sub)], sub) {
			return i
		}
		off = i + 1
	}
	return -1
}

// equalFoldASCII reports whether b equals the lower-case ASCII word lower,
// ignoring ASCII case.
func equalFoldASCII(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// bearerSpans adds "bearer <token>" matches: the token and the white
// space before it become " [REDACTED]".
func bearerSpans(spans []span, s []byte) []span {
	for off := 0; ; {
		i := indexFold(s[off:], "bearer")
		if i < 0 {
			return spans
		}
		i += off
		off = i + 1
		if i > 0 && isWord(s[i-1]) {
			continue
		}
		j := i + len("bearer")
		k := j
		for k < len(s) && isSpace(s[k]) {
			k++
		}
		if k == j {
			continue
		}
		e := k
		for e < len(s) && isTokenChar(s[e]) {
			e++
		}
		if e == k || bearerProse(s[k:e]) {
			continue
		}
		spans = append(spans, span{start: j, end: e, prefix: " "})
		off = e
	}
}

// pairSpans adds the string values of credential keys in JSON embedded in
// text ("refreshToken": "…"). A value cut off by the end of s is
// redacted to the end.
func pairSpans(spans []span, s []byte) []span {
	for off := 0; off < len(s); {
		q := bytes.IndexByte(s[off:], '"')
		if q < 0 {
			break
		}
		q += off
		e := bytes.IndexByte(s[q+1:], '"')
		if e < 0 {
			break
		}
		e += q + 1
		off = e // the closing quote may open the next candidate
		key := s[q+1 : e]
		k := e + 1
		for k < len(s) && isSpace(s[k]) {
			k++
		}
		if k >= len(s) || s[k] != ':' || len(key) == 0 || len(key) > 64 || !secretKey(key) {
			continue
		}
		for k++; k < len(s) && isSpace(s[k]); k++ {
		}
		if k >= len(s) || s[k] != '"' {
			continue
		}
		start := k + 1
		v := start
		for v < len(s) && s[v] != '"' {
			if s[v] == '\\' {
				v++
			}
			v++
		}
		v = min(v, len(s))
		spans = append(spans, span{start: start, end: v})
		off = min(v+1, len(s))
	}
	return spans
}

// formSpans adds credential values in key=value text (query strings,
// form bodies): the key is the whole word before '='.
func formSpans(spans []span, s []byte) []span {
	for off := 0; ; {
		i := bytes.IndexByte(s[off:], '=')
		if i < 0 {
			return spans
		}
		i += off
		off = i + 1
		w := i
		for w > 0 && isWord(s[w-1]) {
			w--
		}
		name := string(s[w:i])
		if name == "" || !(secretKey(name) || strings.EqualFold(name, "key")) {
			continue
		}
		e := i + 1
		for e < len(s) && !isSpace(s[e]) && strings.IndexByte(`&"'`, s[e]) < 0 {
			e++
		}
		if e > i+1 {
			spans = append(spans, span{start: i + 1, end: e})
			off = e
		}
	}
}

// dataURLSpans replaces base64 data URLs in text (data:image/png;base64,…)
// with their media type and size.
func dataURLSpans(spans []span, s []byte) []span {
	for off := 0; ; {
		i := bytes.Index(s[off:], []byte(";base64,"))
		if i < 0 {
			return spans
		}
		i += off
		off = i + 1
		d := bytes.LastIndex(s[max(0, i-128):i], []byte("data:"))
		if d < 0 {
			continue
		}
		d += max(0, i-128)
		e := i + len(";base64,")
		for e < len(s) && isBase64(s[e]) {
			e++
		}
		spans = append(spans, span{start: d, end: e, note: binaryNote(string(s[d+len("data:"):i]), string(s[i+len(";base64,"):e]))})
		off = e
	}
}

// isBase64 reports whether c is in the standard or URL base64 alphabet.
func isBase64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' || c == '-' || c == '_'
}

// bytes scrubs raw bytes (captured upstream data) the way text does.
func (rd *redactor) bytes(b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	out, _ := rd.scrub(nil, b)
	return out
}

// leaks reports whether line still contains a known secret.
func (rd *redactor) leaks(line []byte) bool {
	for _, f := range rd.finders {
		if f.index(line, 0) >= 0 {
			return true
		}
	}
	return false
}

// secretKey reports whether a JSON key or header name names a credential.
func secretKey[T string | []byte](name T) bool {
	var buf [64]byte
	n := appendNormalizedKey(buf[:0], name)
	switch string(n) {
	case "authorization", "proxyauthorization", "apikey", "xapikey", "cookie", "setcookie",
		"password", "passwd", "secret", "clientsecret", "secretkey", "privatekey", "credentials":
		return true
	}
	return bytes.HasSuffix(n, []byte("token")) || bytes.HasSuffix(n, []byte("secret")) ||
		bytes.HasSuffix(n, []byte("password")) || bytes.HasSuffix(n, []byte("apikey"))
}

// normalizeKey lower-cases name and drops '-' and '_', so accessToken,
// access_token and Access-Token compare equal.
func normalizeKey(name string) string {
	return string(appendNormalizedKey(make([]byte, 0, len(name)), name))
}

// appendNormalizedKey appends normalizeKey(name) to dst without
// allocating when dst has room: secretKey runs for every JSON key.
func appendNormalizedKey[T string | []byte](dst []byte, name T) []byte {
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-' || c == '_':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// headers returns a copy of h with credential headers redacted and the
// other values scrubbed.
func (rd *redactor) headers(h map[string]string) map[string]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		if secretKey(k) || strings.Contains(strings.ToLower(k), "auth") {
			out[rd.text(k)] = redacted
			continue
		}
		out[rd.text(k)] = rd.text(v)
	}
	return out
}
