package stream

import (
	"encoding/json"
	"github.com/kirobar/kirobar/internal/jsonscan"
	"unicode/utf16"
	"unicode/utf8"
)

// Text and tool frames are most of a response, so their payloads are read
// with a small scanner instead of encoding/json's reflection: json.Valid
// first (it does not allocate), then a walk over the top-level fields of the
// already-validated object. Strings are unquoted into a reused buffer; the
// only allocation left per text frame is the delta string itself.

// fieldIter walks the top-level fields of a JSON object that json.Valid
// accepted.
type fieldIter struct {
	p []byte
	i int
}

// newFieldIter returns an iterator over p, or false when p is not a valid
// JSON object.
func newFieldIter(p []byte) (fieldIter, bool) {
	if !json.Valid(p) {
		return fieldIter{}, false
	}
	it := fieldIter{p: p}
	it.skipSpace()
	if it.i >= len(p) || p[it.i] != '{' {
		return fieldIter{}, false
	}
	it.i++
	return it, true
}

// next returns the next key (raw, without quotes) and raw value.
func (it *fieldIter) next() (key, val []byte, ok bool) {
	it.skipSpace()
	if it.i < len(it.p) && it.p[it.i] == ',' {
		it.i++
		it.skipSpace()
	}
	if it.i >= len(it.p) || it.p[it.i] != '"' {
		return nil, nil, false // '}' or end
	}
	start := it.i
	it.i = jsonscan.SkipString(it.p, it.i)
	key = it.p[start+1 : it.i-1]
	it.skipSpace()
	it.i++ // ':'
	it.skipSpace()
	start = it.i
	it.i = jsonscan.SkipValue(it.p, it.i)
	return key, it.p[start:it.i], true
}

func (it *fieldIter) skipSpace() {
	for it.i < len(it.p) {
		switch it.p[it.i] {
		case ' ', '\t', '\n', '\r':
			it.i++
		default:
			return
		}
	}
}

// appendUnquote appends the decoded JSON string val (with its quotes) to
// dst. It reports false for anything it does not decode exactly as
// encoding/json would (invalid UTF-8, which encoding/json replaces), so the
// caller can fall back to it.
func appendUnquote(dst, val []byte) ([]byte, bool) {
	if len(val) < 2 || val[0] != '"' || val[len(val)-1] != '"' {
		return dst, false
	}
	s := val[1 : len(val)-1]
	if !utf8.Valid(s) {
		return dst, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		if i >= len(s) {
			return dst, false
		}
		switch s[i] {
		case '"', '\\', '/':
			dst = append(dst, s[i])
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
			r, ok := hex4(s, i+1)
			if !ok {
				return dst, false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2, ok2 := rune(0), false
				if i+2 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					r2, ok2 = hex4(s, i+3)
				}
				if d := utf16.DecodeRune(r, r2); ok2 && d != utf8.RuneError {
					r = d
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
		default:
			return dst, false
		}
	}
	return dst, true
}

func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range s[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// appendString appends the decoded JSON string val to dst, falling back to
// encoding/json for the rare cases appendUnquote leaves to it. It reports
// false when val is not a string.
func appendString(dst, val []byte) ([]byte, bool) {
	n := len(dst)
	if out, ok := appendUnquote(dst, val); ok {
		return out, true
	}
	var s string
	if err := json.Unmarshal(val, &s); err != nil {
		return dst[:n], false
	}
	return append(dst[:n], s...), true
}

func isNull(val []byte) bool { return string(val) == "null" }
