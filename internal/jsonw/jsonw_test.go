package jsonw

import (
	"encoding/json"
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
