package stream

import (
	"encoding/json"

	"github.com/kirobar/kirobar/internal/jsonscan"
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
	return jsonscan.Unquote(dst, val[1:len(val)-1], jsonscan.Reject)
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
