package eventstream

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// vectorFrame returns the Appendix A.1 frame from testdata.
func vectorFrame(t testing.TB) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/a1_frame.hex")
	if err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(strings.Join(strings.Fields(string(raw)), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vectorMessage is the message the A.1 frame carries.
func vectorMessage() Message {
	return Message{
		Headers: Headers{
			{Name: ":event-type", Value: "assistantResponseEvent"},
			{Name: ":content-type", Value: "application/json"},
			{Name: ":message-type", Value: "event"},
		},
		Payload: []byte(`{"content":"Hi"}`),
	}
}

// textEvent builds an assistantResponseEvent carrying s.
func textEvent(s string) Message {
	m := vectorMessage()
	m.Payload = []byte(`{"content":` + strconv.Quote(s) + `}`)
	return m
}

// mustAppend encodes m or fails the test.
func mustAppend(t testing.TB, dst []byte, m Message) []byte {
	t.Helper()
	out, err := Append(dst, m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rawFrame builds a frame from a raw header block with correct CRCs, so
// tests can send structurally bad headers that Append refuses to write.
func rawFrame(headers, payload []byte) []byte {
	total := MinFrame + len(headers) + len(payload)
	b := binary.BigEndian.AppendUint32(nil, uint32(total))
	b = binary.BigEndian.AppendUint32(b, uint32(len(headers)))
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	b = append(b, headers...)
	b = append(b, payload...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// messagesEqual compares header values by type, times by instant.
func messagesEqual(a, b Message) bool {
	if len(a.Headers) != len(b.Headers) || !bytes.Equal(a.Payload, b.Payload) {
		return false
	}
	for i := range a.Headers {
		ha, hb := a.Headers[i], b.Headers[i]
		if ha.Name != hb.Name {
			return false
		}
		switch va := ha.Value.(type) {
		case []byte:
			vb, ok := hb.Value.([]byte)
			if !ok || !bytes.Equal(va, vb) {
				return false
			}
		case time.Time:
			vb, ok := hb.Value.(time.Time)
			if !ok || !va.Equal(vb) {
				return false
			}
		default:
			if ha.Value != hb.Value {
				return false
			}
		}
	}
	return true
}
