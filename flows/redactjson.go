package flows

import (
	"bytes"
	"sort"
	"unicode/utf8"

	"github.com/kirobar/kirobar/internal/jsonscan"
	"github.com/kirobar/kirobar/internal/jsonw"
)

// maxJSONDepth bounds the nesting the body scanner follows, as
// encoding/json does; deeper bodies are stored as scrubbed text.
const maxJSONDepth = 10000

// jsonScan is one body's redaction: a single pass over the JSON bytes
// that validates them, copies every token that needs no change as it was
// written (dropping white space between tokens), blanks the string and
// number values of credential keys, replaces base64 images by their type
// and size, and scrubs only the strings that can hold something to scrub.
type jsonScan struct {
	rd    *redactor
	src   []byte
	i     int
	out   []byte
	depth int
	// hits are the ranges of src where a known secret or the word
	// "bearer" occurs, in order; the strings they fall in are scrubbed.
	hits [][2]int
	hit  int
	dec  []byte // a decoded string
	scr  []byte // a scrubbed string
}

// pendingNote is a base64 value already copied to out whose replacement
// depends on a key that came later in its object (media_type after data).
type pendingNote struct {
	start, end int // in out, quotes included
	n, pad     int // base64 characters and trailing '='
	omitted    bool
	set        bool
	mediaType  string // known once the object ends
}

// strInfo describes one scanned string token.
type strInfo struct {
	start, end int // the content in src, without quotes
	esc        bool
	risky      bool // an escape that can spell part of a secret or a quote
	nonASCII   bool
}

// redactJSON appends the redacted form of the JSON value b to dst; ok is
// false when b is not exactly one valid JSON value.
func (rd *redactor) redactJSON(dst, b []byte) (out []byte, ok bool) {
	if cap(dst)-len(dst) < len(b) {
		dst = append(make([]byte, 0, len(dst)+len(b)+len(b)/16), dst...)
	}
	s := jsonScan{rd: rd, src: b, out: dst}
	for _, f := range rd.finders {
		for off := 0; ; {
			i := f.index(b, off)
			if i < 0 {
				break
			}
			s.hits = append(s.hits, [2]int{i, i + len(f.s)})
			off = i + len(f.s)
		}
	}
	for off := 0; ; {
		i := indexFold(b[off:], "bearer")
		if i < 0 {
			break
		}
		s.hits = append(s.hits, [2]int{off + i, off + i + len("bearer")})
		off += i + 1
	}
	sort.Slice(s.hits, func(i, j int) bool { return s.hits[i][0] < s.hits[j][0] })
	s.ws()
	if !s.value() {
		return dst, false
	}
	s.ws()
	if s.i != len(b) {
		return dst, false
	}
	return s.out, true
}

func (s *jsonScan) ws() {
	for s.i < len(s.src) {
		switch s.src[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// imageFormat is a Kiro image's "format", passed to its "source" object;
// known is false while the format has not been seen (it may come later).
type imageFormat struct {
	known  bool
	format string
}

// value scans one value.
func (s *jsonScan) value() bool {
	if s.i >= len(s.src) {
		return false
	}
	switch c := s.src[s.i]; {
	case c == '{':
		_, ok := s.object(imageFormat{}, false)
		return ok
	case c == '[':
		return s.array()
	case c == '"':
		info, ok := s.scanString()
		if !ok {
			return false
		}
		s.emitString(info, true)
		return true
	case c == '-' || c >= '0' && c <= '9':
		start := s.i
		if !s.number() {
			return false
		}
		s.out = append(s.out, s.src[start:s.i]...)
		return true
	default:
		for _, lit := range []string{"true", "false", "null"} {
			if bytes.HasPrefix(s.src[s.i:], []byte(lit)) {
				s.i += len(lit)
				s.out = append(s.out, lit...)
				return true
			}
		}
		return false
	}
}

// object scans an object. When isSource, it is an object's "source" and
// parentFormat that object's image format; the returned note is then
// this object's "bytes" value when it still waits for that format.
func (s *jsonScan) object(parentFormat imageFormat, isSource bool) (pendingNote, bool) {
	if s.depth++; s.depth > maxJSONDepth {
		return pendingNote{}, false
	}
	defer func() { s.depth-- }()
	s.i++
	s.out = append(s.out, '{')
	var (
		mediaType, format    string
		hasMT, hasFormat     bool
		data, bytesV, source pendingNote
	)
	s.ws()
	if s.i < len(s.src) && s.src[s.i] == '}' {
		s.i++
		s.out = append(s.out, '}')
		return pendingNote{}, true
	}
	for n := 0; ; n++ {
		if n > 0 {
			s.out = append(s.out, ',')
		}
		s.ws()
		if s.i >= len(s.src) || s.src[s.i] != '"' {
			return pendingNote{}, false
		}
		kinfo, ok := s.scanString()
		if !ok {
			return pendingNote{}, false
		}
		var kbuf [48]byte
		key := append(kbuf[:0], s.decoded(kinfo)...)
		s.emitString(kinfo, false)
		s.ws()
		if s.i >= len(s.src) || s.src[s.i] != ':' {
			return pendingNote{}, false
		}
		s.i++
		s.out = append(s.out, ':')
		s.ws()
		if s.i >= len(s.src) {
			return pendingNote{}, false
		}
		c := s.src[s.i]
		switch {
		case secretKey(key) && (c == '"' || c == '-' || c >= '0' && c <= '9'):
			if c == '"' {
				if _, ok := s.scanString(); !ok {
					return pendingNote{}, false
				}
			} else if !s.number() {
				return pendingNote{}, false
			}
			s.out = append(s.out, `"`+redacted+`"`...)
		case c == '"' && (string(key) == "data" || string(key) == "bytes" && isSource):
			info, ok := s.scanString()
			if !ok {
				return pendingNote{}, false
			}
			v := s.decoded(info)
			p := pendingNote{n: len(v), pad: bytes.Count(v[max(0, len(v)-2):], []byte("=")), omitted: bytes.HasPrefix(v, []byte("[omitted")), set: true}
			switch {
			case string(key) == "data" && hasMT:
				s.emitNote(mediaType, p, info)
			case string(key) == "bytes" && parentFormat.known:
				s.emitNote("image/"+parentFormat.format, p, info)
			default:
				p.start = len(s.out)
				s.emitString(info, true)
				p.end = len(s.out)
				if string(key) == "data" {
					data = p
				} else {
					bytesV = p
				}
			}
		case c == '"' && (string(key) == "media_type" || string(key) == "format"):
			info, ok := s.scanString()
			if !ok {
				return pendingNote{}, false
			}
			v := s.rd.text(string(s.decoded(info)))
			if string(key) == "media_type" {
				mediaType, hasMT = v, true
			} else {
				format, hasFormat = v, true
			}
			s.emitString(info, true)
		case c == '{' && string(key) == "source":
			// format may still come after source: the child reports a
			// "bytes" value it could not replace yet.
			p, ok := s.object(imageFormat{known: hasFormat, format: format}, true)
			if !ok {
				return pendingNote{}, false
			}
			source = p
		default:
			if !s.value() {
				return pendingNote{}, false
			}
		}
		s.ws()
		if s.i >= len(s.src) {
			return pendingNote{}, false
		}
		if s.src[s.i] == ',' {
			s.i++
			continue
		}
		if s.src[s.i] != '}' {
			return pendingNote{}, false
		}
		s.i++
		s.out = append(s.out, '}')
		break
	}
	// Replace the values that waited for a key written after them, the
	// later one first so the offsets of the earlier one still hold.
	doData, doSource := hasMT && data.set, hasFormat && source.set
	data.mediaType, source.mediaType = mediaType, "image/"+format
	if doData && doSource && source.start < data.start {
		s.splice(&data, &bytesV)
		s.splice(&source, &bytesV)
	} else {
		if doSource {
			s.splice(&source, &bytesV)
		}
		if doData {
			s.splice(&data, &bytesV)
		}
	}
	return bytesV, true
}

// splice replaces p's value in out by its note, moving the offsets of
// other when it lies after it.
func (s *jsonScan) splice(p, other *pendingNote) {
	if !p.set || p.omitted {
		return
	}
	note := jsonw.String(nil, binaryNoteLen(p.mediaType, p.n, p.pad))
	tail := append([]byte(nil), s.out[p.end:]...)
	s.out = append(append(s.out[:p.start], note...), tail...)
	delta := len(note) - (p.end - p.start)
	if other.set && other.start >= p.end {
		other.start += delta
		other.end += delta
	}
	p.set = false
}

// emitNote writes the note for base64 data p of media type mediaType (or
// the value itself when it is a note already).
func (s *jsonScan) emitNote(mediaType string, p pendingNote, info strInfo) {
	if p.omitted {
		s.emitString(info, true)
		return
	}
	s.out = jsonw.String(s.out, binaryNoteLen(mediaType, p.n, p.pad))
}

func (s *jsonScan) array() bool {
	if s.depth++; s.depth > maxJSONDepth {
		return false
	}
	defer func() { s.depth-- }()
	s.i++
	s.out = append(s.out, '[')
	s.ws()
	if s.i < len(s.src) && s.src[s.i] == ']' {
		s.i++
		s.out = append(s.out, ']')
		return true
	}
	for n := 0; ; n++ {
		if n > 0 {
			s.out = append(s.out, ',')
		}
		s.ws()
		if !s.value() {
			return false
		}
		s.ws()
		if s.i >= len(s.src) {
			return false
		}
		switch s.src[s.i] {
		case ',':
			s.i++
		case ']':
			s.i++
			s.out = append(s.out, ']')
			return true
		default:
			return false
		}
	}
}

// number scans a JSON number.
func (s *jsonScan) number() bool {
	src, i := s.src, s.i
	digits := func() bool {
		start := i
		for i < len(src) && src[i] >= '0' && src[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(src) && src[i] == '-' {
		i++
	}
	switch {
	case i < len(src) && src[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(src) && src[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		i++
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	s.i = i
	return true
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// scanString scans the string token at s.i and validates it.
func (s *jsonScan) scanString() (strInfo, bool) {
	src := s.src
	i := s.i + 1
	info := strInfo{start: i}
	for {
		// Eight plain bytes at a time: no quote, backslash, control
		// character or non-ASCII byte among them.
		for i+8 <= len(src) {
			x := uint64(src[i]) | uint64(src[i+1])<<8 | uint64(src[i+2])<<16 | uint64(src[i+3])<<24 |
				uint64(src[i+4])<<32 | uint64(src[i+5])<<40 | uint64(src[i+6])<<48 | uint64(src[i+7])<<56
			q, b := x^(lsb*'"'), x^(lsb*'\\')
			if ((x-lsb*0x20)&^x|(q-lsb)&^q|(b-lsb)&^b|x)&msb != 0 {
				break
			}
			i += 8
		}
		if i >= len(src) {
			return info, false
		}
		switch c := src[i]; {
		case c == '"':
			info.end = i
			s.i = i + 1
			return info, true
		case c == '\\':
			if i+1 >= len(src) {
				return info, false
			}
			info.esc = true
			switch e := src[i+1]; e {
			case '"':
				info.risky = true
				i += 2
			case '\\', '/', 'b', 'f', 'n', 'r', 't':
				if s.rd.escRisky[e] {
					info.risky = true
				}
				i += 2
			case 'u':
				if i+6 > len(src) || !isHex4(src[i+2:i+6]) {
					return info, false
				}
				info.risky = true
				i += 6
			default:
				return info, false
			}
		case c < 0x20:
			return info, false
		case c >= utf8.RuneSelf:
			info.nonASCII = true
			i++
		default:
			i++
		}
	}
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// decoded returns the string's content with escapes decoded (in s.dec,
// valid until the next call) or its bytes in src when it has none. Invalid
// UTF-8 among escapes becomes U+FFFD, as encoding/json decodes it (the
// string is written out again through jsonw, which does the same).
func (s *jsonScan) decoded(info strInfo) []byte {
	raw := s.src[info.start:info.end]
	if !info.esc {
		return raw
	}
	// scanString validated every escape, so Unquote cannot fail here.
	s.dec, _ = jsonscan.Unquote(s.dec[:0], raw, jsonscan.Replace)
	return s.dec
}

// emitString writes a scanned string: as written when nothing in it can
// need redaction, else decoded, scrubbed and re-encoded if that changed
// it. value marks string values, where a data URL becomes a note.
func (s *jsonScan) emitString(info strInfo, value bool) {
	raw := s.src[info.start:info.end]
	for s.hit < len(s.hits) && s.hits[s.hit][1] <= info.start {
		s.hit++
	}
	hit := s.hit < len(s.hits) && s.hits[s.hit][0] < info.end
	badUTF8 := info.nonASCII && !utf8.Valid(raw)
	if !hit && !info.risky && !badUTF8 && bytes.IndexByte(raw, '=') < 0 &&
		!(bytes.Contains(raw, []byte(";base64,"))) {
		s.out = append(append(append(s.out, '"'), raw...), '"')
		return
	}
	content := s.decoded(info)
	if value {
		if note, ok := dataURLNote(string(content)); ok {
			s.out = jsonw.String(s.out, note)
			return
		}
	}
	var changed bool
	s.scr, changed = s.rd.scrub(s.scr[:0], content)
	if !changed && !badUTF8 {
		s.out = append(append(append(s.out, '"'), raw...), '"')
		return
	}
	s.out = jsonw.String(s.out, string(s.scr)) // only when a secret was scrubbed: rare
}
