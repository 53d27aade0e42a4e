package jsonscan

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestUnquote(t *testing.T) {
	for _, tc := range []struct {
		in      string // content between the quotes
		invalid Invalid
		want    string
		ok      bool
	}{
		{`plain`, Reject, "plain", true},
		{``, Reject, "", true},
		{`a\"b\\c\/d`, Reject, `a"b\c/d`, true},
		{`\b\f\n\r\t`, Replace, "\b\f\n\r\t", true},
		{`\u00e9\u65e5`, Reject, "é日", true},
		{`\ud83d\ude00`, Reject, "😀", true},
		{`\ud83d x`, Reject, "\ufffd x", true},
		{`\ude00`, Replace, "\ufffd", true},
		{`\ud83d\u0041`, Reject, "\ufffdA", true},
		{`\ud83d`, Reject, "\ufffd", true},
		{"bad \xff utf8", Replace, "bad \ufffd utf8", true},
		{"bad \xff utf8", Reject, "", false},
		{"\xe2\x82 cut \\n", Replace, "\ufffd\ufffd cut \n", true},
		{`\x`, Replace, "", false},
		{`\u12`, Replace, "", false},
		{`\u12g4`, Replace, "", false},
		{`end\`, Replace, "", false},
	} {
		got, ok := Unquote([]byte("x"), []byte(tc.in), tc.invalid)
		if ok != tc.ok || ok && string(got) != "x"+tc.want {
			t.Errorf("Unquote(%q, %v) = %q, %v; want %q, %v", tc.in, tc.invalid, got, ok, "x"+tc.want, tc.ok)
		}
	}
}

// FuzzUnquote checks Unquote against encoding/json for every string
// encoding/json accepts: Replace decodes it the same, Reject decodes it
// the same or (for invalid UTF-8 only) declines.
func FuzzUnquote(f *testing.F) {
	for _, s := range []string{`"a\"b"`, `"\ud83d\ude00\u00e9"`, `"\ud800\udbff"`, "\"x\xff\xfe\"", `"\/\b"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, quoted []byte) {
		var want string
		if json.Unmarshal(quoted, &want) != nil || len(quoted) < 2 || quoted[0] != '"' || quoted[len(quoted)-1] != '"' {
			return
		}
		s := quoted[1 : len(quoted)-1]
		got, ok := Unquote(nil, s, Replace)
		if !ok || string(got) != want {
			t.Fatalf("Unquote(%q, Replace) = %q, %v; encoding/json %q", s, got, ok, want)
		}
		got, ok = Unquote(nil, s, Reject)
		switch {
		case ok && string(got) != want:
			t.Fatalf("Unquote(%q, Reject) = %q; encoding/json %q", s, got, want)
		case !ok && utf8.Valid(s):
			t.Fatalf("Unquote(%q, Reject) declined valid UTF-8", s)
		}
	})
}
