package kirofake

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Header is one string-valued event-stream header. The fake only ever sends
// string headers (type 7), which is all the real service sends on
// generateAssistantResponse streams.
type Header struct {
	Name  string
	Value string
}

const (
	preludeLen     = 12 // total length, headers length, prelude CRC
	messageCRCLen  = 4
	headerTypeStr  = 7
	maxHeaderName  = 255
	maxHeaderValue = 65535
	maxFrameLen    = 16 << 20
)

// EncodeFrame builds one AWS event-stream message: the 12-byte prelude with
// its CRC-32/IEEE, the headers in the given order, the payload and the
// CRC-32/IEEE of everything before it. It fails only for header names or
// values too long for the wire format, or a frame over 16 MiB.
func EncodeFrame(headers []Header, payload []byte) ([]byte, error) {
	headersLen := 0
	for _, h := range headers {
		if len(h.Name) == 0 || len(h.Name) > maxHeaderName {
			return nil, fmt.Errorf("encode frame: header name %q: length %d out of range 1..%d", h.Name, len(h.Name), maxHeaderName)
		}
		if len(h.Value) > maxHeaderValue {
			return nil, fmt.Errorf("encode frame: header %s: value length %d over %d", h.Name, len(h.Value), maxHeaderValue)
		}
		headersLen += 1 + len(h.Name) + 1 + 2 + len(h.Value)
	}
	total := preludeLen + headersLen + len(payload) + messageCRCLen
	if total > maxFrameLen {
		return nil, fmt.Errorf("encode frame: %d bytes over the %d byte limit", total, maxFrameLen)
	}
	buf := make([]byte, 0, total)
	buf = binary.BigEndian.AppendUint32(buf, uint32(total))
	buf = binary.BigEndian.AppendUint32(buf, uint32(headersLen))
	buf = binary.BigEndian.AppendUint32(buf, crc32.ChecksumIEEE(buf[:8]))
	for _, h := range headers {
		buf = append(buf, byte(len(h.Name)))
		buf = append(buf, h.Name...)
		buf = append(buf, headerTypeStr)
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(h.Value)))
		buf = append(buf, h.Value...)
	}
	buf = append(buf, payload...)
	buf = binary.BigEndian.AppendUint32(buf, crc32.ChecksumIEEE(buf))
	return buf, nil
}
