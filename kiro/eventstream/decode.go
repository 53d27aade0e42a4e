package eventstream

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"
)

// ErrCorrupt is wrapped by the error Next returns when it gives up on a
// stream that keeps failing CRC or structure checks, so callers can tell a
// damaged stream from an I/O error (which Next returns wrapped as is).
var ErrCorrupt = errors.New("eventstream: corrupt stream")

const (
	// maxConsecutiveErrors is how many bad frames in a row Next skips before
	// it gives up, as kiro.rs does.
	maxConsecutiveErrors = 5
	// maxScan bounds one byte-by-byte search for the next valid prelude; a
	// longer run of garbage counts as another error.
	maxScan = 64 << 10
	// lastBadMax bounds the raw bytes kept from the last bad frame.
	lastBadMax = 512
	// readBufSize is the bufio size; frames up to this size are decoded in
	// place without copying.
	readBufSize = 64 << 10
	// internMax bounds the per-decoder string caches; internLen is the
	// longest string value worth caching (event and content types).
	internMax = 256
	internLen = 64
)

// Decoder reads frames from a byte stream. It validates both CRCs and
// resynchronises after damage the way kiro.rs does: a bad prelude (CRC or
// length) makes it search forward byte by byte for the next valid prelude; a
// frame whose prelude is valid but whose message CRC or headers are bad is
// skipped whole. Each bad frame, and each run of skipped garbage (up to 64
// KiB), counts as one error; after 5 errors in a row Next fails with an error
// wrapping ErrCorrupt.
//
// Each Message returned by Next owns its Headers and Payload: they stay valid
// after later calls. Repeated header names and short string values are shared
// between messages (strings are immutable), so a typical event costs two
// allocations: its header slice and its payload.
type Decoder struct {
	br      *bufio.Reader
	big     []byte // scratch for frames larger than the read buffer
	hdrs    []Header
	names   map[string]string
	values  map[string]any
	errs    int // consecutive errors
	skipped int
	// scanning is true while searching byte by byte for a valid prelude;
	// scanned counts the bytes skipped in the current run.
	scanning bool
	scanned  int
	lastBad  []byte
	err      error // sticky terminal error, including io.EOF
}

// NewDecoder returns a Decoder reading from r through its own buffer.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{
		br:     bufio.NewReaderSize(r, readBufSize),
		names:  make(map[string]string),
		values: make(map[string]any),
	}
}

// Skipped returns how many bad frames or runs of garbage were skipped so far.
func (d *Decoder) Skipped() int { return d.skipped }

// LastBad returns a copy of up to 512 raw bytes from where the last decode
// error occurred (the start of the bad frame, or the bytes at the position
// where the prelude check failed), or nil if there was none. Flow records
// show it so a damaged stream can be inspected.
func (d *Decoder) LastBad() []byte {
	if d.lastBad == nil {
		return nil
	}
	return append([]byte(nil), d.lastBad...)
}

// Next returns the next frame. It returns io.EOF when the stream ends
// cleanly at a frame boundary, an error wrapping io.ErrUnexpectedEOF when it
// ends inside a frame, an error wrapping ErrCorrupt after too many bad frames
// in a row, and read errors wrapped. Once it has returned an error it keeps
// returning it.
func (d *Decoder) Next() (Message, error) {
	if d.err != nil {
		return Message{}, d.err
	}
	for {
		m, bad, err := d.step()
		if err != nil {
			d.err = err
			return Message{}, err
		}
		if bad == "" {
			d.errs = 0
			d.scanning = false
			return m, nil
		}
		if d.errs >= maxConsecutiveErrors {
			d.err = fmt.Errorf("%w: gave up after %d consecutive bad frames, last: %s", ErrCorrupt, d.errs, bad)
			return Message{}, d.err
		}
	}
}

// step tries to decode one frame at the current position. It returns the
// message, or a non-empty reason when the bytes there were bad and have been
// skipped, or a terminal error.
func (d *Decoder) step() (Message, string, error) {
	p, err := d.br.Peek(preludeLen)
	if err != nil {
		return Message{}, "", d.readErr(len(p), err, "prelude")
	}
	total := binary.BigEndian.Uint32(p[0:4])
	hlen := binary.BigEndian.Uint32(p[4:8])
	if crc32.ChecksumIEEE(p[:8]) != binary.BigEndian.Uint32(p[8:12]) {
		return Message{}, "prelude crc mismatch", d.skipByte()
	}
	if total < MinFrame || total > MaxFrame || hlen > total-MinFrame {
		return Message{}, fmt.Sprintf("implausible lengths (total %d, headers %d)", total, hlen), d.skipByte()
	}

	frame, err := d.readFrame(int(total))
	if err != nil {
		return Message{}, "", err
	}
	m, bad := d.parse(frame, int(hlen))
	if bad != "" {
		d.recordBad(frame)
		d.errs++
		d.skipped++
		d.scanning = false
	}
	if int(total) <= d.br.Size() {
		if _, err := d.br.Discard(int(total)); err != nil {
			return Message{}, "", fmt.Errorf("eventstream: discard frame: %w", err)
		}
	}
	return m, bad, nil
}

// readFrame returns the whole frame of n bytes. Frames that fit the read
// buffer are peeked in place (the caller discards them after parsing);
// larger ones are read into a scratch buffer.
func (d *Decoder) readFrame(n int) ([]byte, error) {
	if n <= d.br.Size() {
		b, err := d.br.Peek(n)
		if err != nil {
			return nil, d.readErr(len(b), err, "frame")
		}
		return b, nil
	}
	if cap(d.big) < n {
		d.big = make([]byte, n)
	}
	b := d.big[:n]
	got, err := io.ReadFull(d.br, b)
	if err != nil {
		return nil, d.readErr(got, err, "frame")
	}
	return b, nil
}

// readErr turns a short read of a frame part into the right terminal error:
// io.EOF at a clean boundary, io.ErrUnexpectedEOF inside a frame.
func (d *Decoder) readErr(got int, err error, part string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		// Only a plain EOF between frames is a clean end. A reader that
		// itself reports io.ErrUnexpectedEOF (net/http for a chunked body
		// cut short) has lost data even at a frame boundary.
		if got == 0 && part == "prelude" && !errors.Is(err, io.ErrUnexpectedEOF) {
			return io.EOF
		}
		return fmt.Errorf("eventstream: stream ended %d bytes into a %s: %w", got, part, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("eventstream: read %s: %w", part, err)
}

// skipByte drops one byte after a bad prelude and accounts for the search.
func (d *Decoder) skipByte() error {
	switch {
	case !d.scanning:
		d.scanning = true
		d.scanned = 0
		d.errs++
		d.skipped++
		d.recordBuffered()
	case d.scanned >= maxScan:
		d.scanned = 0
		d.errs++
		d.skipped++
		d.recordBuffered()
	}
	d.scanned++
	if _, err := d.br.Discard(1); err != nil {
		return fmt.Errorf("eventstream: skip byte: %w", err)
	}
	return nil
}

// recordBuffered keeps the bytes already buffered at the current position
// (without blocking for more).
func (d *Decoder) recordBuffered() {
	n := min(d.br.Buffered(), lastBadMax)
	b, _ := d.br.Peek(n) // n bytes are buffered, so Peek cannot fail
	d.recordBad(b)
}

// recordBad keeps up to lastBadMax bytes of b, reusing the buffer.
func (d *Decoder) recordBad(b []byte) {
	d.lastBad = append(d.lastBad[:0], b[:min(len(b), lastBadMax)]...)
}

// parse decodes a frame whose prelude is valid. It returns a non-empty
// reason when the message CRC or the headers are bad.
func (d *Decoder) parse(frame []byte, hlen int) (Message, string) {
	n := len(frame)
	if crc32.ChecksumIEEE(frame[:n-crcLen]) != binary.BigEndian.Uint32(frame[n-crcLen:]) {
		return Message{}, "message crc mismatch"
	}
	hs, err := d.parseHeaders(frame[preludeLen : preludeLen+hlen])
	if err != nil {
		return Message{}, "bad headers: " + err.Error()
	}
	var payload []byte
	if body := frame[preludeLen+hlen : n-crcLen]; len(body) > 0 {
		payload = make([]byte, len(body))
		copy(payload, body)
	}
	return Message{Headers: hs, Payload: payload}, ""
}

// parseHeaders decodes the header block into a fresh Headers slice.
func (d *Decoder) parseHeaders(b []byte) (Headers, error) {
	d.hdrs = d.hdrs[:0]
	for len(b) > 0 {
		nl := int(b[0])
		if len(b) < 1+nl+1 {
			return nil, errors.New("header name runs past the header block")
		}
		name := d.name(b[1 : 1+nl])
		typ := b[1+nl]
		b = b[2+nl:]
		v, rest, err := d.value(typ, b)
		if err != nil {
			return nil, fmt.Errorf("header %q: %w", name, err)
		}
		b = rest
		d.hdrs = append(d.hdrs, Header{Name: name, Value: v})
	}
	if len(d.hdrs) == 0 {
		return nil, nil
	}
	return append(Headers(make([]Header, 0, len(d.hdrs))), d.hdrs...), nil
}

// value decodes one typed header value from b and returns the rest.
func (d *Decoder) value(typ byte, b []byte) (any, []byte, error) {
	fixed := func(n int) error {
		if len(b) < n {
			return fmt.Errorf("type %d value needs %d bytes, %d left", typ, n, len(b))
		}
		return nil
	}
	switch typ {
	case typeTrue:
		return true, b, nil
	case typeFalse:
		return false, b, nil
	case typeByte:
		if err := fixed(1); err != nil {
			return nil, nil, err
		}
		return int8(b[0]), b[1:], nil
	case typeShort:
		if err := fixed(2); err != nil {
			return nil, nil, err
		}
		return int16(binary.BigEndian.Uint16(b)), b[2:], nil
	case typeInt:
		if err := fixed(4); err != nil {
			return nil, nil, err
		}
		return int32(binary.BigEndian.Uint32(b)), b[4:], nil
	case typeLong:
		if err := fixed(8); err != nil {
			return nil, nil, err
		}
		return int64(binary.BigEndian.Uint64(b)), b[8:], nil
	case typeTimestamp:
		if err := fixed(8); err != nil {
			return nil, nil, err
		}
		return time.UnixMilli(int64(binary.BigEndian.Uint64(b))).UTC(), b[8:], nil
	case typeUUID:
		if err := fixed(16); err != nil {
			return nil, nil, err
		}
		var u [16]byte
		copy(u[:], b)
		return u, b[16:], nil
	case typeBytes, typeString:
		if err := fixed(2); err != nil {
			return nil, nil, err
		}
		n := int(binary.BigEndian.Uint16(b))
		b = b[2:]
		if len(b) < n {
			return nil, nil, fmt.Errorf("type %d value of %d bytes runs past the header block", typ, n)
		}
		if typ == typeBytes {
			return append([]byte{}, b[:n]...), b[n:], nil
		}
		return d.stringValue(b[:n]), b[n:], nil
	default:
		return nil, nil, fmt.Errorf("unknown value type %d", typ)
	}
}

// name returns b as a string, shared with earlier frames when possible.
func (d *Decoder) name(b []byte) string {
	if s, ok := d.names[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(d.names) < internMax {
		d.names[s] = s
	}
	return s
}

// stringValue returns b as a boxed string, shared with earlier frames for
// short values so event and content types do not allocate per frame.
func (d *Decoder) stringValue(b []byte) any {
	if len(b) > internLen {
		return string(b)
	}
	if v, ok := d.values[string(b)]; ok {
		return v
	}
	var v any = string(b)
	if len(d.values) < internMax {
		d.values[string(b)] = v
	}
	return v
}
