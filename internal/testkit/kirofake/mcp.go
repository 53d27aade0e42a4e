package kirofake

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// TargetInvokeMCP is the X-Amz-Target of Kiro's MCP operation, whose
// tools/call of "web_search" is Kiro's server-side web search (the
// official client: crates/amzn-codewhisperer-streaming-client/src/
// operation/invoke_mcp.rs; kiro-protocol.md §11.14).
const TargetInvokeMCP = "AmazonCodeWhispererStreamingService.InvokeMCP"

// MaxSearchQuery is the longest query the web search accepts, in
// characters (Kiro CLI's web_search schema, maxLength 200).
const MaxSearchQuery = 200

// Bodies of refused InvokeMCP calls. The operation's modelled errors are
// AccessDeniedError, InternalServerError, ThrottlingError and
// ValidationError (invoke_mcp.rs InvokeMCPError).
const (
	BodySearchDenied    = `{"__type":"com.amazon.aws.codewhisperer#AccessDeniedError","message":"User is not authorized to make this call."}`
	BodySearchThrottled = `{"__type":"com.amazon.aws.codewhisperer#ThrottlingError","message":"Rate exceeded."}`
	bodySerialization   = `{"__type":"com.amazon.coral.service#SerializationException","message":"Could not parse the request body."}`
	bodyMediaType       = `{"__type":"com.amazon.coral.service#UnsupportedMediaTypeException","message":"Content-Type must be application/x-amz-json-1.0."}`
)

// JSON-RPC 2.0 error codes the MCP endpoint answers with HTTP 200.
const (
	rpcInvalidRequest = -32600
	rpcMethodNotFound = -32601
	rpcInvalidParams  = -32602
)

// SearchResult is one hit of the fake web search, in the shape of Kiro's
// answer (R1ddle1337/kiro.rs:src/anthropic/websearch.rs WebSearchResult).
type SearchResult struct {
	Title   string
	URL     string
	Snippet string
	// Published is sent as epoch milliseconds; zero is sent as null.
	Published time.Time
}

// SearchCall is one web search the fake answered or refused.
type SearchCall struct {
	Account    string // "" when the token was not accepted
	ProfileARN string // the body's profileArn
	Header     http.Header
	Body       []byte
	Method     string // the JSON-RPC method
	Query      string
	Results    int // hits answered
	Status     int // HTTP status
	RPCError   int // JSON-RPC error code, 0 if none
}

// mcpState is the web search's part of the fake.
type mcpState struct {
	mu        sync.Mutex
	responder func(query string) []SearchResult
	throttle  map[string]int // account -> searches still to refuse with 429
	denied    map[string]bool
	calls     []SearchCall
}

// SetSearchResponder sets the function answering web searches; nil
// restores the default, which honours site: operators in the query.
func (s *Server) SetSearchResponder(fn func(query string) []SearchResult) {
	s.mcp.mu.Lock()
	defer s.mcp.mu.Unlock()
	s.mcp.responder = fn
}

// ThrottleSearches makes the account's next n web searches fail with 429
// ThrottlingError.
func (s *Server) ThrottleSearches(id string, n int) {
	s.mcp.mu.Lock()
	defer s.mcp.mu.Unlock()
	if s.mcp.throttle == nil {
		s.mcp.throttle = map[string]int{}
	}
	s.mcp.throttle[id] = n
}

// DenySearches makes the account's web searches fail with 403
// AccessDeniedError, as for a plan without web search (or lifts it).
func (s *Server) DenySearches(id string, denied bool) {
	s.mcp.mu.Lock()
	defer s.mcp.mu.Unlock()
	if s.mcp.denied == nil {
		s.mcp.denied = map[string]bool{}
	}
	s.mcp.denied[id] = denied
}

// SearchCalls returns the InvokeMCP calls so far, oldest first.
func (s *Server) SearchCalls() []SearchCall {
	s.mcp.mu.Lock()
	defer s.mcp.mu.Unlock()
	return slices.Clone(s.mcp.calls)
}

type rpcRequest struct {
	ProfileARN *string         `json:"profileArn"`
	JSONRPC    string          `json:"jsonrpc"`
	ID         json.RawMessage `json:"id"`
	Method     string          `json:"method"`
	Params     json.RawMessage `json:"params"`
}

// handleMCP serves POST / with X-Amz-Target InvokeMCP: awsJson1.0 errors
// for the envelope (media type, token, profile), JSON-RPC errors (HTTP
// 200) for the call itself.
func (s *Server) handleMCP(w http.ResponseWriter, r *http.Request) {
	call := SearchCall{Header: r.Header.Clone()}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return // the client went away while sending
	}
	call.Body = body
	answer := func(status int, text string) {
		call.Status = status
		s.recordSearch(call)
		writeJSON(w, status, text)
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-amz-json-1.0" {
		answer(http.StatusBadRequest, bodyMediaType)
		return
	}
	acct := s.authenticate(r)
	if acct == nil {
		answer(http.StatusForbidden, BodyBearerInvalid)
		return
	}
	call.Account = acct.ID
	var req rpcRequest
	if err := json.Unmarshal(body, &req); err != nil {
		answer(http.StatusBadRequest, bodySerialization)
		return
	}
	if req.ProfileARN == nil || *req.ProfileARN == "" {
		answer(http.StatusBadRequest, BodyProfileRequired)
		return
	}
	call.ProfileARN = *req.ProfileARN
	s.mu.Lock()
	own := acct.ProfileARN
	s.mu.Unlock()
	if *req.ProfileARN != own {
		answer(http.StatusForbidden, BodySearchDenied)
		return
	}
	s.mcp.mu.Lock()
	denied := s.mcp.denied[acct.ID]
	throttled := s.mcp.throttle[acct.ID] > 0
	if throttled {
		s.mcp.throttle[acct.ID]--
	}
	responder := s.mcp.responder
	s.mcp.mu.Unlock()
	if denied {
		answer(http.StatusForbidden, BodySearchDenied)
		return
	}
	if throttled {
		answer(http.StatusTooManyRequests, BodySearchThrottled)
		return
	}
	call.Method = req.Method
	rpcErr := func(code int, msg string) {
		call.RPCError = code
		answer(http.StatusOK, mustJSON(map[string]any{
			"jsonrpc": "2.0", "id": rawOrNull(req.ID), "error": map[string]any{"code": code, "message": msg},
		}))
	}
	result := func(v any) {
		answer(http.StatusOK, mustJSON(map[string]any{"jsonrpc": "2.0", "id": rawOrNull(req.ID), "result": v}))
	}
	if req.JSONRPC != "2.0" || len(req.ID) == 0 {
		rpcErr(rpcInvalidRequest, "Invalid Request: jsonrpc must be \"2.0\" and id is required")
		return
	}
	switch req.Method {
	case "initialize":
		result(map[string]any{
			"protocolVersion": "2025-06-18",
			"capabilities":    map[string]any{"tools": map[string]any{}},
			"serverInfo":      map[string]any{"name": "kiro-builtin-tools", "version": "1.0.0"},
		})
		return
	case "notifications/initialized":
		result(map[string]any{})
		return
	case "tools/list":
		result(map[string]any{"tools": []any{webSearchToolSpec}})
		return
	case "tools/call":
	default:
		rpcErr(rpcMethodNotFound, "Method not found: "+req.Method)
		return
	}
	var p struct {
		Name      string `json:"name"`
		Arguments struct {
			Query *string `json:"query"`
		} `json:"arguments"`
	}
	if err := json.Unmarshal(req.Params, &p); err != nil {
		rpcErr(rpcInvalidParams, "Invalid params")
		return
	}
	if p.Name != "web_search" {
		rpcErr(rpcInvalidParams, "Unknown tool: "+p.Name)
		return
	}
	if p.Arguments.Query == nil || strings.TrimSpace(*p.Arguments.Query) == "" {
		rpcErr(rpcInvalidParams, "Invalid params: query is required")
		return
	}
	q := *p.Arguments.Query
	call.Query = q
	if utf8.RuneCountInString(q) > MaxSearchQuery {
		rpcErr(rpcInvalidParams, fmt.Sprintf("Invalid params: query must be at most %d characters", MaxSearchQuery))
		return
	}
	if responder == nil {
		responder = DefaultSearch
	}
	hits := responder(q)
	call.Results = len(hits)
	result(map[string]any{
		"content": []any{map[string]any{"type": "text", "text": searchText(q, hits)}},
		"isError": false,
	})
}

func (s *Server) recordSearch(c SearchCall) {
	s.mcp.mu.Lock()
	s.mcp.calls = append(s.mcp.calls, c)
	s.mcp.mu.Unlock()
	s.update(func(st *Stats) { st.Searches++ })
}

func rawOrNull(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("null")
	}
	return raw
}

// searchText is the result's text: the search results as JSON, in the
// field order of Kiro's answer.
func searchText(query string, hits []SearchResult) string {
	type hit struct {
		Title                string `json:"title"`
		URL                  string `json:"url"`
		Snippet              string `json:"snippet"`
		PublishedDate        *int64 `json:"publishedDate"`
		ID                   string `json:"id"`
		Domain               string `json:"domain"`
		MaxVerbatimWordLimit int    `json:"maxVerbatimWordLimit"`
		PublicDomain         bool   `json:"publicDomain"`
	}
	out := struct {
		Results      []hit   `json:"results"`
		TotalResults int     `json:"totalResults"`
		Query        string  `json:"query"`
		Error        *string `json:"error"`
	}{Results: []hit{}, TotalResults: len(hits), Query: query}
	for i, h := range hits {
		var ms *int64
		if !h.Published.IsZero() {
			v := h.Published.UnixMilli()
			ms = &v
		}
		host := ""
		if u, err := url.Parse(h.URL); err == nil {
			host = strings.TrimPrefix(u.Hostname(), "www.")
		}
		out.Results = append(out.Results, hit{
			Title: h.Title, URL: h.URL, Snippet: h.Snippet, PublishedDate: ms,
			ID: fmt.Sprint(i + 1), Domain: host, MaxVerbatimWordLimit: 30, PublicDomain: false,
		})
	}
	return mustJSON(out)
}

// DefaultSearch is the default web search: three hits about the query on
// example domains, published on fixed dates. A site:domain operator in the
// query keeps only that domain, as a search engine does, and -site:domain
// drops one.
func DefaultSearch(query string) []SearchResult {
	var terms, only, drop []string
	for _, f := range strings.Fields(query) {
		switch {
		case strings.HasPrefix(f, "site:"):
			only = append(only, strings.TrimPrefix(f, "site:"))
		case strings.HasPrefix(f, "-site:"):
			drop = append(drop, strings.TrimPrefix(f, "-site:"))
		case f == "OR":
		default:
			terms = append(terms, f)
		}
	}
	topic := strings.Join(terms, " ")
	slug := url.PathEscape(strings.ToLower(strings.Join(terms, "-")))
	domains := []string{"docs.example.com", "blog.example.org", "news.example.net"}
	if len(only) > 0 {
		domains = only
	}
	var out []SearchResult
	for i, d := range domains {
		if slices.Contains(drop, d) {
			continue
		}
		out = append(out, SearchResult{
			Title:     fmt.Sprintf("%s - %s", topic, d),
			URL:       fmt.Sprintf("https://%s/%s", d, slug),
			Snippet:   fmt.Sprintf("What %s says about %s, result %d.", d, topic, i+1),
			Published: time.Date(2026, time.Month(1+i), 15, 0, 0, 0, 0, time.UTC),
		})
	}
	return out
}

// webSearchToolSpec is what tools/list reports, Kiro CLI's web_search
// schema.
var webSearchToolSpec = map[string]any{
	"name":        "web_search",
	"description": "WebSearch looks up information that is outside the model's training data or cannot be reliably inferred from the current codebase/context.",
	"inputSchema": map[string]any{
		"type": "object",
		"properties": map[string]any{
			"query": map[string]any{"type": "string", "maxLength": MaxSearchQuery, "description": "Search query (max 200 chars) - use concise keywords, not full sentences"},
		},
		"required": []string{"query"},
	},
}

// urlPattern finds URLs in tool results, as a model reading them would.
var urlPattern = regexp.MustCompile(`https?://[^\s)\]"']+`)

// WebSearchRoundTrip is a responder for a model that searches once: a call
// without tool results asks for the web_search tool with query (when the
// request declares it); a call carrying the search's result answers final
// and a markdown link to the first URL of the result, the way a model
// cites a source. Other calls get final alone.
func WebSearchRoundTrip(query, final string) func(*Request) Reply {
	return func(r *Request) Reply {
		if len(r.ToolResults) == 0 {
			if slices.Contains(r.Tools, "web_search") {
				in, _ := json.Marshal(map[string]string{"query": query}) // a map of strings always marshals
				return ToolReply("tooluse_search_1", "web_search", string(in))
			}
			return TextReply(final)
		}
		text := r.ToolResults[0].Text()
		if u := urlPattern.FindString(text); u != "" {
			return TextReply(final + " See [the source](" + u + ").")
		}
		return TextReply(final + " " + text)
	}
}
