package kiro

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kirobar/kirobar/internal/testkit/kirofake"
)

// searchFake is a fake upstream with one social account whose access
// token is testAccessToken.
func searchFake(t *testing.T) (*kirofake.Server, *Client) {
	t.Helper()
	fake, err := kirofake.Start(kirofake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	fake.AddAccount(kirofake.Account{ID: "acct-1", AccessToken: testAccessToken, ProfileARN: testProfileARN})
	cfg := DefaultConfig()
	cfg.APIURL, cfg.IDEURL, cfg.AuthURL, cfg.OIDCURL = fake.URL, fake.URL, fake.URL, fake.URL
	c, _ := newTestClient(t, cfg)
	return fake, c
}

// TestWebSearchWire: the call Kiro CLI makes (kiro-protocol.md §11.14), the
// answer read, and the fake's record of it.
func TestWebSearchWire(t *testing.T) {
	fake, c := searchFake(t)
	published := time.Date(2026, 2, 11, 0, 0, 0, 0, time.UTC)
	fake.SetSearchResponder(func(q string) []kirofake.SearchResult {
		return []kirofake.SearchResult{
			{Title: "Go 1.26 Release Notes", URL: "https://go.dev/doc/go1.26", Snippet: "Go 1.26 arrives six months after Go 1.25.", Published: published},
			{Title: "No date", URL: "https://example.com/x", Snippet: "s"},
		}
	})
	res, err := c.WebSearch(context.Background(), creds(), "  latest go release ")
	if err != nil {
		t.Fatal(err)
	}
	if res.Query != "latest go release" || res.Total != 2 || len(res.Results) != 2 {
		t.Fatalf("results = %+v", res)
	}
	r := res.Results[0]
	if r.Title != "Go 1.26 Release Notes" || r.URL != "https://go.dev/doc/go1.26" || r.Domain != "go.dev" || r.ID != "1" ||
		!r.Published.Equal(published) || r.MaxVerbatimWords != 30 || !strings.Contains(r.Snippet, "six months") {
		t.Fatalf("first result = %+v", r)
	}
	if !res.Results[1].Published.IsZero() {
		t.Fatalf("null publishedDate read as %v", res.Results[1].Published)
	}
	calls := fake.SearchCalls()
	if len(calls) != 1 || calls[0].Status != 200 || calls[0].Query != "latest go release" || calls[0].Method != "tools/call" {
		t.Fatalf("calls = %+v", calls)
	}
	h := calls[0].Header
	if h.Get("X-Amz-Target") != kirofake.TargetInvokeMCP || h.Get("Content-Type") != "application/x-amz-json-1.0" ||
		h.Get("x-amzn-kiro-profile-arn") != testProfileARN || h.Get("Authorization") != "Bearer "+testAccessToken {
		t.Fatalf("headers = %v", h)
	}
	var body struct {
		ProfileARN string `json:"profileArn"`
		JSONRPC    string `json:"jsonrpc"`
		ID         string `json:"id"`
		Method     string `json:"method"`
		Params     struct {
			Name      string            `json:"name"`
			Arguments map[string]string `json:"arguments"`
		} `json:"params"`
	}
	if err := json.Unmarshal(calls[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.ProfileARN != testProfileARN || body.JSONRPC != "2.0" || !strings.HasPrefix(body.ID, "web_search_tooluse_") ||
		body.Params.Name != "web_search" || body.Params.Arguments["query"] != "latest go release" {
		t.Fatalf("body = %s", calls[0].Body)
	}
}

// TestWebSearchRefusals: what is refused before any call, and how each
// refusal of the service classifies.
func TestWebSearchRefusals(t *testing.T) {
	long := strings.Repeat("é", MaxSearchQuery+1)
	for _, tc := range []struct {
		name  string
		cr    func(Credentials) Credentials
		query string
		setup func(*kirofake.Server)
		class Class
		cause error
		calls int
	}{
		{"no profile", func(c Credentials) Credentials { c.ProfileARN = ""; return c }, "q", nil, ClassForbidden, ErrNoProfile, 0},
		{"query too long", nil, long, nil, ClassBadRequest, ErrQueryTooLong, 0},
		{"empty query", nil, "  ", nil, ClassBadRequest, nil, 0},
		{"another account's profile", func(c Credentials) Credentials {
			c.ProfileARN = "arn:aws:codewhisperer:us-east-1:111111111111:profile/OTHER"
			return c
		}, "q", nil, ClassForbidden, nil, 1},
		{"plan without search", nil, "q", func(f *kirofake.Server) { f.DenySearches("acct-1", true) }, ClassForbidden, nil, 1},
		{"throttled", nil, "q", func(f *kirofake.Server) { f.ThrottleSearches("acct-1", 1) }, ClassThrottled, nil, 1},
		{"bad token", func(c Credentials) Credentials { c.AccessToken = strings.Repeat("x", 120); return c }, "q", nil, ClassAuth, nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, c := searchFake(t)
			if tc.setup != nil {
				tc.setup(fake)
			}
			cr := creds()
			if tc.cr != nil {
				cr = tc.cr(cr)
			}
			_, err := c.WebSearch(context.Background(), cr, tc.query)
			e := mustError(t, err, tc.class)
			if e.Op != OpWebSearch {
				t.Fatalf("op %q", e.Op)
			}
			if tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Fatalf("cause of %v is not %v", err, tc.cause)
			}
			if n := len(fake.SearchCalls()); n != tc.calls {
				t.Fatalf("%d calls reached the fake, want %d", n, tc.calls)
			}
		})
	}
}

// TestWebSearchAnswers: answers the fake does not give but the service
// may: an error __type with HTTP 200 (Coral RPC), JSON-RPC errors, a
// failed tool, an answer to another call, a 404 host.
func TestWebSearchAnswers(t *testing.T) {
	result := func(text string, isError bool) string {
		b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "result": map[string]any{"content": []any{map[string]string{"type": "text", "text": text}}, "isError": isError}})
		return string(b)
	}
	for _, tc := range []struct {
		name   string
		status int
		body   string
		class  Class // "" means success
		reason string
		hits   int
	}{
		{"coral error at 200", 200, `{"__type":"com.amazon.aws.codewhisperer#ThrottlingError","message":"Rate exceeded."}`, ClassThrottled, "", 0},
		{"access denied at 200", 200, `{"__type":"com.amazon.aws.codewhisperer#AccessDeniedError","message":"User is not authorized to make this call."}`, ClassForbidden, "", 0},
		{"invalid params", 200, `{"jsonrpc":"2.0","id":null,"error":{"code":-32602,"message":"query too long"}}`, ClassBadRequest, "jsonrpc -32602", 0},
		{"internal rpc error", 200, `{"jsonrpc":"2.0","error":{"code":-32603,"message":"boom"}}`, ClassServer, "jsonrpc -32603", 0},
		{"tool error", 200, result("search backend down", true), ClassServer, "", 0},
		{"error in results", 200, result(`{"results":[],"error":"quota"}`, false), ClassServer, "", 0},
		{"not the results JSON", 200, result("plain text", false), ClassServer, "", 0},
		{"another call's answer", 200, `{"jsonrpc":"2.0","id":"web_search_tooluse_other","result":{"content":[]}}`, ClassServer, "", 0},
		{"not JSON", 200, `<html>`, ClassServer, "", 0},
		{"server error", 500, `{"__type":"InternalServerError","message":"x"}`, ClassServer, "", 0},
		{"results without urls are dropped", 200, result(`{"results":[{"title":"a","url":""},{"title":"b","url":"https://b.example","publishedDate":"2026-03-01T10:00:00Z","id":7}],"totalResults":2}`, false), "", "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := newUpstream(t, status(tc.status, tc.body))
			c, _ := newTestClient(t, testConfig(srv, srv))
			res, err := c.WebSearch(context.Background(), creds(), "q")
			if tc.class == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Results) != tc.hits || res.Results[0].ID != "7" || res.Results[0].Published.Month() != time.March {
					t.Fatalf("results = %+v", res.Results)
				}
				return
			}
			e := mustError(t, err, tc.class)
			if tc.reason != "" && e.Reason != tc.reason {
				t.Fatalf("reason %q, want %q", e.Reason, tc.reason)
			}
		})
	}
}

// TestWebSearchFallsBackToRuntimeHost: a deployment whose ide host has no
// InvokeMCP (404) is asked on the runtime host.
func TestWebSearchFallsBackToRuntimeHost(t *testing.T) {
	ide, ideRec := newUpstream(t, status(http.StatusNotFound, `{"message":"Not Found"}`))
	fake, err := kirofake.Start(kirofake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	fake.AddAccount(kirofake.Account{ID: "acct-1", AccessToken: testAccessToken, ProfileARN: testProfileARN})
	cfg := DefaultConfig()
	cfg.APIURL, cfg.IDEURL = fake.URL, ide.URL
	c, _ := newTestClient(t, cfg)
	res, err := c.WebSearch(context.Background(), creds(), "kiro")
	if err != nil {
		t.Fatal(err)
	}
	if len(ideRec.requests()) != 1 || len(fake.SearchCalls()) != 1 || len(res.Results) == 0 {
		t.Fatalf("ide %d calls, runtime %d, %d results", len(ideRec.requests()), len(fake.SearchCalls()), len(res.Results))
	}
}

func FuzzParseSearchAnswer(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":"x","result":{"content":[{"type":"text","text":"{\"results\":[{\"title\":\"t\",\"url\":\"https://a\",\"publishedDate\":1775520000000}]}"}],"isError":false}}`), "x")
	f.Add([]byte(`{"jsonrpc":"2.0","id":"x","error":{"code":-32602,"message":"m"}}`), "x")
	f.Add([]byte(`{"__type":"ThrottlingError"}`), "x")
	f.Add([]byte(`{"result":{"content":[{"type":"text","text":"{\"results\":[{\"url\":\"u\",\"publishedDate\":\"2026-01-01T00:00:00Z\",\"id\":1e400}]}"}]}}`), "")
	f.Fuzz(func(t *testing.T, body []byte, id string) {
		res, e := parseSearchAnswer(body, id)
		if (res == nil) == (e == nil) {
			t.Fatalf("result %v and error %v", res, e)
		}
		if e != nil && (e.Op != OpWebSearch || e.Class == "") {
			t.Fatalf("unclassified error %+v", e)
		}
		if res != nil {
			for _, r := range res.Results {
				if strings.TrimSpace(r.URL) == "" || r.MaxVerbatimWords < 0 {
					t.Fatalf("result %+v", r)
				}
			}
		}
	})
}
