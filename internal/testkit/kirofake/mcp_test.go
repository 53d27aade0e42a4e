package kirofake

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

const mcpToken = "aoaAAAAA-mcp-token-0123456789"

// mcpCall posts an InvokeMCP body and returns the status and body.
func mcpCall(t *testing.T, s *Server, contentType, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+"/", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", TargetInvokeMCP)
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func rpcBody(profile, method, params string) string {
	p := ""
	if profile != "" {
		p = `"profileArn":"` + profile + `",`
	}
	return `{` + p + `"jsonrpc":"2.0","id":"web_search_tooluse_1","method":"` + method + `","params":` + params + `}`
}

// TestInvokeMCPRules: the envelope errors the service answers with HTTP
// status codes, and the call errors it answers as JSON-RPC errors.
func TestInvokeMCPRules(t *testing.T) {
	const awsJSON = "application/x-amz-json-1.0"
	search := func(q string) string { return `{"name":"web_search","arguments":{"query":` + q + `}}` }
	for _, tc := range []struct {
		name, contentType, token, body string
		status                         int
		want                           string // a substring of the answer
		rpcCode                        int
	}{
		{"a search", awsJSON, mcpToken, rpcBody(DefaultProfileARN, "tools/call", search(`"kiro"`)), 200, `\"totalResults\":3`, 0},
		{"wrong media type", "application/json", mcpToken, rpcBody(DefaultProfileARN, "tools/call", search(`"kiro"`)), 400, "UnsupportedMediaTypeException", 0},
		{"no token", awsJSON, "", rpcBody(DefaultProfileARN, "tools/call", search(`"kiro"`)), 403, "bearer token", 0},
		{"not JSON", awsJSON, mcpToken, `{"jsonrpc":`, 400, "SerializationException", 0},
		{"no profile", awsJSON, mcpToken, rpcBody("", "tools/call", search(`"kiro"`)), 400, "profileArn is required", 0},
		{"another profile", awsJSON, mcpToken, rpcBody("arn:aws:codewhisperer:us-east-1:1:profile/X", "tools/call", search(`"kiro"`)), 403, "AccessDeniedError", 0},
		{"no id", awsJSON, mcpToken, `{"profileArn":"` + DefaultProfileARN + `","jsonrpc":"2.0","method":"tools/list"}`, 200, "Invalid Request", rpcInvalidRequest},
		{"unknown method", awsJSON, mcpToken, rpcBody(DefaultProfileARN, "resources/list", `{}`), 200, "Method not found", rpcMethodNotFound},
		{"unknown tool", awsJSON, mcpToken, rpcBody(DefaultProfileARN, "tools/call", `{"name":"web_fetch","arguments":{}}`), 200, "Unknown tool", rpcInvalidParams},
		{"no query", awsJSON, mcpToken, rpcBody(DefaultProfileARN, "tools/call", `{"name":"web_search","arguments":{}}`), 200, "query is required", rpcInvalidParams},
		{"query too long", awsJSON, mcpToken, rpcBody(DefaultProfileARN, "tools/call", search(`"`+strings.Repeat("q", MaxSearchQuery+1)+`"`)), 200, "at most 200", rpcInvalidParams},
		{"query at the limit", awsJSON, mcpToken, rpcBody(DefaultProfileARN, "tools/call", search(`"`+strings.Repeat("ü", MaxSearchQuery)+`"`)), 200, "totalResults", 0},
		{"tools/list", awsJSON, mcpToken, rpcBody(DefaultProfileARN, "tools/list", `{}`), 200, `"maxLength":200`, 0},
		{"initialize", awsJSON, mcpToken, rpcBody(DefaultProfileARN, "initialize", `{}`), 200, "protocolVersion", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, Options{})
			s.AddAccount(Account{ID: "a1", AccessToken: mcpToken})
			status, body := mcpCall(t, s, tc.contentType, tc.token, tc.body)
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("HTTP %d %s, want %d with %q", status, body, tc.status, tc.want)
			}
			calls := s.SearchCalls()
			if len(calls) != 1 || calls[0].Status != status || calls[0].RPCError != tc.rpcCode {
				t.Fatalf("calls = %+v", calls)
			}
			if st := s.Stats(); st.Searches != 1 || st.Generations != 0 {
				t.Fatalf("stats = %+v", st)
			}
			if status == 200 {
				var a struct {
					JSONRPC string          `json:"jsonrpc"`
					ID      json.RawMessage `json:"id"`
				}
				if err := json.Unmarshal([]byte(body), &a); err != nil || a.JSONRPC != "2.0" {
					t.Fatalf("not a JSON-RPC answer: %s", body)
				}
			}
		})
	}
}

// TestInvokeMCPAnswerShape: the result's text is the JSON Kiro sends, in
// the field names the real answer has.
func TestInvokeMCPAnswerShape(t *testing.T) {
	s := start(t, Options{})
	s.AddAccount(Account{ID: "a1", AccessToken: mcpToken})
	_, body := mcpCall(t, s, "application/x-amz-json-1.0", mcpToken, rpcBody(DefaultProfileARN, "tools/call", `{"name":"web_search","arguments":{"query":"go release site:go.dev"}}`))
	var a struct {
		ID     string `json:"id"`
		Result struct {
			Content []struct{ Type, Text string } `json:"content"`
			IsError *bool                         `json:"isError"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatal(err)
	}
	if a.ID != "web_search_tooluse_1" || len(a.Result.Content) != 1 || a.Result.Content[0].Type != "text" || a.Result.IsError == nil || *a.Result.IsError {
		t.Fatalf("answer = %s", body)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(a.Result.Content[0].Text), &res); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"results", "totalResults", "query", "error"} {
		if _, ok := res[k]; !ok {
			t.Errorf("results JSON lacks %q: %s", k, a.Result.Content[0].Text)
		}
	}
	hits := res["results"].([]any)
	if len(hits) != 1 {
		t.Fatalf("site:go.dev kept %d hits: %v", len(hits), hits)
	}
	hit := hits[0].(map[string]any)
	for _, k := range []string{"title", "url", "snippet", "publishedDate", "id", "domain", "maxVerbatimWordLimit", "publicDomain"} {
		if _, ok := hit[k]; !ok {
			t.Errorf("hit lacks %q: %v", k, hit)
		}
	}
	if hit["domain"] != "go.dev" || !strings.HasPrefix(hit["url"].(string), "https://go.dev/") {
		t.Fatalf("hit = %v", hit)
	}
}

func TestDefaultSearchOperators(t *testing.T) {
	for _, tc := range []struct {
		query string
		hosts []string
	}{
		{"kiro", []string{"docs.example.com", "blog.example.org", "news.example.net"}},
		{"kiro site:a.com OR site:b.org", []string{"a.com", "b.org"}},
		{"kiro -site:blog.example.org", []string{"docs.example.com", "news.example.net"}},
	} {
		var hosts []string
		for _, r := range DefaultSearch(tc.query) {
			hosts = append(hosts, strings.Split(strings.TrimPrefix(r.URL, "https://"), "/")[0])
			if !strings.HasPrefix(r.Title, "kiro") {
				t.Errorf("%q: title %q lost the topic", tc.query, r.Title)
			}
		}
		if strings.Join(hosts, " ") != strings.Join(tc.hosts, " ") {
			t.Errorf("%q: hosts %v, want %v", tc.query, hosts, tc.hosts)
		}
	}
}
