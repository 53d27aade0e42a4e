package server

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kirobar/kirobar/canon"
)

// Kiro's models write plain text. The web search tool asks them to cite
// results as markdown links with the result's URL; a link to a result in
// the answer becomes a web_search_result_location citation of the text
// block that holds it, the way the Messages API attaches citations, and a
// url_citation annotation of the span on the Responses API. The text itself
// streams unchanged and undelayed: the scanner only keeps the tail that may
// still turn into a link.

// Bounds of what counts as a link, so a stray "[" does not hold a tail
// forever.
const (
	maxLinkLabel = 500
	maxLinkURL   = 2048
	citedTextMax = 150 // the Messages API's cited_text is at most 150 characters
)

// citeScan follows one text block.
type citeScan struct {
	tail string // text from the first "[" that may still open a link
	base int    // characters of the block before tail
}

// cite feeds a text delta of client block ci to its scanner and appends a
// citation event for every completed link to a search result.
func (l *searchLoop) cite(out []canon.Event, ci int, delta string) []canon.Event {
	sc := l.scans[ci]
	if sc == nil {
		sc = &citeScan{}
		l.scans[ci] = sc
	}
	for _, lk := range sc.feed(delta) {
		src := l.source(lk.url)
		if src == nil {
			continue
		}
		out = append(out, canon.Event{Kind: canon.BlockDelta, Index: ci, Block: canon.TextBlock, Citation: &canon.Citation{
			Type: "web_search_result_location", URL: src.url, Title: src.title,
			CitedText: citedText(src.snippet), EncryptedIndex: canon.EncodeSearchContent(strconv.Itoa(l.sourceIndex(src)) + " " + src.url),
			Start: lk.start, End: lk.end,
		}})
	}
	return out
}

// source finds the search result a link points at: the same URL, give or
// take a trailing slash or a fragment.
func (l *searchLoop) source(link string) *source {
	want := sameURL(link)
	for i := len(l.sources) - 1; i >= 0; i-- {
		if sameURL(l.sources[i].url) == want {
			return &l.sources[i]
		}
	}
	return nil
}

func (l *searchLoop) sourceIndex(s *source) int {
	for i := range l.sources {
		if &l.sources[i] == s {
			return i
		}
	}
	return -1
}

func sameURL(u string) string {
	u, _, _ = strings.Cut(strings.TrimSpace(u), "#")
	return strings.TrimSuffix(u, "/")
}

// link is a completed markdown link: its URL and its span in the block,
// in characters.
type link struct {
	url        string
	start, end int
}

// feed adds text and returns the links it completed.
func (sc *citeScan) feed(delta string) []link {
	sc.tail += delta
	var out []link
	pos := 0 // bytes of tail already settled
	for {
		i := strings.IndexByte(sc.tail[pos:], '[')
		if i < 0 {
			pos = len(sc.tail)
			break
		}
		i += pos
		n, u, state := parseLink(sc.tail[i:])
		if state == linkMaybe {
			pos = i
			break
		}
		if state == linkNone {
			pos = i + 1
			continue
		}
		start := sc.base + utf8.RuneCountInString(sc.tail[:i])
		out = append(out, link{url: u, start: start, end: start + utf8.RuneCountInString(sc.tail[i:i+n])})
		pos = i + n
	}
	sc.base += utf8.RuneCountInString(sc.tail[:pos])
	sc.tail = sc.tail[pos:]
	return out
}

// Outcomes of parseLink.
const (
	linkNone  = iota // s does not start a link
	linkMaybe        // s may be the start of a link not complete yet
	linkDone         // s starts with a complete link
)

// parseLink reads "[label](url)" at the start of s (which begins with
// "["), returning its length in bytes and its URL when complete.
func parseLink(s string) (n int, u string, state int) {
	end := -1
	for j := 1; j < len(s); j++ {
		switch s[j] {
		case ']':
			end = j
		case '\n', '[':
			return 0, "", linkNone
		}
		if end >= 0 {
			break
		}
		if j > maxLinkLabel {
			return 0, "", linkNone
		}
	}
	if end < 0 {
		return 0, "", linkMaybe
	}
	if end+1 == len(s) {
		return 0, "", linkMaybe
	}
	if s[end+1] != '(' {
		return 0, "", linkNone
	}
	for j := end + 2; j < len(s); j++ {
		switch c := s[j]; {
		case c == ')':
			u := strings.TrimSpace(s[end+2 : j])
			if u == "" {
				return 0, "", linkNone
			}
			return j + 1, u, linkDone
		case c == ' ' || c == '\n' || c == '\t' || c == '(':
			return 0, "", linkNone
		}
		if j-end > maxLinkURL {
			return 0, "", linkNone
		}
	}
	return 0, "", linkMaybe
}

// citedText is the cited passage: the snippet's start, at most
// citedTextMax characters, cut at a word.
func citedText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= citedTextMax {
		return s
	}
	cut := 0
	for i := range s {
		if utf8.RuneCountInString(s[:i]) >= citedTextMax-1 {
			cut = i
			break
		}
	}
	if sp := strings.LastIndexByte(s[:cut], ' '); sp > cut/2 {
		cut = sp
	}
	return s[:cut] + "…"
}
