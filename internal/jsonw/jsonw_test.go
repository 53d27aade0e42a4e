package jsonw

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestStringRoundTrip(t *testing.T) {
	for _, s := range []string{
		"", "plain", `quote " and \ backslash`, "line\nbreak\ttab\r", "\x00\x01\x1f",
		"héllo 世界 🎉", "bad \xff utf8", "sep \u2028 \u2029", "<script>&",
	} {
		b := String(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%q -> %s: %v", s, b, err)
		}
		want := s
		if s == "bad \xff utf8" {
			want = "bad \ufffd utf8"
		}
		if back != want {
			t.Fatalf("%q -> %s -> %q", s, b, back)
		}
	}
}

func FuzzString(f *testing.F) {
	f.Add("hello")
	f.Add("\xff\x00\"\\")
	f.Fuzz(func(t *testing.T, s string) {
		b := String(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%q -> %s: %v", s, b, err)
		}
		want, _ := json.Marshal(s) // encoding/json also replaces invalid UTF-8
		var w string
		_ = json.Unmarshal(want, &w)
		if back != w {
			t.Fatalf("%q: got %q want %q", s, back, w)
		}
	})
}

// TestPlain8 checks the word test against the per-byte table for every
// byte value at every position of a word.
func TestPlain8(t *testing.T) {
	base := []byte("abcdefgh")
	for pos := 0; pos < 8; pos++ {
		for c := 0; c < 256; c++ {
			w := append([]byte(nil), base...)
			w[pos] = byte(c)
			want := true
			for _, b := range w {
				want = want && safeASCII[b] == 1
			}
			if got := plain8(string(w), 0); got != want {
				t.Fatalf("plain8(%q) = %v, want %v", w, got, want)
			}
		}
	}
}

func BenchmarkString(b *testing.B) {
	s := strings.Repeat("Prefer the dedicated tool over a shell pipeline, quote paths with spaces.\n", 600)
	b.SetBytes(int64(len(s)))
	dst := make([]byte, 0, len(s)*2)
	for b.Loop() {
		dst = String(dst[:0], s)
	}
}

// FuzzStringMatchesEncodingJSON: the bytes equal encoding/json's, without
// HTML escaping, so records written by hand and by encoding/json agree.
func FuzzStringMatchesEncodingJSON(f *testing.F) {
	f.Add("a\b\f\x00\"\\<>&\u2028\xff")
	f.Fuzz(func(t *testing.T, s string) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		want := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		if got := String(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	})
}
