package kiro

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Kiro's web search is the server-side tool Kiro CLI offers its model: the
// InvokeMCP operation, a JSON-RPC 2.0 tools/call of "web_search" posted to
// the root of the awsJson host (crates/amzn-codewhisperer-streaming-client/
// src/operation/invoke_mcp.rs: POST /, x-amz-target
// AmazonCodeWhispererStreamingService.InvokeMCP; body fields profileArn,
// jsonrpc, id, method, params in protocol_serde/shape_invoke_mcp_input.rs).
// kiro-protocol.md §11.14 has the answer's shape and the account rules.

// OpWebSearch names web search calls in Error.Op.
const OpWebSearch = "web_search"

// MaxSearchQuery is the longest query Kiro's web search accepts, in
// characters (Kiro CLI's web_search schema: "maxLength": 200).
const MaxSearchQuery = 200

// targetInvokeMCP is the awsJson1.0 operation of Kiro's MCP tools.
const targetInvokeMCP = "AmazonCodeWhispererStreamingService.InvokeMCP"

// ErrNoProfile is the cause of a web search refused before any call: the
// account has no Kiro profile, and InvokeMCP requires one (Builder ID
// accounts have none; crates/chat-cli/src/cli/user.rs: "only available for
// Pro users").
var ErrNoProfile = errors.New("the account has no Kiro profile (profile ARN), which Kiro's web search requires; Builder ID accounts have none")

// ErrQueryTooLong is the cause of a web search refused because its query
// exceeds MaxSearchQuery characters.
var ErrQueryTooLong = errors.New("the search query is longer than Kiro's web search accepts (200 characters)")

// SearchResults is one web search's answer.
type SearchResults struct {
	Query   string
	Total   int
	Results []SearchResult
}

// SearchResult is one hit.
type SearchResult struct {
	Title   string
	URL     string
	Snippet string
	Domain  string
	ID      string
	// Published is the page's publication time; zero when unknown.
	Published time.Time
	// MaxVerbatimWords is how many consecutive words of the snippet may be
	// quoted (0: no limit given).
	MaxVerbatimWords int
	PublicDomain     bool
}

// WebSearch runs one query through Kiro's web search on the account. Every
// failure is a *Error with Op OpWebSearch: ErrNoProfile or ErrQueryTooLong
// as its cause when refused before the call, a JSON-RPC error as Reason
// "jsonrpc <code>", otherwise classified like any upstream answer.
func (c *Client) WebSearch(ctx context.Context, cr Credentials, query string) (*SearchResults, error) {
	query = strings.TrimSpace(query)
	switch {
	case query == "":
		return nil, &Error{Class: ClassBadRequest, Op: OpWebSearch, Message: "the search query is empty"}
	case utf8.RuneCountInString(query) > MaxSearchQuery:
		return nil, &Error{Class: ClassBadRequest, Op: OpWebSearch, Message: ErrQueryTooLong.Error(), Err: ErrQueryTooLong}
	case cr.ProfileARN == "",
		// A Builder ID served on the q host is there because the runtime
		// refused its placeholder profile; a search with it would be
		// refused too (kiro-protocol.md §11.1, §11.14).
		IsPlaceholderProfile(cr.ProfileARN) && cr.APIStyle == StyleIDE:
		return nil, &Error{Class: ClassForbidden, Op: OpWebSearch, Message: ErrNoProfile.Error(), Err: ErrNoProfile}
	}
	if err := checkCredentials(cr); err != nil {
		return nil, &Error{Class: ClassAuth, Op: OpWebSearch, Message: err.Error()}
	}
	if err := checkHeaderValue("profile ARN", cr.ProfileARN); err != nil {
		return nil, &Error{Class: ClassBadRequest, Op: OpWebSearch, Message: err.Error()}
	}
	region, err := c.region(cr.Region)
	if err != nil {
		return nil, &Error{Class: ClassBadRequest, Op: OpWebSearch, Message: err.Error()}
	}
	id := rpcID()
	body := mcpRequest(cr.ProfileARN, id, query)
	// Kiro CLI posts InvokeMCP to q.{region}.amazonaws.com (the ide host);
	// a deployment without it answers 404 or does not resolve, and then the
	// runtime host is tried, as Send does for generations.
	var answer []byte
	for i, tmpl := range []string{c.cfg.IDEURL, c.cfg.APIURL} {
		base, err := baseURL(tmpl, region)
		if err != nil {
			return nil, &Error{Class: ClassBadRequest, Op: OpWebSearch, Message: "api url: " + err.Error()}
		}
		answer, err = c.do(ctx, exchange{
			op: OpWebSearch, method: http.MethodPost, url: base + "/", proxy: cr.Proxy,
			header: c.mcpHeaders(cr), body: body, secrets: []string{cr.AccessToken},
		})
		if err == nil {
			break
		}
		if i > 0 || !styleMissing(err) {
			return nil, err
		}
	}
	res, e := parseSearchAnswer(answer, id)
	if e != nil {
		return nil, e
	}
	return res, nil
}

// mcpHeaders are the headers of an InvokeMCP call: the awsJson1.0 target,
// and the profile ARN as a header as well as in the body, as Kiro CLI sends
// it (Servoy/opencode-kiro-auth:src/plugin/http-headers.ts).
func (c *Client) mcpHeaders(cr Credentials) http.Header {
	agent := c.kiroAgent(cr.MachineID)
	h := http.Header{}
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("X-Amz-Target", targetInvokeMCP)
	h.Set("Authorization", "Bearer "+cr.AccessToken)
	h.Set("Accept", "application/json")
	h.Set("x-amzn-codewhisperer-optout", "true")
	h.Set("x-amzn-kiro-agent-mode", "vibe")
	h.Set("x-amzn-kiro-profile-arn", cr.ProfileARN)
	h.Set("amz-sdk-invocation-id", uuid.NewString())
	h.Set("amz-sdk-request", "attempt=1; max=1")
	h.Set("x-amz-user-agent", "aws-sdk-js/1.0.34 "+agent)
	h.Set("User-Agent", "aws-sdk-js/1.0.34 ua/2.1 os/"+osToken(cr.MachineID)+
		" lang/js md/nodejs#22.22.0 api/codewhispererstreaming#1.0.34 m/E "+agent)
	return h
}

// rpcID is a JSON-RPC request id in Kiro CLI's form for web search calls,
// web_search_tooluse_<22 alphanumerics>_<unix ms>_<8 alphanumerics>
// (hank9999/kiro.rs:src/anthropic/websearch.rs create_mcp_request).
func rpcID() string {
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var b [30]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	pick := func(n int, from []byte, set string) string {
		out := make([]byte, n)
		for i := range out {
			out[i] = set[int(from[i])%len(set)]
		}
		return string(out)
	}
	return "web_search_tooluse_" + pick(22, b[:22], alnum) + "_" +
		strconv.FormatInt(time.Now().UnixMilli(), 10) + "_" + pick(8, b[22:], alnum[26:])
}

// mcpRequest is the InvokeMCP body of one web search.
func mcpRequest(profileARN, id, query string) []byte {
	type args struct {
		Query string `json:"query"`
	}
	type params struct {
		Name      string `json:"name"`
		Arguments args   `json:"arguments"`
	}
	b, _ := json.Marshal(struct { // strings and structs of strings always marshal
		ProfileARN string `json:"profileArn"`
		JSONRPC    string `json:"jsonrpc"`
		ID         string `json:"id"`
		Method     string `json:"method"`
		Params     params `json:"params"`
	}{profileARN, "2.0", id, "tools/call", params{"web_search", args{query}}})
	return b
}

// mcpAnswer is an InvokeMCP answer: a JSON-RPC response, or (Coral RPC
// services may answer errors with HTTP 200) an AWS error body with __type
// (invoke_mcp.rs InvokeMCPResponseDeserializer).
type mcpAnswer struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  *struct {
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		IsError bool `json:"isError"`
	} `json:"result"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Type string `json:"__type"`
}

// searchPayload is the JSON text of a web_search result
// (R1ddle1337/kiro.rs:src/anthropic/websearch.rs WebSearchResults).
type searchPayload struct {
	Results []struct {
		Title                string          `json:"title"`
		URL                  string          `json:"url"`
		Snippet              string          `json:"snippet"`
		PublishedDate        json.RawMessage `json:"publishedDate"`
		ID                   json.RawMessage `json:"id"`
		Domain               string          `json:"domain"`
		MaxVerbatimWordLimit int             `json:"maxVerbatimWordLimit"`
		PublicDomain         bool            `json:"publicDomain"`
	} `json:"results"`
	TotalResults int     `json:"totalResults"`
	Query        string  `json:"query"`
	Error        *string `json:"error"`
}

// parseSearchAnswer reads an InvokeMCP answer to the call with JSON-RPC id.
func parseSearchAnswer(body []byte, id string) (*SearchResults, *Error) {
	protocol := func(msg string) *Error {
		return &Error{Class: ClassServer, Op: OpWebSearch, Message: "web search answer: " + msg}
	}
	var a mcpAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, protocol("not a JSON object")
	}
	if a.Type != "" {
		return nil, Classify(coralStatus(a.Type), http.Header{}, body, OpWebSearch)
	}
	if len(a.ID) > 0 && !bytes.Equal(a.ID, []byte("null")) {
		var got string
		if json.Unmarshal(a.ID, &got) != nil || got != id {
			return nil, protocol("it answers another request (JSON-RPC id mismatch)")
		}
	}
	if a.Error != nil {
		class := ClassServer
		switch a.Error.Code {
		case -32600, -32602: // invalid request, invalid params
			class = ClassBadRequest
		}
		return nil, &Error{Class: class, Op: OpWebSearch, Reason: "jsonrpc " + strconv.Itoa(a.Error.Code), Message: bound(a.Error.Message)}
	}
	if a.Result == nil {
		return nil, protocol("it has neither a result nor an error")
	}
	text, found := "", false
	for _, c := range a.Result.Content {
		if c.Type == "text" {
			text, found = c.Text, true
			break
		}
	}
	if a.Result.IsError {
		return nil, &Error{Class: ClassServer, Op: OpWebSearch, Message: bound("the search tool failed: " + text)}
	}
	if !found {
		return nil, protocol("its result has no text content")
	}
	var p searchPayload
	if err := json.Unmarshal([]byte(text), &p); err != nil {
		return nil, protocol("its result text is not the search results JSON")
	}
	if p.Error != nil && strings.TrimSpace(*p.Error) != "" {
		return nil, &Error{Class: ClassServer, Op: OpWebSearch, Message: bound("the search failed: " + *p.Error)}
	}
	out := &SearchResults{Query: p.Query, Total: p.TotalResults, Results: make([]SearchResult, 0, len(p.Results))}
	for _, r := range p.Results {
		if strings.TrimSpace(r.URL) == "" {
			continue // nothing to show or cite
		}
		out.Results = append(out.Results, SearchResult{
			Title: r.Title, URL: r.URL, Snippet: r.Snippet, Domain: r.Domain, ID: idText(r.ID),
			Published: published(r.PublishedDate), MaxVerbatimWords: max(r.MaxVerbatimWordLimit, 0), PublicDomain: r.PublicDomain,
		})
	}
	return out, nil
}

// coralStatus is the HTTP status an error __type stands for when the
// service answered it with 200.
func coralStatus(awsType string) int {
	t := strings.ToLower(awsType)
	switch {
	case strings.Contains(t, "throttling"):
		return http.StatusTooManyRequests
	case strings.Contains(t, "accessdenied"), strings.Contains(t, "notauthorized"):
		return http.StatusForbidden
	case strings.Contains(t, "validation"), strings.Contains(t, "serialization"):
		return http.StatusBadRequest
	case strings.Contains(t, "notfound"):
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

// published reads publishedDate: epoch milliseconds (what Kiro sends), an
// RFC 3339 string (what its tool description shows), or null.
func published(raw json.RawMessage) time.Time {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return time.Time{}
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return time.Time{}
		}
		return t.UTC()
	}
	ms, err := strconv.ParseFloat(string(raw), 64)
	// Years 1970 to 9999: anything else is not a publication date.
	if err != nil || ms <= 0 || ms > 253402300799999 || math.IsNaN(ms) {
		return time.Time{}
	}
	return time.UnixMilli(int64(ms)).UTC()
}

// idText is a result id, which Kiro sends as a string (and might send as a
// number).
func idText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if n, err := strconv.ParseFloat(string(bytes.TrimSpace(raw)), 64); err == nil {
		return strconv.FormatFloat(n, 'f', -1, 64)
	}
	return ""
}
