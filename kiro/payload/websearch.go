package payload

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/kirobar/kirobar/canon"
)

// Kiro's models have no built-in web search; kirobar serves the Messages
// API's web search server tool by declaring an ordinary tool named
// web_search to the model (as Kiro CLI declares its own), running the
// searches the model asks for, and feeding the results back as tool
// results (server/websearch.go). This file is the model-facing half: the
// tool's declaration and the text the model reads for results.

// webSearchQueryMax is the longest query Kiro's web search accepts (Kiro
// CLI's web_search schema: maxLength 200).
const webSearchQueryMax = 200

// webSearchSchema is the tool's input schema, Kiro CLI's own.
const webSearchSchema = `{"type":"object","properties":{"query":{"type":"string","maxLength":200,"description":"The search query: concise keywords, at most 200 characters"}},"required":["query"]}`

// declareWebSearch declares the web search tool to the model, its
// description carrying what Kiro's search cannot take as parameters: the
// user's location, the domain lists and the use limit.
func declareWebSearch(set *toolSet, t *canon.Tool) {
	if set.has(canon.WebSearchName) {
		return
	}
	set.add(canon.WebSearchName, webSearchDescription(t), func(dst []byte) []byte {
		return append(dst, webSearchSchema...)
	})
}

func webSearchDescription(t *canon.Tool) string {
	var b strings.Builder
	b.WriteString("Search the web for information newer than your training data or not in the conversation: recent events, releases, documentation, prices, facts that change. ")
	b.WriteString("Returns the title, URL, publication date and a snippet of the top results. ")
	b.WriteString("Write focused keyword queries of at most " + strconv.Itoa(webSearchQueryMax) + " characters; search several times for a complex question. ")
	b.WriteString("Cite the results you use as markdown links with their exact URL, like [Go 1.26 release notes](https://go.dev/doc/go1.26), and never quote more than 30 consecutive words of one result.")
	if loc := t.UserLocation.Describe(); loc != "" {
		b.WriteString("\n\nThe user is located in " + loc + "; put the location into queries where local results matter.")
	}
	if len(t.AllowedDomains) > 0 {
		b.WriteString("\n\nOnly results from these domains are returned: " + strings.Join(t.AllowedDomains, ", ") + ".")
	}
	if len(t.BlockedDomains) > 0 {
		b.WriteString("\n\nResults from these domains are never returned: " + strings.Join(t.BlockedDomains, ", ") + ".")
	}
	if t.MaxUses != nil {
		b.WriteString("\n\nYou may search at most " + strconv.Itoa(*t.MaxUses) + " times while answering.")
	}
	return b.String()
}

// SearchHit is a web search result as the model reads it.
type SearchHit struct {
	Title     string
	URL       string
	Snippet   string
	Published string // "2026-01-15", "" when unknown
}

// SearchResultsText is the tool result the model gets for a search: the
// hits numbered, each with title, URL, date and snippet, and how to use
// them. maxQuote is the fewest consecutive words any hit allows quoting
// (0: no limit given).
func SearchResultsText(query string, hits []SearchHit, maxQuote int) string {
	var b strings.Builder
	b.WriteString("Web search results for " + strconv.Quote(query) + ":\n")
	if len(hits) == 0 {
		b.WriteString("\nNo results. Try other keywords, or answer from what you know and say that the search found nothing.")
		return b.String()
	}
	for i, h := range hits {
		b.WriteString("\n[" + strconv.Itoa(i+1) + "] " + oneLine(h.Title) + "\nURL: " + h.URL + "\n")
		if h.Published != "" {
			b.WriteString("Published: " + h.Published + "\n")
		}
		if s := strings.TrimSpace(h.Snippet); s != "" {
			b.WriteString(s + "\n")
		}
	}
	b.WriteString("\nCite the results you use as markdown links with their exact URL.")
	if maxQuote > 0 {
		b.WriteString(" Quote at most " + strconv.Itoa(maxQuote) + " consecutive words of any one result; paraphrase the rest.")
	}
	return b.String()
}

// SearchErrorText is the tool result the model gets for a search that did
// not run or failed; detail says why in words.
func SearchErrorText(query, detail string) string {
	return "The web search for " + strconv.Quote(query) + " did not return results: " + detail +
		" Continue without it: answer from what you know and from earlier results, and tell the user that searching was not possible."
}

// serverBlockText renders a web search of an earlier turn (its
// server_tool_use or web_search_tool_result block, sent back by the
// client) as text of the assistant turn, since Kiro has no such blocks.
// The snippets come back from the encrypted_content kirobar wrote.
func serverBlockText(b canon.Block) string {
	switch b.Type {
	case canon.BlockServerToolUse:
		var in struct {
			Query string `json:"query"`
		}
		_ = json.Unmarshal(b.Input, &in) // a query-less call still says a search happened
		if in.Query == "" {
			return "[searched the web]"
		}
		return "[searched the web for " + strconv.Quote(in.Query) + "]"
	case canon.BlockWebSearchToolResult:
		var hits []SearchHit
		for _, r := range b.Content {
			if r.WebFields == nil {
				continue
			}
			if r.Type == canon.BlockWebSearchToolResultError {
				return "[the web search failed: " + r.ErrorCode + "]"
			}
			snippet, _ := canon.DecodeSearchContent(r.EncryptedContent)
			hits = append(hits, SearchHit{Title: r.Title, URL: r.URL, Snippet: snippet, Published: r.PageAge})
		}
		var out strings.Builder
		out.WriteString("[web search results]")
		for i, h := range hits {
			out.WriteString("\n[" + strconv.Itoa(i+1) + "] " + oneLine(h.Title) + " - " + h.URL)
			if h.Published != "" {
				out.WriteString(" (" + h.Published + ")")
			}
			if s := strings.TrimSpace(h.Snippet); s != "" {
				out.WriteString("\n" + s)
			}
		}
		return out.String()
	}
	return ""
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
