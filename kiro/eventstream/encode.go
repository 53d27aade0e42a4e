package eventstream

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"time"
)

// Frame layout limits. A frame is a 12-byte prelude (total length, headers
// length, prelude CRC), the headers, the payload and a 4-byte message CRC.
const (
	preludeLen = 12
	crcLen     = 4
	// MinFrame is the size of a frame with no headers and no payload.
	MinFrame = preludeLen + crcLen
	// MaxFrame caps one frame at 16 MiB, as the other Kiro proxies do, so a
	// corrupt length cannot make the decoder buffer unbounded data.
	MaxFrame = 16 << 20
)

// Header value type codes on the wire (AWS event-stream).
const (
	typeTrue      byte = 0
	typeFalse     byte = 1
	typeByte      byte = 2
	typeShort     byte = 3
	typeInt       byte = 4
	typeLong      byte = 5
	typeBytes     byte = 6
	typeString    byte = 7
	typeTimestamp byte = 8
	typeUUID      byte = 9
)

// Append encodes m as one frame and appends it to dst. Header values must be
// one of the Go types listed on Header; a time.Time is written with
// millisecond precision. It fails on an unsupported value type, a header name
// longer than 255 bytes, a string or byte value longer than 65535 bytes, or a
// frame larger than MaxFrame.
func Append(dst []byte, m Message) ([]byte, error) {
	hlen := 0
	for i, h := range m.Headers {
		n, err := headerSize(h)
		if err != nil {
			return dst, fmt.Errorf("eventstream: header %d (%q): %w", i, h.Name, err)
		}
		hlen += n
	}
	total := MinFrame + hlen + len(m.Payload)
	if total > MaxFrame {
		return dst, fmt.Errorf("eventstream: frame of %d bytes exceeds the %d byte limit", total, MaxFrame)
	}

	start := len(dst)
	dst = grow(dst, total)
	dst = binary.BigEndian.AppendUint32(dst, uint32(total))
	dst = binary.BigEndian.AppendUint32(dst, uint32(hlen))
	dst = binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[start:start+8]))
	for _, h := range m.Headers {
		dst = appendHeader(dst, h)
	}
	dst = append(dst, m.Payload...)
	return binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[start:])), nil
}

// grow makes room for n more bytes in one allocation at most.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), len(b)+n)
	copy(nb, b)
	return nb
}

// headerSize returns the encoded size of h, or why it cannot be encoded.
func headerSize(h Header) (int, error) {
	if len(h.Name) > math.MaxUint8 {
		return 0, fmt.Errorf("name is %d bytes, the limit is 255", len(h.Name))
	}
	base := 1 + len(h.Name) + 1
	switch v := h.Value.(type) {
	case bool:
		return base, nil
	case int8:
		return base + 1, nil
	case int16:
		return base + 2, nil
	case int32:
		return base + 4, nil
	case int64, time.Time:
		return base + 8, nil
	case []byte:
		if len(v) > math.MaxUint16 {
			return 0, fmt.Errorf("bytes value is %d bytes, the limit is 65535", len(v))
		}
		return base + 2 + len(v), nil
	case string:
		if len(v) > math.MaxUint16 {
			return 0, fmt.Errorf("string value is %d bytes, the limit is 65535", len(v))
		}
		return base + 2 + len(v), nil
	case [16]byte:
		return base + 16, nil
	default:
		return 0, fmt.Errorf("unsupported value type %T", h.Value)
	}
}

// appendHeader writes one header already checked by headerSize.
func appendHeader(dst []byte, h Header) []byte {
	dst = append(dst, byte(len(h.Name)))
	dst = append(dst, h.Name...)
	switch v := h.Value.(type) {
	case bool:
		if v {
			return append(dst, typeTrue)
		}
		return append(dst, typeFalse)
	case int8:
		return append(dst, typeByte, byte(v))
	case int16:
		dst = append(dst, typeShort)
		return binary.BigEndian.AppendUint16(dst, uint16(v))
	case int32:
		dst = append(dst, typeInt)
		return binary.BigEndian.AppendUint32(dst, uint32(v))
	case int64:
		dst = append(dst, typeLong)
		return binary.BigEndian.AppendUint64(dst, uint64(v))
	case []byte:
		dst = append(dst, typeBytes)
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(v)))
		return append(dst, v...)
	case string:
		dst = append(dst, typeString)
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(v)))
		return append(dst, v...)
	case time.Time:
		dst = append(dst, typeTimestamp)
		return binary.BigEndian.AppendUint64(dst, uint64(v.UnixMilli()))
	case [16]byte:
		dst = append(dst, typeUUID)
		return append(dst, v[:]...)
	}
	return dst
}
