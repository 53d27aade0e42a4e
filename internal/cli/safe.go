package cli

import (
	"io"
	"strconv"
	"unicode/utf8"
)

// Safe returns s with every character a terminal would act on, rather than
// show, written as a visible escape: control characters (ESC becomes
// `\x1b`, so ESC[2J cannot clear the screen and OSC 52 cannot write the
// clipboard), DEL, the C1 controls some terminals read as CSI, the
// bidirectional overrides that reorder what is shown, line separators and
// bytes that are not UTF-8. Tabs and newlines are escaped too, so a value
// stays in its table cell. Model names, account labels, error messages and
// every other string that came from outside pass through Safe, or through
// a SafeWriter, before kirobar prints them.
func Safe(s string) string {
	if clean(s, false) {
		return s
	}
	return string(appendSafe(nil, s, false))
}

// SafeWriter returns a writer that passes text to w with the characters
// Safe escapes made visible, except newlines and tabs, which lay out
// messages and tables. Its escapes of non-ASCII characters are JSON escapes
// (`\u009b`), so JSON written through it stays valid JSON.
func SafeWriter(w io.Writer) io.Writer {
	if sw, ok := w.(*safeWriter); ok {
		return sw
	}
	return &safeWriter{w: w}
}

// safeWriter is SafeWriter's writer. A rune split across two writes is
// held back until its last byte arrives.
type safeWriter struct {
	w    io.Writer
	tail []byte
}

func (sw *safeWriter) Write(p []byte) (int, error) {
	s := string(append(sw.tail, p...))
	sw.tail = sw.tail[:0]
	if cut := incompleteTail(s); cut > 0 {
		sw.tail = append(sw.tail, s[len(s)-cut:]...)
		s = s[:len(s)-cut]
	}
	var err error
	if clean(s, true) {
		_, err = io.WriteString(sw.w, s)
	} else {
		_, err = sw.w.Write(appendSafe(nil, s, true))
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// incompleteTail is the length of a UTF-8 sequence that s ends in the
// middle of, 0 if none.
func incompleteTail(s string) int {
	for n := 1; n <= utf8.UTFMax-1 && n <= len(s); n++ {
		b := s[len(s)-n]
		if b < utf8.RuneSelf {
			return 0
		}
		if utf8.RuneStart(b) {
			if utf8.FullRuneInString(s[len(s)-n:]) {
				return 0
			}
			return n
		}
	}
	return 0
}

// clean reports whether s needs no escape.
func clean(s string, layout bool) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b >= 0x20 && b < 0x7f {
			continue
		}
		if layout && (b == '\n' || b == '\t') {
			continue
		}
		if b < utf8.RuneSelf {
			return false
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if unsafeRune(r, size) {
			return false
		}
		i += size - 1
	}
	return true
}

// unsafeRune reports whether a decoded non-ASCII rune must be escaped.
func unsafeRune(r rune, size int) bool {
	switch {
	case r == utf8.RuneError && size == 1: // not UTF-8
		return true
	case r >= 0x80 && r <= 0x9f: // C1 controls: 0x9b is CSI on some terminals
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true // bidirectional marks and overrides
	case r == 0x2028, r == 0x2029: // line and paragraph separators
		return true
	}
	return false
}

// appendSafe appends s to dst with unsafe characters escaped; layout keeps
// newlines and tabs.
func appendSafe(dst []byte, s string, layout bool) []byte {
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			i++
			switch {
			case b >= 0x20 && b < 0x7f, layout && (b == '\n' || b == '\t'):
				dst = append(dst, b)
			case b == '\n':
				dst = append(dst, `\n`...)
			case b == '\t':
				dst = append(dst, `\t`...)
			case b == '\r':
				dst = append(dst, `\r`...)
			case b == 0x7f:
				dst = append(dst, `\u007f`...)
			default:
				dst = appendHex(append(dst, `\x`...), uint32(b), 2)
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = appendHex(append(dst, `\x`...), uint32(b), 2)
		case unsafeRune(r, size):
			dst = appendHex(append(dst, `\u`...), uint32(r), 4)
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

// appendHex appends v as at least width lowercase hex digits.
func appendHex(dst []byte, v uint32, width int) []byte {
	h := strconv.FormatUint(uint64(v), 16)
	for n := len(h); n < width; n++ {
		dst = append(dst, '0')
	}
	return append(dst, h...)
}
