package flows

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/kirobar/kirobar/internal/jsonw"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// redacted replaces every secret value kirobar removes.
const redacted = "[REDACTED]"

// minSecretLen is the shortest known secret scrubbed by value; shorter
// strings are not credentials and would scrub ordinary text.
const minSecretLen = 4

// maxJSONDepth bounds the nesting the body scanner follows, as
// encoding/json does; deeper bodies are stored as scrubbed text.
const maxJSONDepth = 10000

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
	if strings.ContainsAny(s, `="`) || indexFold(s, "bearer") >= 0 {
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
func indexFold(s, sub string) int {
	return indexFoldBytes([]byte(s), sub)
}

// indexFoldBytes is indexFold for bytes.
func indexFoldBytes(s []byte, sub string) int {
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
		i := indexFoldBytes(s[off:], "bearer")
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

// value walks a decoded JSON value: credential keys lose their values,
// images and documents are replaced by their type and size, and every
// other string (and key) is scrubbed. The diagnostic bundle uses it for
// its small sections; bodies go through redactJSON instead.
func (rd *redactor) value(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return rd.object(x)
	case []any:
		for i := range x {
			x[i] = rd.value(x[i])
		}
		return x
	case string:
		if note, ok := dataURLNote(x); ok {
			return note
		}
		return rd.text(x)
	default:
		return v
	}
}

// object redacts one JSON object in place and returns it.
func (rd *redactor) object(m map[string]any) map[string]any {
	// Anthropic image/document source: {"type":"base64","media_type":..,"data":..}.
	if mt, ok := m["media_type"].(string); ok {
		if data, ok := m["data"].(string); ok {
			m["data"] = binaryNote(mt, data)
		}
	}
	// Kiro image: {"format":"png","source":{"bytes":..}}.
	if format, ok := m["format"].(string); ok {
		if src, ok := m["source"].(map[string]any); ok {
			if data, ok := src["bytes"].(string); ok {
				src["bytes"] = binaryNote("image/"+format, data)
			}
		}
	}
	out := make(map[string]any, len(m))
	for k, val := range m {
		key := rd.text(k)
		if secretKey(k) {
			if _, isString := val.(string); isString {
				out[key] = redacted
				continue
			}
			if _, isNumber := val.(json.Number); isNumber {
				out[key] = redacted
				continue
			}
		}
		out[key] = rd.value(val)
	}
	return out
}

// dataURLNote replaces a base64 data URL (OpenAI image_url, Responses
// input_image) with its media type and size.
func dataURLNote(s string) (string, bool) {
	if !strings.HasPrefix(s, "data:") {
		return "", false
	}
	meta, data, ok := strings.Cut(s[len("data:"):], ";base64,")
	if !ok {
		return "", false
	}
	return binaryNote(meta, data), true
}

// binaryNote describes base64 data by media type and decoded size.
func binaryNote(mediaType, b64 string) string {
	if strings.HasPrefix(b64, "[omitted") {
		return b64
	}
	return binaryNoteLen(mediaType, len(b64), strings.Count(b64[max(0, len(b64)-2):], "="))
}

// binaryNoteLen describes base64 data of n characters ending in pad '='
// by media type and decoded size.
func binaryNoteLen(mediaType string, n, pad int) string {
	return fmt.Sprintf("[omitted %s, %d bytes]", mediaType, max(n*3/4-pad, 0))
}

// Body is a captured request or response body as stored in a details line:
// redacted JSON when it was JSON and fits the cap, otherwise text.
type Body struct {
	// Size is the length of the body as kirobar saw it, in bytes.
	Size int             `json:"size"`
	JSON json.RawMessage `json:"json,omitempty"`
	Text string          `json:"text,omitempty"`
	// Note explains what was changed: the cap that cut the body.
	Note string `json:"note,omitempty"`
}

// body redacts and caps one body; limit is the most bytes kept. buf is
// scratch space the result may use (the writer reuses it across flows).
// A JSON body keeps its bytes as written except where something is
// replaced and white space between tokens; anything else is scrubbed as
// text. size is the body's length as kirobar saw it, which is more than
// len(b) when Record already cut it.
func (rd *redactor) body(b []byte, limit int) *Body {
	return rd.bodyInto(nil, b, len(b), limit)
}

// bodyInto is body with the output appended to buf.
func (rd *redactor) bodyInto(buf, b []byte, size, limit int) *Body {
	if len(b) == 0 {
		return nil
	}
	out := &Body{Size: max(size, len(b))}
	full := 0 // the size to report when Record cut the body already
	if size > len(b) {
		full = size
	} else if enc, ok := rd.redactJSON(buf[:0], b); ok {
		if len(enc) <= limit {
			out.JSON = enc
			return out
		}
		return capText(out, enc, 0, limit)
	}
	text, _ := rd.scrub(buf[:0], b)
	return capText(out, text, full, limit)
}

// capText stores text in out, cut to limit bytes with a note when it is
// longer or when Record cut the body before (full is then the size
// kirobar saw).
func capText(out *Body, text []byte, full, limit int) *Body {
	n := len(text)
	if n > limit {
		text = cutUTF8Bytes(text, limit)
	}
	if n > limit || full > n {
		out.Note = fmt.Sprintf("capped at max_body_kb: kept %d of %d bytes", len(text), max(n, full))
	}
	out.Text = string(text)
	return out
}

// decodeJSON decodes b as exactly one JSON value, keeping numbers as they
// were written.
func decodeJSON(b []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return v, true
}

// marshalJSON encodes v compactly without HTML escaping.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode json: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// cutUTF8 cuts s to at most n bytes without splitting a rune.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// cutUTF8Bytes is cutUTF8 for bytes.
func cutUTF8Bytes(s []byte, n int) []byte {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// jsonScan is one body's redaction: a single pass over the JSON bytes
// that validates them, copies every token that needs no change as it was
// written (dropping white space between tokens), blanks the string and
// number values of credential keys, replaces base64 images by their type
// and size, and scrubs only the strings that can hold something to scrub.
type jsonScan struct {
	rd    *redactor
	src   []byte
	i     int
	out   []byte
	depth int
	// hits are the ranges of src where a known secret or the word
	// "bearer" occurs, in order; the strings they fall in are scrubbed.
	hits [][2]int
	hit  int
	dec  []byte // a decoded string
	scr  []byte // a scrubbed string
}

// pendingNote is a base64 value already copied to out whose replacement
// depends on a key that came later in its object (media_type after data).
type pendingNote struct {
	start, end int // in out, quotes included
	n, pad     int // base64 characters and trailing '='
	omitted    bool
	set        bool
	mediaType  string // known once the object ends
}

// strInfo describes one scanned string token.
type strInfo struct {
	start, end int // the content in src, without quotes
	esc        bool
	risky      bool // an escape that can spell part of a secret or a quote
	nonASCII   bool
}

// redactJSON appends the redacted form of the JSON value b to dst; ok is
// false when b is not exactly one valid JSON value.
func (rd *redactor) redactJSON(dst, b []byte) (out []byte, ok bool) {
	if cap(dst)-len(dst) < len(b) {
		dst = append(make([]byte, 0, len(dst)+len(b)+len(b)/16), dst...)
	}
	s := jsonScan{rd: rd, src: b, out: dst}
	for _, f := range rd.finders {
		for off := 0; ; {
			i := f.index(b, off)
			if i < 0 {
				break
			}
			s.hits = append(s.hits, [2]int{i, i + len(f.s)})
			off = i + len(f.s)
		}
	}
	for off := 0; ; {
		i := indexFoldBytes(b[off:], "bearer")
		if i < 0 {
			break
		}
		s.hits = append(s.hits, [2]int{off + i, off + i + len("bearer")})
		off += i + 1
	}
	sort.Slice(s.hits, func(i, j int) bool { return s.hits[i][0] < s.hits[j][0] })
	s.ws()
	if !s.value() {
		return dst, false
	}
	s.ws()
	if s.i != len(b) {
		return dst, false
	}
	return s.out, true
}

func (s *jsonScan) ws() {
	for s.i < len(s.src) {
		switch s.src[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// imageFormat is a Kiro image's "format", passed to its "source" object;
// known is false while the format has not been seen (it may come later).
type imageFormat struct {
	known  bool
	format string
}

// value scans one value.
func (s *jsonScan) value() bool {
	if s.i >= len(s.src) {
		return false
	}
	switch c := s.src[s.i]; {
	case c == '{':
		_, ok := s.object(imageFormat{}, false)
		return ok
	case c == '[':
		return s.array()
	case c == '"':
		info, ok := s.scanString()
		if !ok {
			return false
		}
		s.emitString(info, true)
		return true
	case c == '-' || c >= '0' && c <= '9':
		start := s.i
		if !s.number() {
			return false
		}
		s.out = append(s.out, s.src[start:s.i]...)
		return true
	default:
		for _, lit := range []string{"true", "false", "null"} {
			if bytes.HasPrefix(s.src[s.i:], []byte(lit)) {
				s.i += len(lit)
				s.out = append(s.out, lit...)
				return true
			}
		}
		return false
	}
}

// object scans an object. When isSource, it is an object's "source" and
// parentFormat that object's image format; the returned note is then
// this object's "bytes" value when it still waits for that format.
func (s *jsonScan) object(parentFormat imageFormat, isSource bool) (pendingNote, bool) {
	if s.depth++; s.depth > maxJSONDepth {
		return pendingNote{}, false
	}
	defer func() { s.depth-- }()
	s.i++
	s.out = append(s.out, '{')
	var (
		mediaType, format    string
		hasMT, hasFormat     bool
		data, bytesV, source pendingNote
	)
	s.ws()
	if s.i < len(s.src) && s.src[s.i] == '}' {
		s.i++
		s.out = append(s.out, '}')
		return pendingNote{}, true
	}
	for n := 0; ; n++ {
		if n > 0 {
			s.out = append(s.out, ',')
		}
		s.ws()
		if s.i >= len(s.src) || s.src[s.i] != '"' {
			return pendingNote{}, false
		}
		kinfo, ok := s.scanString()
		if !ok {
			return pendingNote{}, false
		}
		var kbuf [48]byte
		key := append(kbuf[:0], s.decoded(kinfo)...)
		s.emitString(kinfo, false)
		s.ws()
		if s.i >= len(s.src) || s.src[s.i] != ':' {
			return pendingNote{}, false
		}
		s.i++
		s.out = append(s.out, ':')
		s.ws()
		if s.i >= len(s.src) {
			return pendingNote{}, false
		}
		c := s.src[s.i]
		switch {
		case secretKey(key) && (c == '"' || c == '-' || c >= '0' && c <= '9'):
			if c == '"' {
				if _, ok := s.scanString(); !ok {
					return pendingNote{}, false
				}
			} else if !s.number() {
				return pendingNote{}, false
			}
			s.out = append(s.out, `"`+redacted+`"`...)
		case c == '"' && (string(key) == "data" || string(key) == "bytes" && isSource):
			info, ok := s.scanString()
			if !ok {
				return pendingNote{}, false
			}
			v := s.decoded(info)
			p := pendingNote{n: len(v), pad: bytes.Count(v[max(0, len(v)-2):], []byte("=")), omitted: bytes.HasPrefix(v, []byte("[omitted")), set: true}
			switch {
			case string(key) == "data" && hasMT:
				s.emitNote(mediaType, p, info)
			case string(key) == "bytes" && parentFormat.known:
				s.emitNote("image/"+parentFormat.format, p, info)
			default:
				p.start = len(s.out)
				s.emitString(info, true)
				p.end = len(s.out)
				if string(key) == "data" {
					data = p
				} else {
					bytesV = p
				}
			}
		case c == '"' && (string(key) == "media_type" || string(key) == "format"):
			info, ok := s.scanString()
			if !ok {
				return pendingNote{}, false
			}
			v := s.rd.text(string(s.decoded(info)))
			if string(key) == "media_type" {
				mediaType, hasMT = v, true
			} else {
				format, hasFormat = v, true
			}
			s.emitString(info, true)
		case c == '{' && string(key) == "source":
			// format may still come after source: the child reports a
			// "bytes" value it could not replace yet.
			p, ok := s.object(imageFormat{known: hasFormat, format: format}, true)
			if !ok {
				return pendingNote{}, false
			}
			source = p
		default:
			if !s.value() {
				return pendingNote{}, false
			}
		}
		s.ws()
		if s.i >= len(s.src) {
			return pendingNote{}, false
		}
		if s.src[s.i] == ',' {
			s.i++
			continue
		}
		if s.src[s.i] != '}' {
			return pendingNote{}, false
		}
		s.i++
		s.out = append(s.out, '}')
		break
	}
	// Replace the values that waited for a key written after them, the
	// later one first so the offsets of the earlier one still hold.
	doData, doSource := hasMT && data.set, hasFormat && source.set
	data.mediaType, source.mediaType = mediaType, "image/"+format
	if doData && doSource && source.start < data.start {
		s.splice(&data, &bytesV)
		s.splice(&source, &bytesV)
	} else {
		if doSource {
			s.splice(&source, &bytesV)
		}
		if doData {
			s.splice(&data, &bytesV)
		}
	}
	return bytesV, true
}

// splice replaces p's value in out by its note, moving the offsets of
// other when it lies after it.
func (s *jsonScan) splice(p, other *pendingNote) {
	if !p.set || p.omitted {
		return
	}
	note := jsonw.String(nil, binaryNoteLen(p.mediaType, p.n, p.pad))
	tail := append([]byte(nil), s.out[p.end:]...)
	s.out = append(append(s.out[:p.start], note...), tail...)
	delta := len(note) - (p.end - p.start)
	if other.set && other.start >= p.end {
		other.start += delta
		other.end += delta
	}
	p.set = false
}

// emitNote writes the note for base64 data p of media type mediaType (or
// the value itself when it is a note already).
func (s *jsonScan) emitNote(mediaType string, p pendingNote, info strInfo) {
	if p.omitted {
		s.emitString(info, true)
		return
	}
	s.out = jsonw.String(s.out, binaryNoteLen(mediaType, p.n, p.pad))
}

func (s *jsonScan) array() bool {
	if s.depth++; s.depth > maxJSONDepth {
		return false
	}
	defer func() { s.depth-- }()
	s.i++
	s.out = append(s.out, '[')
	s.ws()
	if s.i < len(s.src) && s.src[s.i] == ']' {
		s.i++
		s.out = append(s.out, ']')
		return true
	}
	for n := 0; ; n++ {
		if n > 0 {
			s.out = append(s.out, ',')
		}
		s.ws()
		if !s.value() {
			return false
		}
		s.ws()
		if s.i >= len(s.src) {
			return false
		}
		switch s.src[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			s.out = append(s.out, ']')
			return true
		default:
			return false
		}
	}
}

// number scans a JSON number.
func (s *jsonScan) number() bool {
	src, i := s.src, s.i
	digits := func() bool {
		start := i
		for i < len(src) && src[i] >= '0' && src[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(src) && src[i] == '-' {
		i++
	}
	switch {
	case i < len(src) && src[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(src) && src[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		i++
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	s.i = i
	return true
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// scanString scans the string token at s.i and validates it.
func (s *jsonScan) scanString() (strInfo, bool) {
	src := s.src
	i := s.i + 1
	info := strInfo{start: i}
	for {
		// Eight plain bytes at a time: no quote, backslash, control
		// character or non-ASCII byte among them.
		for i+8 <= len(src) {
			x := uint64(src[i]) | uint64(src[i+1])<<8 | uint64(src[i+2])<<16 | uint64(src[i+3])<<24 |
				uint64(src[i+4])<<32 | uint64(src[i+5])<<40 | uint64(src[i+6])<<48 | uint64(src[i+7])<<56
			q, b := x^(lsb*'"'), x^(lsb*'\\')
			if ((x-lsb*0x20)&^x|(q-lsb)&^q|(b-lsb)&^b|x)&msb != 0 {
				break
			}
			i += 8
		}
		if i >= len(src) {
			return info, false
		}
		switch c := src[i]; {
		case c == '"':
			info.end = i
			s.i = i + 1
			return info, true
		case c == '\\':
			if i+1 >= len(src) {
				return info, false
			}
			info.esc = true
			switch e := src[i+1]; e {
			case '"':
				info.risky = true
				i += 2
			case '\\', '/', 'b', 'f', 'n', 'r', 't':
				if s.rd.escRisky[e] {
					info.risky = true
				}
				i += 2
			case 'u':
				if i+6 > len(src) || !isHex4(src[i+2:i+6]) {
					return info, false
				}
				info.risky = true
				i += 6
			default:
				return info, false
			}
		case c < 0x20:
			return info, false
		case c >= utf8.RuneSelf:
			info.nonASCII = true
			i++
		default:
			i++
		}
	}
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// decoded returns the string's content with escapes decoded (in s.dec,
// valid until the next call) or its bytes in src when it has none.
func (s *jsonScan) decoded(info strInfo) []byte {
	raw := s.src[info.start:info.end]
	if !info.esc {
		return raw
	}
	s.dec = unescape(s.dec[:0], raw)
	return s.dec
}

// emitString writes a scanned string: as written when nothing in it can
// need redaction, else decoded, scrubbed and re-encoded if that changed
// it. value marks string values, where a data URL becomes a note.
func (s *jsonScan) emitString(info strInfo, value bool) {
	raw := s.src[info.start:info.end]
	for s.hit < len(s.hits) && s.hits[s.hit][1] <= info.start {
		s.hit++
	}
	hit := s.hit < len(s.hits) && s.hits[s.hit][0] < info.end
	badUTF8 := info.nonASCII && !utf8.Valid(raw)
	if !hit && !info.risky && !badUTF8 && bytes.IndexByte(raw, '=') < 0 &&
		!(bytes.Contains(raw, []byte(";base64,"))) {
		s.out = append(append(append(s.out, '"'), raw...), '"')
		return
	}
	content := s.decoded(info)
	if value {
		if note, ok := dataURLNote(string(content)); ok {
			s.out = jsonw.String(s.out, note)
			return
		}
	}
	var changed bool
	s.scr, changed = s.rd.scrub(s.scr[:0], content)
	if !changed && !badUTF8 {
		s.out = append(append(append(s.out, '"'), raw...), '"')
		return
	}
	s.out = jsonw.String(s.out, string(s.scr)) // only when a secret was scrubbed: rare
}

// unescape appends the decoded content of a valid JSON string to dst;
// unpaired surrogates become U+FFFD as encoding/json decodes them.
func unescape(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			j := bytes.IndexByte(raw[i:], '\\')
			if j < 0 {
				return append(dst, raw[i:]...)
			}
			dst = append(dst, raw[i:i+j]...)
			i += j
			continue
		}
		e := raw[i+1]
		switch e {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(raw[i+2 : i+6])
			i += 6
			if utf16IsSurrogate(r) {
				r2 := rune(-1)
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					r2 = hex4(raw[i+2 : i+6])
				}
				if r >= 0xd800 && r < 0xdc00 && r2 >= 0xdc00 && r2 < 0xe000 {
					r = (r-0xd800)<<10 | (r2 - 0xdc00) + 0x10000
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // " \ /
			dst = append(dst, e)
		}
		i += 2
	}
	return dst
}

func utf16IsSurrogate(r rune) bool { return r >= 0xd800 && r < 0xe000 }

func hex4(b []byte) rune {
	v, _ := strconv.ParseUint(string(b), 16, 32)
	return rune(v)
}
