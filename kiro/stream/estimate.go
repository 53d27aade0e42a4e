package stream

import "unicode/utf8"

// estimate counts what the output-token estimate needs, as text arrives. It
// follows kiro.rs: ceil(other characters / 4) + ceil(CJK characters × 2 / 3)
// for text, (bytes + 3) / 4 per tool call's JSON. Counts are summed over the
// whole response and rounded once, so many small deltas do not inflate it.
type estimate struct {
	other int // characters outside CJK scripts
	cjk   int // CJK characters
	tool  int // tokens for tool-call JSON
}

func (e *estimate) addText(s string) {
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			e.other++
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if isCJK(r) {
			e.cjk++
		} else {
			e.other++
		}
	}
}

func (e *estimate) addTool(n int) { e.tool += (n + 3) / 4 }

func (e *estimate) tokens() int {
	return (e.other+3)/4 + (e.cjk*2+2)/3 + e.tool
}

// isCJK reports whether r belongs to a script whose characters are roughly
// a token or more each: Han, kana, Hangul and their punctuation and
// full-width forms.
func isCJK(r rune) bool {
	switch {
	case r >= 0x3000 && r <= 0x30FF: // CJK punctuation, Hiragana, Katakana
		return true
	case r >= 0x3400 && r <= 0x4DBF: // Han extension A
		return true
	case r >= 0x4E00 && r <= 0x9FFF: // Han
		return true
	case r >= 0xAC00 && r <= 0xD7AF: // Hangul syllables
		return true
	case r >= 0xF900 && r <= 0xFAFF: // Han compatibility
		return true
	case r >= 0xFF00 && r <= 0xFFEF: // full-width forms
		return true
	case r >= 0x20000 && r <= 0x3134F: // Han extensions B–G
		return true
	}
	return false
}
