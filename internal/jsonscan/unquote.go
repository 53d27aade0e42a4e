package jsonscan

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"
)

// Invalid says what Unquote does with bytes of a string that are not
// UTF-8. Both callers want encoding/json's result; they differ in who
// produces it.
type Invalid int

const (
	// Reject makes Unquote report false, so a caller on the hot path
	// (the stream converter) can leave the rare case to encoding/json.
	Reject Invalid = iota
	// Replace turns each invalid byte into U+FFFD, as encoding/json
	// decodes it; the flow recorder scrubs such strings and writes them
	// out again, and has no slower path to fall back to.
	Replace
)

// Unquote appends the decoded content of a JSON string to dst; s is the
// content between the quotes, as written. Escapes are decoded as
// encoding/json decodes them: an unpaired surrogate becomes U+FFFD. It
// reports false for a malformed escape, and for invalid UTF-8 when
// invalid is Reject; dst may then hold part of the string.
func Unquote(dst, s []byte, invalid Invalid) ([]byte, bool) {
	valid := utf8.Valid(s)
	if !valid && invalid == Reject {
		return dst, false
	}
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			j := bytes.IndexByte(s[i:], '\\')
			if j < 0 {
				j = len(s) - i
			}
			if valid {
				dst = append(dst, s[i:i+j]...)
			} else {
				dst = appendReplacing(dst, s[i:i+j])
			}
			i += j
			continue
		}
		if i+1 >= len(s) {
			return dst, false
		}
		switch e := s[i+1]; e {
		case '"', '\\', '/':
			dst = append(dst, e)
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
			r, ok := hex4(s, i+2)
			if !ok {
				return dst, false
			}
			i += 6
			if utf16.IsSurrogate(r) {
				// A surrogate pair is two escapes; anything else after
				// the first half leaves it unpaired.
				r2, ok2 := rune(0), false
				if i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
					r2, ok2 = hex4(s, i+2)
				}
				if d := utf16.DecodeRune(r, r2); ok2 && d != utf8.RuneError {
					r = d
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default:
			return dst, false
		}
		i += 2
	}
	return dst, true
}

// appendReplacing appends s with each byte that is not part of a valid
// UTF-8 sequence replaced by U+FFFD.
func appendReplacing(dst, s []byte) []byte {
	for len(s) > 0 {
		r, size := utf8.DecodeRune(s)
		if r == utf8.RuneError && size == 1 {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		} else {
			dst = append(dst, s[:size]...)
		}
		s = s[size:]
	}
	return dst
}

// hex4 reads the four hex digits at s[i:].
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
