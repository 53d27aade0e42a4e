package flows

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/bits"

	"github.com/kirobar/kirobar/internal/jsonscan"
)

// An agent resends its whole conversation on every turn, so most of each
// request body was stored already, by the flow before. splitBody cuts a
// body into a skeleton and pieces stored by their SHA-256: strings of at
// least minStringPiece bytes (tool results, files, system prompts, tool
// descriptions), and runs of array elements (the messages of a
// conversation, Kiro's history, the tool list) grouped by their content.
//
// Array elements are grouped the way content-defined chunking cuts files:
// an element ends a run when a hash of its bytes says so (one in
// chunkFanout elements on average), so a run depends only on the elements
// in it, never on their position. A conversation that grew by two
// messages keeps every earlier run, and one that lost its oldest turns
// (Kiro's size guard drops them) keeps every run after the cut. Closed
// runs are grouped again, a level up, into runs of runs, so a 400-message
// history is a handful of references. The open run at the end of an
// array stays in the skeleton: it changes every turn.
//
// A piece's bytes are the exact bytes of the body it came from, with its
// own large parts replaced by references, so rebuilding is concatenation.
// A reference is the JSON object {"\u0000":"<hex SHA-256>"}, written with
// that escape: a body that contains the key "\u0000" spelled so anywhere
// is stored whole, so every such object in a skeleton or piece is a
// reference. How runs are cut only decides what is shared; rebuilding
// never depends on it, so the cutting may change between versions.
const (
	// minSplitBody is the smallest body worth splitting: below it the
	// references would cost more than sharing saves.
	minSplitBody = 4 << 10
	// minStringPiece is the shortest string stored as a piece.
	minStringPiece = 1 << 10
	// minRunPiece is the shortest closed run stored as a piece; shorter
	// ones stay inline where they are.
	minRunPiece = 512
	// chunkFanout is the average number of items in a run (a power of 2).
	chunkFanout = 8
	// maxRunItems and maxRunBytes close a run however its items hash, so
	// a long array of alike elements still has runs to share.
	maxRunItems = 64
	maxRunBytes = 256 << 10
	// chunkLevels is how many levels of runs of runs an array gets.
	chunkLevels = 4
	// maxSplitDepth is the deepest nesting searched for pieces; deeper
	// values stay inline.
	maxSplitDepth = 24
)

// refPrefix and refSuffix frame a reference; refLen is its whole length.
const (
	refPrefix = `{"\u0000":"`
	refSuffix = `"}`
	refLen    = len(refPrefix) + 2*sha256.Size + len(refSuffix)
)

// refKey is how a reference's key is spelled in a body's bytes; a body
// that holds it is never split.
var refKey = []byte(`"\u0000"`)

// piece is one content-addressed part of a split body.
type piece struct {
	hash [sha256.Size]byte
	// data is the piece's bytes, pointing into the body or the
	// splitter's arena: valid until the splitter's next body.
	data []byte
	// children are the distinct pieces data references, as indexes into
	// the splitter's pieces.
	children []int32
}

// mark is a reference written into the fragment being built.
type mark struct {
	at    int   // offset in out
	piece int32 // index in pieces
}

// splitter splits bodies; the writer keeps one and reuses its buffers.
type splitter struct {
	src    []byte
	i      int
	out    []byte // the fragment being built: the skeleton at the end
	marks  []mark
	arena  []byte // the bytes of run pieces, in blocks that never move
	pieces []piece
	index  map[[sha256.Size]byte]int32
	kids   []int32 // scratch for a piece's children
	// memo remembers the hashes of recent pieces by a fast hash of their
	// bytes, with a copy to compare: the next turn of a conversation
	// hashes again nearly every piece of the last, and comparing bytes is
	// many times cheaper than SHA-256.
	memo      map[uint64]memoPiece
	memoBytes int
}

// memoPiece is a remembered piece: its hash and its bytes.
type memoPiece struct {
	hash [sha256.Size]byte
	data []byte
}

// maxMemoBytes bounds the bytes the memo copies; past it, it starts
// again empty.
const maxMemoBytes = 4 << 20

// sum returns the SHA-256 of data, from the memo when it holds the same
// bytes.
func (s *splitter) sum(data []byte) [sha256.Size]byte {
	k := mix(data, 0x6b69726f)
	if m, ok := s.memo[k]; ok && bytes.Equal(m.data, data) {
		return m.hash
	}
	h := sha256.Sum256(data)
	if s.memo == nil || s.memoBytes+len(data) > maxMemoBytes {
		s.memo, s.memoBytes = make(map[uint64]memoPiece), 0
	}
	if len(data) <= maxMemoBytes/4 {
		s.memo[k] = memoPiece{hash: h, data: append([]byte(nil), data...)}
		s.memoBytes += len(data)
	}
	return h
}

// split cuts body, compact valid JSON as redactJSON writes it, into its
// skeleton and pieces. It returns false when the body is too small to
// split or holds the reference key. The skeleton (s.out) and the pieces
// stay valid until the next call; roots are the distinct pieces the
// skeleton references.
func (s *splitter) split(body []byte) (skeleton []byte, roots []int32, ok bool) {
	if len(body) < minSplitBody || bytes.Contains(body, refKey) {
		return nil, nil, false
	}
	s.src, s.i = body, 0
	s.out, s.marks, s.pieces = s.out[:0], s.marks[:0], s.pieces[:0]
	if cap(s.arena) > 4<<20 {
		s.arena = nil // one huge body must not pin its arena
	}
	s.arena = s.arena[:0]
	if s.index == nil {
		s.index = make(map[[sha256.Size]byte]int32)
	}
	clear(s.index)
	s.value(0)
	roots = s.distinct(s.marks, nil)
	if len(roots) == 0 {
		return nil, nil, false
	}
	return s.out, roots, true
}

// value copies the value at s.i to out, replacing its large parts by
// references.
func (s *splitter) value(depth int) {
	src := s.src
	switch c := src[s.i]; {
	case depth > maxSplitDepth:
		end := jsonscan.SkipValue(src, s.i)
		s.out = append(s.out, src[s.i:end]...)
		s.i = end
	case c == '{':
		s.object(depth)
	case c == '[':
		s.array(depth)
	case c == '"':
		end := jsonscan.SkipString(src, s.i)
		tok := src[s.i:end]
		s.i = end
		if len(tok) >= minStringPiece {
			s.ref(s.add(tok, nil))
			return
		}
		s.out = append(s.out, tok...)
	default: // number, true, false, null
		end := s.i
		for end < len(src) && src[end] != ',' && src[end] != '}' && src[end] != ']' {
			end++
		}
		s.out = append(s.out, src[s.i:end]...)
		s.i = end
	}
}

// object copies an object member by member.
func (s *splitter) object(depth int) {
	src := s.src
	s.out = append(s.out, '{')
	s.i++
	if src[s.i] == '}' {
		s.out = append(s.out, '}')
		s.i++
		return
	}
	for {
		end := jsonscan.SkipString(src, s.i) + 1 // the key and its ':'
		s.out = append(s.out, src[s.i:end]...)
		s.i = end
		s.value(depth + 1)
		c := src[s.i]
		s.out = append(s.out, c)
		s.i++
		if c == '}' {
			return
		}
	}
}

// openRun is the open run of one level of an array: where its first item
// starts in out and how many items it has.
type openRun struct {
	start, n int
}

// array copies an array, grouping its elements into runs.
func (s *splitter) array(depth int) {
	src := s.src
	s.out = append(s.out, '[')
	s.i++
	if src[s.i] == ']' {
		s.out = append(s.out, ']')
		s.i++
		return
	}
	var runs [chunkLevels]openRun
	for l := range runs {
		runs[l].start = -1
	}
	for {
		start := len(s.out)
		s.value(depth + 1)
		c := src[s.i]
		s.i++
		s.closeRuns(&runs, start, mix(s.out[start:], 0), c == ']')
		if c == ']' {
			s.out = append(s.out, ']')
			return
		}
		s.out = append(s.out, ',')
	}
}

// closeRuns adds the item at out[start:] with boundary hash h to the runs
// and closes every run it ends, from the lowest level up: a closed run
// becomes a piece (or stays inline when short) and an item of the level
// above. The last item of the array (last) closes every open run, so an
// array that does not change from turn to turn (the tools, Kiro's tool
// specifications) is one reference; in one that grows, the runs closed
// this way are used by one flow only and go with its file.
func (s *splitter) closeRuns(runs *[chunkLevels]openRun, start int, h uint64, last bool) {
	for l := range runs {
		r := &runs[l]
		if r.start < 0 {
			r.start = start
		}
		r.n++
		if !last && h&(chunkFanout-1) != 0 && r.n < maxRunItems && len(s.out)-r.start < maxRunBytes {
			return
		}
		start = r.start
		r.start, r.n = -1, 0
		content := s.out[start:]
		if len(content) < minRunPiece {
			h = mix(content, uint64(l)+1)
			continue
		}
		first := len(s.marks)
		for first > 0 && s.marks[first-1].at >= start {
			first--
		}
		kids := s.distinct(s.marks[first:], s.kids[:0])
		s.kids = kids
		p := s.add(s.keep(content), kids)
		s.out = s.out[:start]
		s.marks = s.marks[:first]
		s.ref(p)
		h = binary.LittleEndian.Uint64(s.pieces[p].hash[8:])
	}
}

// keep copies b into the arena, in blocks that never move, so pieces
// already pointing into it stay valid.
func (s *splitter) keep(b []byte) []byte {
	if cap(s.arena)-len(s.arena) < len(b) {
		s.arena = make([]byte, 0, max(64<<10, len(b)))
	}
	n := len(s.arena)
	s.arena = append(s.arena, b...)
	return s.arena[n:len(s.arena):len(s.arena)]
}

// add registers a piece with the given bytes and children and returns
// its index; the same bytes twice in one body are one piece.
func (s *splitter) add(data []byte, kids []int32) int32 {
	h := s.sum(data)
	if i, ok := s.index[h]; ok {
		return i
	}
	i := int32(len(s.pieces))
	s.pieces = append(s.pieces, piece{hash: h, data: data, children: append([]int32(nil), kids...)})
	s.index[h] = i
	return i
}

// ref writes a reference to piece p into out.
func (s *splitter) ref(p int32) {
	s.marks = append(s.marks, mark{at: len(s.out), piece: p})
	s.out = appendRef(s.out, &s.pieces[p].hash)
}

// distinct appends the distinct pieces of marks to dst.
func (s *splitter) distinct(marks []mark, dst []int32) []int32 {
	for _, m := range marks {
		seen := false
		for _, d := range dst {
			if d == m.piece {
				seen = true
				break
			}
		}
		if !seen {
			dst = append(dst, m.piece)
		}
	}
	return dst
}

// appendRef appends the reference to the piece with hash h.
func appendRef(dst []byte, h *[sha256.Size]byte) []byte {
	dst = append(dst, refPrefix...)
	dst = hex.AppendEncode(dst, h[:])
	return append(dst, refSuffix...)
}

// nextRef finds the first reference in b at or after from: its offset and
// hash, or -1 when there is none. ok is false for a reference that is
// malformed (a damaged skeleton or piece).
func nextRef(b []byte, from int) (at int, h [sha256.Size]byte, ok bool) {
	i := bytes.Index(b[from:], []byte(refPrefix))
	if i < 0 {
		return -1, h, true
	}
	at = from + i
	end := at + refLen
	if end > len(b) || string(b[end-len(refSuffix):end]) != refSuffix {
		return at, h, false
	}
	if _, err := hex.Decode(h[:], b[at+len(refPrefix):end-len(refSuffix)]); err != nil {
		return at, h, false
	}
	return at, h, true
}

// mix is a fast, stable 64-bit hash of b that decides where runs end; it
// needs to spread well, not resist attack (a client that makes runs long
// or short only changes what is shared, never what is rebuilt).
func mix(b []byte, seed uint64) uint64 {
	const (
		m1 = 0x9e3779b97f4a7c15
		m2 = 0xbf58476d1ce4e5b9
		m3 = 0x94d049bb133111eb
	)
	h := seed*m1 ^ uint64(len(b))*m2
	if len(b) >= 32 {
		// Four lanes, so the multiplications of one overlap the next's.
		a, c, d := h^m1, h^m2, h^m3
		for len(b) >= 32 {
			h = (h ^ binary.LittleEndian.Uint64(b)) * m2
			a = (a ^ binary.LittleEndian.Uint64(b[8:])) * m2
			c = (c ^ binary.LittleEndian.Uint64(b[16:])) * m2
			d = (d ^ binary.LittleEndian.Uint64(b[24:])) * m2
			h, a, c, d = h^h>>31, a^a>>31, c^c>>31, d^d>>31
			b = b[32:]
		}
		h = (h ^ bits.RotateLeft64(a, 17) ^ bits.RotateLeft64(c, 31) ^ bits.RotateLeft64(d, 47)) * m3
	}
	for len(b) >= 8 {
		h = (h ^ binary.LittleEndian.Uint64(b)) * m2
		h ^= h >> 31
		b = b[8:]
	}
	for _, c := range b {
		h = (h ^ uint64(c)) * m1
	}
	h ^= h >> 30
	h *= m2
	h ^= h >> 27
	h *= m3
	return h ^ h>>31
}
