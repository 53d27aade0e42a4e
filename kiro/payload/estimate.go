package payload

import (
	"unicode"
	"unicode/utf8"
)

// imageTokens is the estimate for one image: Anthropic's (w×h)/750 for a
// typical 1092×1092 screenshot. Kiro does not report image sizes, and
// decoding images to measure them would cost more than the estimate is worth.
const imageTokens = 1600

// counter accumulates characters for a cheap token estimate: about four
// Latin characters per token, and 1.5 tokens per CJK character (kiro.rs
// estimate_tokens). It never runs a tokenizer: estimates are made once per
// request on the hot path.
type counter struct {
	other, cjk, images int
}

func (c *counter) add(s string) {
	for i := 0; i < len(s); {
		j := i
		for j+8 <= len(s) && ascii8(s, j) {
			j += 8
		}
		for j < len(s) && s[j] < utf8.RuneSelf {
			j++
		}
		c.other += j - i
		if j == len(s) {
			return
		}
		r, size := utf8.DecodeRuneInString(s[j:])
		c.addRune(r)
		i = j + size
	}
}

func (c *counter) addBytes(b []byte) {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			c.other++
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		i += size
		c.addRune(r)
	}
}

func (c *counter) addRune(r rune) {
	if unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) ||
		unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r) {
		c.cjk++
		return
	}
	c.other++
}

func (c *counter) merge(o counter) {
	c.other += o.other
	c.cjk += o.cjk
	c.images += o.images
}

// tokens returns the estimate in tokens.
func (c counter) tokens() int {
	return (c.other+3)/4 + (c.cjk*3+1)/2 + c.images*imageTokens
}

// turnCount returns the counter for everything a turn sends.
func turnCount(t *turn, content string) counter {
	var c counter
	c.add(content)
	for _, u := range t.uses {
		c.add(u.name)
		c.addBytes(u.input)
	}
	for _, r := range t.results {
		c.add(r.text)
	}
	c.images = len(t.images)
	return c
}

// ascii8 reports whether the 8 bytes at s[i:] are all ASCII, testing them
// as one word: prompts are mostly ASCII, and the estimate runs over every
// byte of every request.
func ascii8(s string, i int) bool {
	x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
	return x&0x8080808080808080 == 0
}
