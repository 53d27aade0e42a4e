package eventstream

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"
)

// FuzzDecoder feeds arbitrary bytes to the decoder (it must neither panic nor
// spin), then checks that a message built from the same bytes survives an
// Append/Next round trip unchanged.
func FuzzDecoder(f *testing.F) {
	f.Add(vectorFrame(f))
	f.Add([]byte{})
	f.Add([]byte("{\"content\":\"hello\"}"))
	f.Add(rawFrame([]byte{1, 'h', typeString, 0, 9, 'a'}, nil))
	f.Add(rawFrame([]byte{2, 'h', 'x', typeUUID, 1, 2}, []byte("{}")))
	two := mustAppend(f, nil, textEvent("a"))
	two = mustAppend(f, two, Message{Headers: Headers{{Name: "t", Value: time.UnixMilli(1760000000000)}}})
	f.Add(two)
	bad := append([]byte{}, two...)
	bad[3] ^= 1
	f.Add(bad)

	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder(bytes.NewReader(data))
		// Every delivered frame consumes at least MinFrame bytes.
		for i := 0; ; i++ {
			if i > len(data)/MinFrame+1 {
				t.Fatalf("decoder returned %d frames from %d bytes", i, len(data))
			}
			m, err := d.Next()
			if err != nil {
				if err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrCorrupt) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				break
			}
			// A delivered frame re-encodes to a frame that decodes the same.
			again, err := NewDecoder(bytes.NewReader(mustAppend(t, nil, m))).Next()
			if err != nil || !messagesEqual(again, m) {
				t.Fatalf("re-encode of decoded frame: %v", err)
			}
		}

		m := messageFrom(data)
		frame, err := Append(nil, m)
		if err != nil {
			t.Fatalf("Append(%#v): %v", m, err)
		}
		got, err := NewDecoder(bytes.NewReader(frame)).Next()
		if err != nil {
			t.Fatalf("decode of appended frame: %v", err)
		}
		if !messagesEqual(got, m) {
			t.Fatalf("round trip:\n got %#v\nwant %#v", got, m)
		}
	})
}

// messageFrom derives a message using every header type from fuzz data.
func messageFrom(data []byte) Message {
	var n [8]byte
	copy(n[:], data)
	v := int64(binary.BigEndian.Uint64(n[:]))
	var u [16]byte
	copy(u[:], data)
	name := string(data[:min(len(data), 255)])
	s := data[:min(len(data), 65535)]
	return Message{
		Headers: Headers{
			{Name: name, Value: string(s)},
			{Name: "b", Value: append([]byte{}, s...)},
			{Name: "t", Value: len(data)%2 == 0},
			{Name: "i8", Value: int8(v)},
			{Name: "i16", Value: int16(v)},
			{Name: "i32", Value: int32(v)},
			{Name: "i64", Value: v},
			// Millisecond timestamps within ±10^15 ms (±31,000 years) round-trip exactly.
			{Name: "ts", Value: time.UnixMilli(v % 1e15).UTC()},
			{Name: "u", Value: u},
		},
		Payload: data,
	}
}
