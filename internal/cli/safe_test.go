package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSafe(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"claude-sonnet-4-5", "claude-sonnet-4-5"},
		{"héllo → 世界 😀", "héllo → 世界 😀"},
		{"\x1b[2Jclear", `\x1b[2Jclear`},
		{"\x1b]52;c;aGVsbG8=\x07", `\x1b]52;c;aGVsbG8=\x07`},
		{"a\tb\nc\rd", `a\tb\nc\rd`},
		{"del\x7f", `del\u007f`},
		{"csi\u009b2J", `csi\u009b2J`},
		{"admin\u202e\u2066txt.exe", `admin\u202e\u2066txt.exe`},
		{"line\u2028sep", `line\u2028sep`},
		{"bad\xff\xfe", `bad\xff\xfe`},
		{"nul\x00", `nul\x00`},
		{`C:\Users\me`, `C:\Users\me`},
	} {
		if got := Safe(tc.in); got != tc.want {
			t.Errorf("Safe(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSafeWriterKeepsLayoutAndJSON(t *testing.T) {
	var b bytes.Buffer
	w := SafeWriter(&b)
	for _, chunk := range []string{"ID\tMODEL\n", "x\x1b[2J", "\xe4", "\xb8\x96\n", "\u009b\n"} { // 世 split across writes
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if want := "ID\tMODEL\n" + `x\x1b[2J` + "世\n" + `\u009b` + "\n"; b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}

	// JSON through the writer stays JSON that decodes to the same value.
	b.Reset()
	in := map[string]string{"model": "m\x1b[2J\u009b\u202e\x7f\u2028 ok"}
	enc := json.NewEncoder(SafeWriter(&b))
	if err := enc.Encode(in); err != nil {
		t.Fatal(err)
	}
	var out map[string]string
	if err := json.Unmarshal(b.Bytes(), &out); err != nil || out["model"] != in["model"] {
		t.Fatalf("%s decodes to %q (%v)", b.String(), out, err)
	}
	if !clean(b.String(), true) {
		t.Fatalf("JSON output still holds something a terminal acts on: %q", b.String())
	}
}

// FuzzSafe: whatever goes in, nothing a terminal acts on comes out, and
// text without such characters is left alone.
func FuzzSafe(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b[2J", "\x1b]52;c;aGk=\x07", "\u009b\u202e", "\xff\xe4\xb8", "a\tb\nc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, layout := range []bool{false, true} {
			out := string(appendSafe(nil, s, layout))
			if !utf8.ValidString(out) || !clean(out, layout) {
				t.Fatalf("appendSafe(%q, %v) = %q still needs escaping", s, layout, out)
			}
			if clean(s, layout) && out != s {
				t.Fatalf("appendSafe(%q, %v) changed clean text to %q", s, layout, out)
			}
			if !layout && strings.ContainsAny(out, "\t\n") {
				t.Fatalf("Safe(%q) = %q keeps a tab or newline", s, out)
			}
		}
	})
}
