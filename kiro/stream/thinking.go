package stream

import (
	"bytes"

	"github.com/kirobar/kirobar/canon"
)

// When thinking tags were injected into the request, the model answers with
// "<thinking>…</thinking>\n\n" followed by its answer. The splitter streams
// the thinking text as it arrives, holding back only bytes that could be the
// start of the closing tag. A closing tag is real when it is not preceded by
// a quote or backtick (a literal mention such as `</thinking>`) and is
// followed by "\n\n", or by nothing but whitespace when the buffer ends (at
// the end of the stream or when a tool call starts). The held-back bytes
// always start at an ASCII '<' or at the tag itself, so every cut falls on a
// UTF-8 character boundary.

var (
	openTag  = []byte("<thinking>")
	closeTag = []byte("</thinking>")
)

type thinkPhase uint8

const (
	phaseDetect   thinkPhase = iota // waiting to see whether the text opens with <thinking>
	phaseThinking                   // inside the thinking block
	phaseText                       // plain text for the rest of the stream
)

// thinkState is the thinking splitter's state.
type thinkState struct {
	phase   thinkPhase
	pend    []byte // text not yet emitted
	last    byte   // last byte of thinking emitted, to judge a tag at pend[0]
	stripNL bool   // drop the newline the model writes after <thinking>
	cut     bool   // the stream ended inside the thinking block
}

// thinkText feeds model text through the splitter.
func (c *Converter) thinkText(dst []canon.Event, s string) []canon.Event {
	t := &c.think
	switch t.phase {
	case phaseText:
		return c.emitModel(dst, canon.TextBlock, s)
	case phaseThinking:
		t.pend = append(t.pend, s...)
		return c.thinkScan(dst)
	}
	t.pend = append(t.pend, s...)
	rest := bytes.TrimLeft(t.pend, " \t\r\n")
	switch {
	case len(rest) == 0:
		return dst
	case bytes.HasPrefix(rest, openTag):
		t.phase, t.stripNL = phaseThinking, true
		t.pend = t.pend[:copy(t.pend, rest[len(openTag):])]
		return c.thinkScan(dst)
	case len(rest) < len(openTag) && bytes.HasPrefix(openTag, rest):
		return dst // maybe a tag split across frames
	}
	t.phase = phaseText
	out := string(t.pend)
	t.pend = t.pend[:0]
	return c.emitModel(dst, canon.TextBlock, out)
}

// thinkScan emits what is safe of the pending thinking text and switches to
// text at a real closing tag.
func (c *Converter) thinkScan(dst []canon.Event) []canon.Event {
	t := &c.think
	if t.stripNL && len(t.pend) > 0 {
		if t.pend[0] == '\n' {
			t.pend = t.pend[:copy(t.pend, t.pend[1:])]
		}
		t.stripNL = false
	}
	pos, real := findEnd(t.pend, t.last)
	dst = c.emitThinking(dst, t.pend[:pos])
	if !real {
		t.pend = t.pend[:copy(t.pend, t.pend[pos:])]
		return dst
	}
	out := string(t.pend[pos+len(closeTag)+2:])
	t.pend = t.pend[:0]
	dst = c.endThinking(dst)
	return c.emitModel(dst, canon.TextBlock, out)
}

// flushThinking ends the splitter at the end of the buffer: at the end of
// the stream (end) or before a tool call. Text still pending is emitted.
func (c *Converter) flushThinking(dst []canon.Event, end bool) []canon.Event {
	t := &c.think
	switch t.phase {
	case phaseText:
		return dst
	case phaseDetect:
		if len(bytes.TrimSpace(t.pend)) > 0 {
			dst = c.emitModel(dst, canon.TextBlock, string(t.pend))
		}
		t.pend = t.pend[:0]
		t.phase = phaseText
		return dst
	}
	if pos := findEndAtBufferEnd(t.pend, t.last); pos >= 0 {
		dst = c.emitThinking(dst, t.pend[:pos])
	} else {
		dst = c.emitThinking(dst, t.pend)
		t.cut = end
	}
	t.pend = t.pend[:0]
	return c.endThinking(dst)
}

func (c *Converter) emitThinking(dst []canon.Event, b []byte) []canon.Event {
	if len(b) == 0 {
		return dst
	}
	c.think.last = b[len(b)-1]
	return c.emitModel(dst, canon.ThinkingBlock, string(b))
}

func (c *Converter) endThinking(dst []canon.Event) []canon.Event {
	c.think.phase = phaseText
	if c.open && c.openKind == canon.ThinkingBlock {
		dst = c.closeBlock(dst)
	}
	return dst
}

// findEnd looks for a real closing tag in p; prev is the byte emitted just
// before p. It returns the tag's position and true, or the position from
// which p must be held back (len(p) when nothing is) and false.
func findEnd(p []byte, prev byte) (int, bool) {
	for from := 0; ; {
		i := bytes.Index(p[from:], closeTag)
		if i < 0 {
			break
		}
		i += from
		from = i + 1
		before := prev
		if i > 0 {
			before = p[i-1]
		}
		if isQuote(before) {
			continue
		}
		after := p[i+len(closeTag):]
		switch {
		case len(after) >= 2:
			if after[0] == '\n' && after[1] == '\n' {
				return i, true
			}
		case len(after) == 0 || after[0] == '\n':
			return i, false // undecided until more text arrives
		}
	}
	for k := min(len(closeTag)-1, len(p)); k > 0; k-- {
		if bytes.Equal(p[len(p)-k:], closeTag[:k]) {
			return len(p) - k, false
		}
	}
	return len(p), false
}

// findEndAtBufferEnd returns the position of a real closing tag followed only
// by whitespace, or -1.
func findEndAtBufferEnd(p []byte, prev byte) int {
	for from := 0; ; {
		i := bytes.Index(p[from:], closeTag)
		if i < 0 {
			return -1
		}
		i += from
		from = i + 1
		before := prev
		if i > 0 {
			before = p[i-1]
		}
		if !isQuote(before) && len(bytes.TrimSpace(p[i+len(closeTag):])) == 0 {
			return i
		}
	}
}

func isQuote(b byte) bool { return b == '`' || b == '"' || b == '\'' }

// FNV-1a, 64 bit: a cheap running hash of the thinking text.
const (
	fnvOffset uint64 = 14695981039346656037
	fnvPrime  uint64 = 1099511628211
)

func fnvAdd(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// signature is the placeholder signature of a thinking block: "kirobar-"
// and the FNV-1a hash of its text in hex. Kiro returns no signature and none
// that Anthropic could verify can exist; clients only require a non-empty
// value, and kirobar ignores signatures when the block comes back in history.
// Deterministic, so the same thinking always gets the same signature.
func signature(h uint64) string {
	const hex = "0123456789abcdef"
	b := []byte("kirobar-0000000000000000")
	for i := len(b) - 1; i >= len(b)-16; i-- {
		b[i] = hex[h&0xf]
		h >>= 4
	}
	return string(b)
}
