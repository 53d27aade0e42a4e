package eventstream

import (
	"bytes"
	"errors"
	"hash/crc32"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestCRCCheckValue(t *testing.T) {
	if got := crc32.ChecksumIEEE([]byte("123456789")); got != 0xCBF43926 {
		t.Fatalf("crc32(123456789) = %#x, want 0xcbf43926", got)
	}
}

func TestAppendMatchesVector(t *testing.T) {
	want := vectorFrame(t)
	got := mustAppend(t, nil, vectorMessage())
	if !bytes.Equal(got, want) {
		t.Fatalf("Append:\n got %x\nwant %x", got, want)
	}
	// Appending to a non-empty slice keeps the prefix and CRCs cover only the frame.
	got = mustAppend(t, []byte("prefix"), vectorMessage())
	if !bytes.Equal(got[6:], want) || string(got[:6]) != "prefix" {
		t.Fatalf("Append after prefix: got %x", got)
	}
}

func TestDecodeVector(t *testing.T) {
	d := NewDecoder(bytes.NewReader(vectorFrame(t)))
	m, err := d.Next()
	if err != nil {
		t.Fatal(err)
	}
	if !messagesEqual(m, vectorMessage()) {
		t.Fatalf("decoded %+v", m)
	}
	if got := m.Headers.Get(HeaderEventType); got != "assistantResponseEvent" {
		t.Fatalf("event type %q", got)
	}
	if _, err := d.Next(); err != io.EOF {
		t.Fatalf("after last frame: %v, want io.EOF", err)
	}
	if _, err := d.Next(); err != io.EOF {
		t.Fatalf("error is not sticky: %v", err)
	}
	if d.Skipped() != 0 || d.LastBad() != nil {
		t.Fatalf("clean stream reported damage: %d %x", d.Skipped(), d.LastBad())
	}
}

func TestRoundTripHeaderTypes(t *testing.T) {
	ts := time.Date(2026, 3, 1, 12, 30, 45, 123_000_000, time.UTC)
	uuid := [16]byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	for _, tc := range []struct {
		name  string
		value any
	}{
		{"true", true},
		{"false", false},
		{"byte", int8(-7)},
		{"short", int16(-30000)},
		{"int", int32(2_000_000_000)},
		{"long", int64(-9_000_000_000_000)},
		{"bytes", []byte{0, 1, 0x7b, 0xff}},
		{"empty bytes", []byte{}},
		{"string", "assistantResponseEvent"},
		{"empty string", ""},
		{"timestamp", ts},
		{"uuid", uuid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := Message{Headers: Headers{{Name: ":" + tc.name, Value: tc.value}}, Payload: []byte(`{}`)}
			d := NewDecoder(bytes.NewReader(mustAppend(t, nil, m)))
			got, err := d.Next()
			if err != nil {
				t.Fatal(err)
			}
			if !messagesEqual(got, m) {
				t.Fatalf("round trip: got %#v, want %#v", got.Headers, m.Headers)
			}
		})
	}
}

func TestRoundTripManyHeadersAndEmptyPayload(t *testing.T) {
	m := Message{Headers: Headers{
		{Name: ":message-type", Value: "exception"},
		{Name: ":exception-type", Value: "ThrottlingException"},
		{Name: "n", Value: int32(1)},
		{Name: "", Value: true},
	}}
	got, err := NewDecoder(bytes.NewReader(mustAppend(t, nil, m))).Next()
	if err != nil {
		t.Fatal(err)
	}
	if !messagesEqual(got, m) || got.Payload != nil {
		t.Fatalf("got %#v", got)
	}
	empty, err := NewDecoder(bytes.NewReader(mustAppend(t, nil, Message{}))).Next()
	if err != nil || len(empty.Headers) != 0 || len(empty.Payload) != 0 {
		t.Fatalf("empty frame: %#v %v", empty, err)
	}
}

func TestAppendRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    Message
	}{
		{"unsupported type", Message{Headers: Headers{{Name: "x", Value: 3}}}},
		{"long name", Message{Headers: Headers{{Name: strings.Repeat("n", 256), Value: "v"}}}},
		{"long string", Message{Headers: Headers{{Name: "x", Value: strings.Repeat("s", 65536)}}}},
		{"long bytes", Message{Headers: Headers{{Name: "x", Value: make([]byte, 65536)}}}},
		{"huge payload", Message{Payload: make([]byte, MaxFrame)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Append([]byte("keep"), tc.m)
			if err == nil {
				t.Fatal("Append accepted an unencodable message")
			}
			if string(out) != "keep" {
				t.Fatalf("Append changed dst on error: %q", out)
			}
		})
	}
}

func TestTruncatedStream(t *testing.T) {
	frame := vectorFrame(t)
	for _, cut := range []int{1, 4, 11, 12, 13, 60, len(frame) - 1} {
		stream := append(mustAppend(t, nil, textEvent("first")), frame[:cut]...)
		d := NewDecoder(bytes.NewReader(stream))
		if _, err := d.Next(); err != nil {
			t.Fatalf("cut %d: first frame: %v", cut, err)
		}
		_, err := d.Next()
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("cut %d: got %v, want io.ErrUnexpectedEOF", cut, err)
		}
		if errors.Is(err, ErrCorrupt) {
			t.Fatalf("cut %d: truncation reported as corruption: %v", cut, err)
		}
	}
}

func TestEmptyStreamIsEOF(t *testing.T) {
	if _, err := NewDecoder(bytes.NewReader(nil)).Next(); err != io.EOF {
		t.Fatalf("got %v, want io.EOF", err)
	}
}

func TestResync(t *testing.T) {
	good := mustAppend(t, nil, textEvent("good"))
	corruptPrelude := mustAppend(t, nil, textEvent("bad prelude"))
	corruptPrelude[9] ^= 0x01 // prelude CRC
	badMsgCRC := mustAppend(t, nil, textEvent("bad message crc"))
	badMsgCRC[len(badMsgCRC)-1] ^= 0x80
	badPayloadBit := mustAppend(t, nil, textEvent("flipped payload bit"))
	badPayloadBit[len(badPayloadBit)-8] ^= 0x04
	unknownType := rawFrame([]byte{2, 'h', 'x', 10, 0}, []byte(`{}`))
	headerOverrun := rawFrame([]byte{5, 'h', 'x'}, nil)
	stringOverrun := rawFrame([]byte{1, 'h', typeString, 0, 9, 'a'}, nil)

	for _, tc := range []struct {
		name string
		bad  []byte
	}{
		{"corrupt prelude crc", corruptPrelude},
		{"leading garbage", []byte("garbage{\"content\":\"x\"}")},
		{"corrupt message crc", badMsgCRC},
		{"flipped payload bit", badPayloadBit},
		{"unknown header type", unknownType},
		{"header name overrun", headerOverrun},
		{"string value overrun", stringOverrun},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream := append(append(append([]byte{}, good...), tc.bad...), good...)
			d := NewDecoder(bytes.NewReader(stream))
			for i := range 2 {
				m, err := d.Next()
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if string(m.Payload) != `{"content":"good"}` {
					t.Fatalf("frame %d payload %s", i, m.Payload)
				}
			}
			if _, err := d.Next(); err != io.EOF {
				t.Fatalf("end: %v", err)
			}
			if d.Skipped() != 1 {
				t.Fatalf("Skipped() = %d, want 1", d.Skipped())
			}
			if lb := d.LastBad(); len(lb) == 0 || !bytes.HasPrefix(tc.bad, lb[:min(len(lb), len(tc.bad))]) {
				t.Fatalf("LastBad() = %x, want a prefix of %x", lb, tc.bad)
			}
		})
	}
}

func TestImplausibleLengthWithValidPreludeCRC(t *testing.T) {
	for _, tc := range []struct {
		name         string
		total, hdrln uint32
	}{
		{"too large", MaxFrame + 1, 0},
		{"too small", MinFrame - 1, 0},
		{"headers longer than frame", 40, 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := make([]byte, 0, 12)
			p = append(p, byte(tc.total>>24), byte(tc.total>>16), byte(tc.total>>8), byte(tc.total))
			p = append(p, byte(tc.hdrln>>24), byte(tc.hdrln>>16), byte(tc.hdrln>>8), byte(tc.hdrln))
			c := crc32.ChecksumIEEE(p)
			p = append(p, byte(c>>24), byte(c>>16), byte(c>>8), byte(c))
			stream := append(p, mustAppend(t, nil, textEvent("after"))...)
			d := NewDecoder(bytes.NewReader(stream))
			m, err := d.Next()
			if err != nil {
				t.Fatal(err)
			}
			if string(m.Payload) != `{"content":"after"}` || d.Skipped() != 1 {
				t.Fatalf("payload %s skipped %d", m.Payload, d.Skipped())
			}
		})
	}
}

func TestBraceInsideCRC(t *testing.T) {
	// Build a stream where several CRC bytes are '{', the byte text scanners
	// mistake for the start of an event. Every chunk must come through.
	var stream []byte
	var want strings.Builder
	braces := 0
	for i := 0; i < 400 || braces < 3; i++ {
		chunk := strings.Repeat("x", i%17) + "{" + string(rune('a'+i%26))
		frame := mustAppend(t, nil, textEvent(chunk))
		crcs := append(frame[8:12:12], frame[len(frame)-4:]...)
		if bytes.IndexByte(crcs, '{') >= 0 {
			braces++
		}
		stream = append(stream, frame...)
		want.WriteString(chunk)
	}
	if braces == 0 {
		t.Fatal("test stream has no '{' inside a CRC")
	}
	d := NewDecoder(bytes.NewReader(stream))
	var got strings.Builder
	for {
		m, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := string(m.Payload)
		got.WriteString(strings.TrimSuffix(strings.TrimPrefix(p, `{"content":"`), `"}`))
	}
	if got.String() != want.String() || d.Skipped() != 0 {
		t.Fatalf("text differs (skipped %d):\n got %q\nwant %q", d.Skipped(), got.String(), want.String())
	}
}

func TestGiveUpAfterConsecutiveErrors(t *testing.T) {
	bad := mustAppend(t, nil, textEvent("bad"))
	bad[len(bad)-1] ^= 0xff
	good := mustAppend(t, nil, textEvent("good"))
	for _, tc := range []struct {
		name    string
		bad     int
		wantErr bool
	}{
		{"four bad then good", maxConsecutiveErrors - 1, false},
		{"five bad", maxConsecutiveErrors, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stream []byte
			for range tc.bad {
				stream = append(stream, bad...)
			}
			stream = append(stream, good...)
			d := NewDecoder(bytes.NewReader(stream))
			m, err := d.Next()
			if tc.wantErr {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("got %v, want ErrCorrupt", err)
				}
				if !bytes.Equal(d.LastBad(), bad) {
					t.Fatalf("LastBad() = %x", d.LastBad())
				}
				if _, again := d.Next(); again != err {
					t.Fatalf("error not sticky: %v", again)
				}
				return
			}
			if err != nil || string(m.Payload) != `{"content":"good"}` {
				t.Fatalf("got %s, %v", m.Payload, err)
			}
			if d.Skipped() != tc.bad {
				t.Fatalf("Skipped() = %d, want %d", d.Skipped(), tc.bad)
			}
		})
	}
}

func TestErrorCountResetsAfterGoodFrame(t *testing.T) {
	bad := mustAppend(t, nil, textEvent("bad"))
	bad[len(bad)-1] ^= 0xff
	good := mustAppend(t, nil, textEvent("good"))
	var stream []byte
	for range 3 {
		for range maxConsecutiveErrors - 1 {
			stream = append(stream, bad...)
		}
		stream = append(stream, good...)
	}
	d := NewDecoder(bytes.NewReader(stream))
	for i := range 3 {
		if _, err := d.Next(); err != nil {
			t.Fatalf("good frame %d: %v", i, err)
		}
	}
	if d.Skipped() != 3*(maxConsecutiveErrors-1) {
		t.Fatalf("Skipped() = %d", d.Skipped())
	}
}

func TestLongGarbageCountsAsErrors(t *testing.T) {
	garbage := bytes.Repeat([]byte{0x7b}, maxScan*maxConsecutiveErrors+10)
	stream := append(garbage, mustAppend(t, nil, textEvent("late"))...)
	_, err := NewDecoder(bytes.NewReader(stream)).Next()
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("got %v, want ErrCorrupt after %d bytes of garbage", err, len(garbage))
	}
}

func TestReaders(t *testing.T) {
	var stream []byte
	var want []Message
	for i := range 50 {
		m := textEvent(strings.Repeat("é", i))
		want = append(want, m)
		stream = mustAppend(t, stream, m)
	}
	for _, tc := range []struct {
		name string
		r    func() io.Reader
	}{
		{"one byte at a time", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(stream)) }},
		{"data with EOF", func() io.Reader { return iotest.DataErrReader(bytes.NewReader(stream)) }},
		{"half reads", func() io.Reader { return iotest.HalfReader(bytes.NewReader(stream)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder(tc.r())
			for i, w := range want {
				m, err := d.Next()
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if !messagesEqual(m, w) {
					t.Fatalf("frame %d: got %s", i, m.Payload)
				}
			}
			if _, err := d.Next(); err != io.EOF {
				t.Fatalf("end: %v", err)
			}
		})
	}
}

func TestReadErrorIsNotCorruption(t *testing.T) {
	boom := errors.New("connection reset by peer")
	frame := vectorFrame(t)
	r := io.MultiReader(bytes.NewReader(frame[:50]), iotest.ErrReader(boom))
	_, err := NewDecoder(r).Next()
	if !errors.Is(err, boom) || errors.Is(err, ErrCorrupt) || errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v, want the read error", err)
	}
}

func TestPayloadSurvivesNextCall(t *testing.T) {
	stream := mustAppend(t, nil, textEvent("one"))
	stream = mustAppend(t, stream, textEvent("two"))
	d := NewDecoder(bytes.NewReader(stream))
	first, err := d.Next()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Next(); err != nil {
		t.Fatal(err)
	}
	if string(first.Payload) != `{"content":"one"}` || first.Headers.Get(HeaderMessageType) != "event" {
		t.Fatalf("first message changed: %s %v", first.Payload, first.Headers)
	}
}

func TestLargeFrames(t *testing.T) {
	big := textEvent(strings.Repeat("z", 3*readBufSize))
	bad := mustAppend(t, nil, big)
	bad[len(bad)-2] ^= 0x10
	stream := append(bad, mustAppend(t, nil, big)...)
	stream = mustAppend(t, stream, textEvent("small"))
	d := NewDecoder(iotest.HalfReader(bytes.NewReader(stream)))
	m, err := d.Next()
	if err != nil {
		t.Fatal(err)
	}
	if !messagesEqual(m, big) || d.Skipped() != 1 || len(d.LastBad()) != lastBadMax {
		t.Fatalf("big frame: %d bytes, skipped %d, lastBad %d", len(m.Payload), d.Skipped(), len(d.LastBad()))
	}
	m, err = d.Next()
	if err != nil || string(m.Payload) != `{"content":"small"}` {
		t.Fatalf("after big frame: %s %v", m.Payload, err)
	}
	if _, err := d.Next(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	// A big frame cut short is a truncation, not corruption.
	cut := mustAppend(t, nil, big)
	_, err = NewDecoder(bytes.NewReader(cut[:len(cut)/2])).Next()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("cut big frame: %v", err)
	}
}
