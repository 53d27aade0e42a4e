package jsonscan

import "testing"

func TestSkipValue(t *testing.T) {
	for _, tc := range []struct {
		in   string
		at   int
		want int
	}{
		{`"a\"b",1`, 0, 6},
		{`{"a":[1,"]",{"b":"}"}]},2`, 0, 23},
		{`[1,2] `, 0, 5},
		{`123,4`, 0, 3},
		{`true}`, 0, 4},
		{`null `, 0, 4},
		{`{"a":`, 0, 5},
		{`"open`, 0, 5},
		{`x`, 3, 1},
	} {
		if got := SkipValue([]byte(tc.in), tc.at); got != tc.want {
			t.Errorf("SkipValue(%q, %d) = %d, want %d", tc.in, tc.at, got, tc.want)
		}
	}
}

func FuzzSkipValue(f *testing.F) {
	f.Add([]byte(`{"a":[1,"x\"y",{}]}`), 0)
	f.Fuzz(func(t *testing.T, p []byte, i int) {
		if i < 0 {
			return
		}
		if got := SkipValue(p, i); got > len(p) || (i < len(p) && got <= i && len(p) > 0 && p[i] != ',' && p[i] != '}' && p[i] != ']' && p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r') {
			t.Fatalf("SkipValue(%q, %d) = %d", p, i, got)
		}
	})
}

// skipStringBytes is SkipString one byte at a time, as it was written
// first: FuzzSkipString holds the fast one to it.
func skipStringBytes(p []byte, i int) int {
	for i++; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(p)
}

func FuzzSkipString(f *testing.F) {
	for _, s := range []string{`"a\"b"x`, `"\\"`, `"\\\"\\\\"`, `"open\`, `"x\\`, `""`, `"\"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		if len(p) == 0 || p[0] != '"' {
			return
		}
		if got, want := SkipString(p, 0), skipStringBytes(p, 0); got != want {
			t.Fatalf("SkipString(%q) = %d, byte loop %d", p, got, want)
		}
	})
}
