package server

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kirobar/kirobar/canon"
)

func scanAll(deltas ...string) []link {
	var sc citeScan
	var out []link
	for _, d := range deltas {
		out = append(out, sc.feed(d)...)
	}
	return out
}

func TestCiteScan(t *testing.T) {
	for _, tc := range []struct {
		name   string
		deltas []string
		urls   []string
		spans  [][2]int
	}{
		{"one delta", []string{"See [Go](https://go.dev)."}, []string{"https://go.dev"}, [][2]int{{4, 24}}},
		{"split everywhere", []string{"See [", "Go]", "(https://", "go.dev", ")", "."}, []string{"https://go.dev"}, [][2]int{{4, 24}}},
		{"two links", []string{"[a](https://a.example) and [b](https://b.example)"}, []string{"https://a.example", "https://b.example"}, [][2]int{{0, 22}, {27, 49}}},
		{"characters, not bytes", []string{"ünï [ß](https://ß.example)"}, []string{"https://ß.example"}, [][2]int{{4, 26}}},
		{"not a link", []string{"arr[1] = x; [x] (y)"}, nil, nil},
		{"label across lines", []string{"[a\nb](https://a.example)"}, nil, nil},
		{"space in url", []string{"[a](https://a.example b)"}, nil, nil},
		{"empty url", []string{"[a]()"}, nil, nil},
		{"nested bracket restarts", []string{"[x [Go](https://go.dev)"}, []string{"https://go.dev"}, [][2]int{{3, 23}}},
		{"unfinished at the end", []string{"see [Go](https://go.dev"}, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := scanAll(tc.deltas...)
			if len(got) != len(tc.urls) {
				t.Fatalf("links = %+v, want %v", got, tc.urls)
			}
			for i, l := range got {
				if l.url != tc.urls[i] || l.start != tc.spans[i][0] || l.end != tc.spans[i][1] {
					t.Errorf("link %d = %+v, want %s %v", i, l, tc.urls[i], tc.spans[i])
				}
			}
		})
	}
}

// FuzzCiteScan: however the text is split into deltas, the same links are
// found, and each span is the link's text.
func FuzzCiteScan(f *testing.F) {
	f.Add("See [Go](https://go.dev). And [x](y) [[z]](w)", 3)
	f.Add("ünï [ß](https://ß.example) [", 1)
	f.Fuzz(func(t *testing.T, text string, step int) {
		if !utf8.ValidString(text) {
			return
		}
		whole := scanAll(text)
		if step < 1 {
			step = 1
		}
		var parts []string
		runes := []rune(text)
		for i := 0; i < len(runes); i += step {
			parts = append(parts, string(runes[i:min(i+step, len(runes))]))
		}
		split := scanAll(parts...)
		if len(whole) != len(split) {
			t.Fatalf("whole %+v, split %+v", whole, split)
		}
		for i := range whole {
			if whole[i] != split[i] {
				t.Fatalf("whole %+v, split %+v", whole[i], split[i])
			}
			span := string(runes[whole[i].start:whole[i].end])
			if !strings.HasPrefix(span, "[") || !strings.HasSuffix(span, ")") || !strings.Contains(span, "]("+whole[i].url) {
				t.Fatalf("span %q for %+v", span, whole[i])
			}
		}
	})
}

func TestCiteMatchesSources(t *testing.T) {
	l := &searchLoop{scans: map[int]*citeScan{}, sources: []source{
		{url: "https://go.dev/doc/go1.26", title: "Go 1.26", snippet: strings.Repeat("word ", 60)},
	}}
	out := l.cite(nil, 3, "Read [the notes](https://go.dev/doc/go1.26/#tools) and [elsewhere](https://example.com).")
	if len(out) != 1 {
		t.Fatalf("events = %+v", out)
	}
	c := out[0].Citation
	if out[0].Index != 3 || out[0].Block != canon.TextBlock || out[0].Delta != "" || c.URL != "https://go.dev/doc/go1.26" || c.Title != "Go 1.26" {
		t.Fatalf("citation event = %+v %+v", out[0], c)
	}
	if n := utf8.RuneCountInString(c.CitedText); n > citedTextMax || !strings.HasSuffix(c.CitedText, "…") {
		t.Fatalf("cited text of %d characters: %q", n, c.CitedText)
	}
	if snippet, ok := canon.DecodeSearchContent(c.EncryptedIndex); !ok || !strings.Contains(snippet, "go1.26") {
		t.Fatalf("encrypted index %q", c.EncryptedIndex)
	}
}

func TestDomainFilter(t *testing.T) {
	for _, tc := range []struct {
		name             string
		allowed, blocked []string
		query            string
		sent             string
		pass, fail       []string
	}{
		{"none", nil, nil, "go", "go", []string{"https://any.example/x", "not a url"}, nil},
		{"allowed with subdomains", []string{"go.dev", "https://www.Example.com/"}, nil, "go", "go site:go.dev OR site:example.com",
			[]string{"https://go.dev/doc", "https://pkg.go.dev/x", "https://www.example.com/a", "https://docs.example.com"},
			[]string{"https://notgo.dev", "https://go.dev.evil.example", "not a url"}},
		{"allowed path", []string{"example.com/blog"}, nil, "go", "go site:example.com/blog",
			[]string{"https://example.com/blog", "https://example.com/blog/post"}, []string{"https://example.com/blogger", "https://example.com/"}},
		{"many allowed are not hinted", []string{"a.com", "b.com", "c.com", "d.com"}, nil, "go", "go", []string{"https://d.com/"}, []string{"https://e.com/"}},
		{"blocked", nil, []string{"spam.example", "*.ads.example"}, "go", "go -site:spam.example -site:ads.example",
			[]string{"https://good.example", "not a url"}, []string{"https://spam.example/x", "https://x.spam.example", "https://ads.example"}},
		{"hints that do not fit are left out", []string{"go.dev"}, nil, strings.Repeat("q", 195), strings.Repeat("q", 195), []string{"https://go.dev"}, []string{"https://x.dev"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newDomainFilter(&canon.Tool{AllowedDomains: tc.allowed, BlockedDomains: tc.blocked})
			if got := f.query(tc.query); got != tc.sent {
				t.Errorf("query %q, want %q", got, tc.sent)
			}
			for _, u := range tc.pass {
				if !f.permits(u) {
					t.Errorf("%s refused", u)
				}
			}
			for _, u := range tc.fail {
				if f.permits(u) {
					t.Errorf("%s passed", u)
				}
			}
		})
	}
}
