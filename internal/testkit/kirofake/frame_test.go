package kirofake

import (
	"bytes"
	"encoding/hex"
	"hash/crc32"
	"strings"
	"testing"
)

// appendixA1 is the byte-exact frame of kiro-protocol.md Appendix A.1.
const appendixA1 = "0000007c" + "0000005c" + "3bddcf78" +
	"0b3a6576656e742d74797065" + "070016617373697374616e74526573706f6e73654576656e74" +
	"0d3a636f6e74656e742d74797065" + "0700106170706c69636174696f6e2f6a736f6e" +
	"0d3a6d6573736167652d74797065" + "0700056576656e74" +
	"7b22636f6e74656e74223a224869227d" +
	"b02babdc"

func TestEncodeFrameAppendixA1(t *testing.T) {
	want, err := hex.DecodeString(appendixA1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := EncodeFrame([]Header{
		{Name: ":event-type", Value: "assistantResponseEvent"},
		{Name: ":content-type", Value: "application/json"},
		{Name: ":message-type", Value: "event"},
	}, []byte(`{"content":"Hi"}`))
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("frame mismatch\n got %x\nwant %x", got, want)
	}
	// The event builders produce the same bytes.
	ev, err := Text("Hi", 1)[0].Encode()
	if err != nil {
		t.Fatalf("encode event: %v", err)
	}
	if !bytes.Equal(ev, want) {
		t.Fatalf("Text event mismatch\n got %x\nwant %x", ev, want)
	}
}

func TestCRCCheckValue(t *testing.T) {
	if got := crc32.ChecksumIEEE([]byte("123456789")); got != 0xCBF43926 {
		t.Fatalf("CRC32(123456789) = %08x, want cbf43926", got)
	}
}

func TestEncodeFrameErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers []Header
		payload []byte
	}{
		{"empty name", []Header{{Name: "", Value: "x"}}, nil},
		{"long name", []Header{{Name: strings.Repeat("n", 256), Value: "x"}}, nil},
		{"long value", []Header{{Name: "n", Value: strings.Repeat("v", 65536)}}, nil},
		{"huge payload", nil, make([]byte, 16<<20)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := EncodeFrame(tc.headers, tc.payload); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestEventFrames(t *testing.T) {
	for _, tc := range []struct {
		name        string
		ev          Event
		wantHeaders map[string]string
		wantPayload string
	}{
		{"exception", Exception("ContentLengthExceededException", "too long"),
			map[string]string{":message-type": "exception", ":exception-type": "ContentLengthExceededException", ":content-type": "application/json"},
			`{"message":"too long"}`},
		{"error frame", ErrorFrame("InternalError", "boom"),
			map[string]string{":message-type": "error", ":error-code": "InternalError", ":error-message": "boom"}, ``},
		{"metering", Metering(0.34),
			map[string]string{":message-type": "event", ":event-type": "meteringEvent", ":content-type": "application/json"},
			`{"unit":"credit","unitPlural":"credits","usage":0.34}`},
		{"context usage", ContextUsage(12.5),
			map[string]string{":message-type": "event", ":event-type": "contextUsageEvent", ":content-type": "application/json"},
			`{"contextUsagePercentage":12.5}`},
		{"reasoning", Reasoning("hmm"),
			map[string]string{":message-type": "event", ":event-type": "reasoningContentEvent", ":content-type": "application/json"},
			`{"text":"hmm"}`},
		{"metadata", MessageMetadata(10, 20),
			map[string]string{":message-type": "event", ":event-type": "messageMetadataEvent", ":content-type": "application/json"},
			`{"tokenUsage":{"outputTokens":20,"uncachedInputTokens":10,"cacheReadInputTokens":0,"cacheWriteInputTokens":0}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.ev.Encode()
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			f, err := readFrame(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if len(f.headers) != len(tc.wantHeaders) {
				t.Errorf("headers = %v, want %v", f.headers, tc.wantHeaders)
			}
			for k, v := range tc.wantHeaders {
				if f.headers[k] != v {
					t.Errorf("header %s = %q, want %q", k, f.headers[k], v)
				}
			}
			if string(f.payload) != tc.wantPayload {
				t.Errorf("payload = %s, want %s", f.payload, tc.wantPayload)
			}
		})
	}
}

func TestCorruptCRCAndGarbage(t *testing.T) {
	ev := CorruptCRC(Text("Hi", 1)[0])
	if _, err := readFrame(bytes.NewReader(ev.Raw)); err == nil {
		t.Fatal("corrupt frame decoded without error")
	}
	good, _ := Text("Hi", 1)[0].Encode()
	if !bytes.Equal(ev.Raw[:len(ev.Raw)-4], good[:len(good)-4]) {
		t.Fatal("CorruptCRC changed more than the message CRC")
	}
	g1, g2 := Garbage(64), Garbage(64)
	if len(g1.Raw) != 64 || !bytes.Equal(g1.Raw, g2.Raw) {
		t.Fatalf("Garbage not deterministic or wrong length: %d", len(g1.Raw))
	}
	if !bytes.Contains(g1.Raw, []byte("{")) {
		t.Fatal("Garbage lacks the '{' that tempts text scanners")
	}
	if _, err := readFrame(bytes.NewReader(g1.Raw)); err == nil {
		t.Fatal("garbage decoded as a frame")
	}
}

// FuzzEncodeFrame checks that every frame EncodeFrame builds decodes back,
// with the test's own decoder, to the same headers and payload.
func FuzzEncodeFrame(f *testing.F) {
	f.Add(":event-type", "assistantResponseEvent", []byte(`{"content":"Hi"}`))
	f.Add(":exception-type", "", []byte{})
	f.Add("x", strings.Repeat("é", 300), []byte{0, 0, 0, 0x10, '{'})
	f.Fuzz(func(t *testing.T, name, value string, payload []byte) {
		b, err := EncodeFrame([]Header{{Name: name, Value: value}, {Name: ":message-type", Value: "event"}}, payload)
		if err != nil {
			if name == "" || len(name) > 255 || len(value) > 65535 {
				return
			}
			t.Fatalf("encode: %v", err)
		}
		r := bytes.NewReader(b)
		fr, err := readFrame(r)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if r.Len() != 0 {
			t.Fatalf("%d trailing bytes", r.Len())
		}
		if !bytes.Equal(fr.payload, payload) {
			t.Fatalf("payload %x, want %x", fr.payload, payload)
		}
		if name != ":message-type" && fr.headers[name] != value {
			t.Fatalf("header %q = %q, want %q", name, fr.headers[name], value)
		}
	})
}
