package canon

import (
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Web search is Anthropic's server tool: the client declares it, the model
// calls it, and the server (kirobar, through Kiro's own search) runs it and
// answers within the same message. These are the request fields, history
// blocks and stream events that carry it.

// WebSearchName is the name the web search server tool always has.
const WebSearchName = "web_search"

// WebSearchType is the Messages API tool type kirobar reports for a web
// search tool declared on another surface (the Responses API's web_search).
const WebSearchType = "web_search_20250305"

// Block types of a web search in a message's content.
const (
	BlockServerToolUse            = "server_tool_use"
	BlockWebSearchToolResult      = "web_search_tool_result"
	BlockWebSearchResult          = "web_search_result"
	BlockWebSearchToolResultError = "web_search_tool_result_error"
)

// Error codes of a web_search_tool_result_error, as the Messages API names
// them (anthropic-sdk-python web_search_tool_result_error_code.py).
const (
	SearchInvalidInput    = "invalid_tool_input"
	SearchUnavailable     = "unavailable"
	SearchMaxUses         = "max_uses_exceeded"
	SearchTooManyRequests = "too_many_requests"
	SearchQueryTooLong    = "query_too_long"
	SearchRequestTooLarge = "request_too_large"
)

// Stream block kinds of a web search. A server tool use block carries the
// query as its input JSON (one delta); a web search result block has no
// deltas: its BlockStart carries the whole outcome in Event.Search.
const (
	ServerToolUseBlock BlockKind = iota + 16
	WebSearchResultBlock
)

// UserLocation is the approximate location a web search tool declares so
// results can be local.
type UserLocation struct {
	Type     string `json:"type,omitempty"`
	City     string `json:"city,omitempty"`
	Region   string `json:"region,omitempty"`
	Country  string `json:"country,omitempty"`
	Timezone string `json:"timezone,omitempty"`
}

// Describe is the location as one line for the model, "" when it says
// nothing.
func (l *UserLocation) Describe() string {
	if l == nil {
		return ""
	}
	var parts []string
	for _, p := range []string{l.City, l.Region, l.Country} {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	s := strings.Join(parts, ", ")
	if tz := strings.TrimSpace(l.Timezone); tz != "" {
		if s != "" {
			s += " "
		}
		s += "(time zone " + tz + ")"
	}
	return s
}

// WebFields are the fields only web search blocks have. Block embeds them
// by pointer so every other block stays small; JSON decoding allocates them
// only for blocks that carry one of these keys.
type WebFields struct {
	// web_search_result
	URL              string `json:"url,omitempty"`
	Title            string `json:"title,omitempty"`
	EncryptedContent string `json:"encrypted_content,omitempty"`
	PageAge          string `json:"page_age,omitempty"`

	// web_search_tool_result_error
	ErrorCode string `json:"error_code,omitempty"`

	// text: the search results the text cites
	Citations []Citation `json:"citations,omitempty"`
}

// Citation is a span of answer text that cites a web search result.
type Citation struct {
	Type           string `json:"type,omitempty"` // web_search_result_location
	URL            string `json:"url"`
	Title          string `json:"title,omitempty"`
	CitedText      string `json:"cited_text,omitempty"`
	EncryptedIndex string `json:"encrypted_index,omitempty"`
	// Start and End are the citing span's offsets in its text block, in
	// characters (Unicode code points), for surfaces that annotate spans.
	Start int `json:"-"`
	End   int `json:"-"`
}

// SearchOutcome is what one web search produced, carried by the BlockStart
// of a WebSearchResultBlock: results, or the error code when it failed.
type SearchOutcome struct {
	Query     string
	Results   []SearchHit
	ErrorCode string
}

// SearchHit is one search result as clients see it.
type SearchHit struct {
	URL   string
	Title string
	// EncryptedContent is opaque to clients; they send it back in later
	// turns so the result can reach the model again.
	EncryptedContent string
	// PageAge is how old the page is, "" when unknown.
	PageAge string
}

// ServerToolUsage counts the server tool calls of a response.
type ServerToolUsage struct {
	WebSearchRequests int
}

// IsWebSearch reports whether t is the web search server tool
// (web_search_20250305 and its later versions).
func (t *Tool) IsWebSearch() bool {
	return strings.HasPrefix(t.Type, "web_search_")
}

// WebSearch returns the request's web search tool, nil when it declares
// none.
func (r *Request) WebSearch() *Tool {
	for i := range r.Tools {
		if r.Tools[i].IsWebSearch() {
			return &r.Tools[i]
		}
	}
	return nil
}

// validateServerTools checks the web search tool as the Messages API does:
// its name, at most one of it, positive max_uses, not both domain lists,
// and no other tool by its name.
func (r *Request) validateServerTools() error {
	search := -1
	for i := range r.Tools {
		t := &r.Tools[i]
		if !t.IsWebSearch() {
			continue
		}
		if search >= 0 {
			return fmt.Errorf("tools.%d: only one web search tool may be declared", i)
		}
		search = i
		if t.Name != WebSearchName {
			return fmt.Errorf("tools.%d.name: the web search tool must be named %q", i, WebSearchName)
		}
		if t.MaxUses != nil && *t.MaxUses < 1 {
			return fmt.Errorf("tools.%d.max_uses: must be at least 1", i)
		}
		if len(t.AllowedDomains) > 0 && len(t.BlockedDomains) > 0 {
			return fmt.Errorf("tools.%d: allowed_domains and blocked_domains cannot be used together", i)
		}
	}
	if search < 0 {
		return nil
	}
	for i := range r.Tools {
		if i != search && r.Tools[i].Name == WebSearchName {
			return fmt.Errorf("tools.%d.name: tool names must be unique, and %q is the web search tool's", i, WebSearchName)
		}
	}
	return nil
}

// searchResultBlock is the web_search_tool_result block an outcome is
// collected into: its results, or one error block.
func searchResultBlock(toolUseID string, o *SearchOutcome) Block {
	b := Block{Type: BlockWebSearchToolResult, ToolUseID: toolUseID}
	if o == nil {
		return b
	}
	if o.ErrorCode != "" {
		b.Content = Content{{Type: BlockWebSearchToolResultError, WebFields: &WebFields{ErrorCode: o.ErrorCode}}}
		return b
	}
	b.Content = make(Content, 0, len(o.Results))
	for _, h := range o.Results {
		b.Content = append(b.Content, Block{Type: BlockWebSearchResult, WebFields: &WebFields{
			URL: h.URL, Title: h.Title, EncryptedContent: h.EncryptedContent, PageAge: h.PageAge,
		}})
	}
	return b
}

// cite adds a citation to the text block at stream index i.
func (c *Collector) cite(i int, ct Citation) {
	pos, ok := c.pos[i]
	if !ok {
		return
	}
	b := &c.resp.Content[pos]
	if b.WebFields == nil {
		b.WebFields = &WebFields{}
	}
	b.Citations = append(b.Citations, ct)
}

// searchContentPrefix marks encrypted_content and encrypted_index values
// kirobar wrote. They are not encrypted: they carry the result's text back
// to kirobar in later turns, and the client's own search results are no
// secret to it.
const searchContentPrefix = "kb1."

// EncodeSearchContent is the encrypted_content of a result whose snippet
// is s.
func EncodeSearchContent(s string) string {
	return searchContentPrefix + base64.RawURLEncoding.EncodeToString([]byte(s))
}

// DecodeSearchContent returns the snippet EncodeSearchContent put into v;
// ok is false for content kirobar did not write (Anthropic's own, say).
func DecodeSearchContent(v string) (string, bool) {
	rest, found := strings.CutPrefix(v, searchContentPrefix)
	if !found {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || !utf8.Valid(b) {
		return "", false
	}
	return string(b), true
}
