package flows

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"unicode/utf8"
)

// Body is a captured request or response body as stored in a details line:
// redacted JSON when it was JSON and fits the cap, otherwise text.
type Body struct {
	// Size is the length of the body as kirobar saw it, in bytes.
	Size int             `json:"size"`
	JSON json.RawMessage `json:"json,omitempty"`
	Text string          `json:"text,omitempty"`
	// Note explains what was changed: the cap that cut the body.
	Note string `json:"note,omitempty"`
	// Skeleton is how a details line stores a large JSON body: JSON with
	// its large parts replaced by references to shared pieces (see the
	// package doc). Root is the hex SHA-256 of Skeleton. Every reference
	// names its piece by the SHA-256 of the piece's bytes, so Root is the
	// root of a hash tree over every byte of the body: Store.Get checks
	// the skeleton and each piece against it as it rebuilds JSON, and
	// clears both.
	Skeleton json.RawMessage `json:"skeleton,omitempty"`
	Root     string          `json:"root,omitempty"`
}

// body redacts and caps one body; limit is the most bytes kept. buf is
// scratch space the result may use (the writer reuses it across flows).
// A JSON body keeps its bytes as written except where something is
// replaced and white space between tokens; anything else is scrubbed as
// text. size is the body's length as kirobar saw it, which is more than
// len(b) when Record already cut it.
func (rd *redactor) body(buf, b []byte, size, limit int) *Body {
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
		text = cutUTF8(text, limit)
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
func cutUTF8[T string | []byte](s T, n int) T {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
