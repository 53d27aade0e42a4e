// Package jsonscan reads JSON in a byte slice without encoding/json's
// reflection: it skips over values without decoding them, and decodes a
// string's escapes (Unquote) exactly as encoding/json would. The request
// builder and the stream converter read a few fields out of large,
// already-valid JSON (tool schemas, event payloads) on the hot path, and
// the flow recorder decodes only the strings it must scrub; skipping what
// they do not need is far cheaper than decoding it.
package jsonscan

import "bytes"

// SkipString returns the index just past the string starting at p[i],
// which must be '"'. An unterminated string ends at len(p). It jumps from
// quote to quote with the vectorised IndexByte: a quote ends the string
// unless an odd run of backslashes escapes it (the first backslash of a
// run always starts an escape, since the byte before it is not one).
func SkipString(p []byte, i int) int {
	start := i + 1
	for i = start; i < len(p); {
		j := bytes.IndexByte(p[i:], '"')
		if j < 0 {
			return len(p)
		}
		q := i + j
		n := 0
		for b := q - 1; b >= start && p[b] == '\\'; b-- {
			n++
		}
		if n%2 == 0 {
			return q + 1
		}
		i = q + 1
	}
	return len(p)
}

// SkipValue returns the index just past the value starting at p[i]: a
// string, an object or array (brackets balanced, strings skipped), or a
// scalar ending at a delimiter or whitespace. The input is assumed valid;
// on truncated input the result is at most len(p).
func SkipValue(p []byte, i int) int {
	if i >= len(p) {
		return len(p)
	}
	switch p[i] {
	case '"':
		return SkipString(p, i)
	case '{', '[':
		depth := 0
		for ; i < len(p); i++ {
			switch p[i] {
			case '"':
				i = SkipString(p, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return len(p)
	}
	for ; i < len(p); i++ {
		switch p[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
}
