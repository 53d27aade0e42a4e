package flows

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// redacted replaces every secret value kirobar removes.
const redacted = "[REDACTED]"

// minSecretLen is the shortest known secret scrubbed by value; shorter
// strings are not credentials and would scrub ordinary text.
const minSecretLen = 4

var (
	// bearerRE finds bearer tokens in free text (error messages, SSE).
	bearerRE = regexp.MustCompile(`(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/=:]+`)
	// jsonSecretRE finds "accessToken":"..." style pairs embedded in text,
	// such as an upstream error message that quotes a JSON body.
	jsonSecretRE = regexp.MustCompile(`(?i)("(?:access_?token|refresh_?token|id_?token|session_?token|client_?secret|api_?key|x-api-key|authorization|password)"\s*:\s*")(?:[^"\\]|\\.)*(")`)
	// formSecretRE finds key=value credentials in query strings and
	// form-encoded bodies.
	formSecretRE = regexp.MustCompile(`(?i)\b(access_token|refresh_token|id_token|client_secret|api_key|apikey|key|token|password)=[^&\s"']+`)
)

// redactor removes secrets and bulky binary data from what a flow carries.
// known holds the secret values given to Recorder.SetSecrets, longest
// first, so a secret is scrubbed wherever it appears.
type redactor struct {
	known    []string
	replacer *strings.Replacer
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
	if len(known) > 0 {
		pairs := make([]string, 0, 2*len(known))
		for _, s := range known {
			pairs = append(pairs, s, redacted)
		}
		rd.replacer = strings.NewReplacer(pairs...)
	}
	return rd
}

// text scrubs known secrets, bearer tokens and credential pairs from s.
func (rd *redactor) text(s string) string {
	if s == "" {
		return s
	}
	if rd.replacer != nil {
		s = rd.replacer.Replace(s)
	}
	// The substring checks keep the regular expressions off the common
	// strings that cannot match.
	if containsFold(s, "bearer") {
		s = bearerRE.ReplaceAllString(s, "${1} "+redacted)
	}
	if strings.Contains(s, `"`) && strings.Contains(s, ":") {
		s = jsonSecretRE.ReplaceAllString(s, "${1}"+redacted+"${2}")
	}
	if strings.Contains(s, "=") {
		s = formSecretRE.ReplaceAllString(s, "${1}="+redacted)
	}
	return s
}

// containsFold reports whether s contains the lower-case ASCII word sub,
// ignoring case.
func containsFold(s, sub string) bool {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		if strings.EqualFold(s[i:i+n], sub) {
			return true
		}
	}
	return false
}

// bytes scrubs raw bytes (captured upstream data) the way text does.
func (rd *redactor) bytes(b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	return []byte(rd.text(string(b)))
}

// leaks reports whether line still contains a known secret.
func (rd *redactor) leaks(line []byte) bool {
	for _, s := range rd.known {
		if bytes.Contains(line, []byte(s)) {
			return true
		}
	}
	return false
}

// secretKey reports whether a JSON key or header name names a credential.
func secretKey(name string) bool {
	n := normalizeKey(name)
	switch n {
	case "authorization", "proxyauthorization", "apikey", "xapikey", "cookie", "setcookie",
		"password", "passwd", "secret", "clientsecret", "secretkey", "privatekey", "credentials":
		return true
	}
	return strings.HasSuffix(n, "token") || strings.HasSuffix(n, "secret") ||
		strings.HasSuffix(n, "password") || strings.HasSuffix(n, "apikey")
}

// normalizeKey lower-cases name and drops '-' and '_', so accessToken,
// access_token and Access-Token compare equal.
func normalizeKey(name string) string {
	b := make([]byte, 0, len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-' || c == '_':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return string(b)
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
// other string (and key) is scrubbed.
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
	n := len(b64) * 3 / 4
	n -= strings.Count(b64[max(0, len(b64)-2):], "=")
	return fmt.Sprintf("[omitted %s, %d bytes]", mediaType, max(n, 0))
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

// body redacts and caps one body; limit is the most bytes kept.
func (rd *redactor) body(b []byte, limit int) *Body {
	if len(b) == 0 {
		return nil
	}
	out := &Body{Size: len(b)}
	var text string
	if v, ok := decodeJSON(b); ok {
		enc, err := marshalJSON(rd.value(v))
		if err == nil && len(enc) <= limit {
			out.JSON = enc
			return out
		}
		if err == nil {
			text = string(enc)
		} else {
			text = rd.text(string(b))
		}
	} else {
		text = rd.text(string(b))
	}
	if len(text) > limit {
		full := len(text)
		text = cutUTF8(text, limit)
		out.Note = fmt.Sprintf("capped at max_body_kb: kept %d of %d bytes", len(text), full)
	}
	out.Text = text
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
