package server_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kirobar/kirobar/internal/testkit/kirofake"
)

// TestCodexWebSearch runs the real Codex CLI with its web search on (its
// default "cached" mode and web_search = "live" both declare the Responses
// web_search tool): the model searches, kirobar runs the search with
// Kiro's web search, and Codex shows the search and the cited answer.
func TestCodexWebSearch(t *testing.T) {
	codex := clientBin(t, "codex")
	for _, mode := range []string{"cached", "live"} {
		t.Run(mode, func(t *testing.T) {
			h := newHarness(t, harnessOptions{})
			const query = "kiro web search"
			var declared atomic.Bool
			h.fake.SetResponder(func(r *kirofake.Request) kirofake.Reply {
				if slices.Contains(r.Tools, "web_search") {
					declared.Store(true)
				}
				return kirofake.WebSearchRoundTrip(query, "Kiro has its own web search.")(r)
			})
			home := t.TempDir()
			if err := os.MkdirAll(filepath.Join(home, ".codex"), 0o700); err != nil {
				t.Fatal(err)
			}
			cfg := `model = "gpt-5"
model_provider = "kirobar"
web_search = "` + mode + `"
[model_providers.kirobar]
name = "kirobar"
base_url = "` + h.url + `/v1"
env_key = "KIROBAR_KEY"
wire_api = "responses"
`
			if err := os.WriteFile(filepath.Join(home, ".codex", "config.toml"), []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			work := t.TempDir()
			out, err := runClient(t, work, clientEnv(home, "KIROBAR_KEY="+testKey), codex,
				"exec", "--skip-git-repo-check", "--json", "Search the web: what is kiro web search?")
			if err != nil {
				t.Fatalf("codex failed: %v\n%s", err, out)
			}
			if !declared.Load() {
				t.Fatalf("the model was not offered web_search:\n%s", out)
			}
			var searched, answered bool
			for _, line := range strings.Split(string(out), "\n") {
				var ev struct {
					Type string `json:"type"`
					Item struct {
						Type  string `json:"type"`
						Query string `json:"query"`
						Text  string `json:"text"`
					} `json:"item"`
				}
				if json.Unmarshal([]byte(line), &ev) != nil || ev.Type != "item.completed" {
					continue
				}
				switch ev.Item.Type {
				case "web_search":
					searched = searched || ev.Item.Query == query
				case "agent_message":
					answered = answered || strings.Contains(ev.Item.Text, "[the source](https://docs.example.com/kiro-web-search)")
				}
			}
			if !searched || !answered {
				t.Fatalf("codex showed search %v, cited answer %v:\n%s", searched, answered, out)
			}
			if calls := h.fake.SearchCalls(); len(calls) != 1 || calls[0].Query != query {
				t.Fatalf("Kiro's web search saw %+v", calls)
			}

			// The next turn sends the web_search_call item back; the model
			// reads it as the search it made.
			h.fake.SetResponder(func(r *kirofake.Request) kirofake.Reply { return kirofake.TextReply("Summary.") })
			out, err = runClient(t, work, clientEnv(home, "KIROBAR_KEY="+testKey), codex,
				"exec", "--skip-git-repo-check", "resume", "--last", "Now summarise it.")
			if err != nil || !strings.Contains(string(out), "Summary.") {
				t.Fatalf("codex resume: %v\n%s", err, out)
			}
			reqs := h.fake.Requests()
			history, _ := json.Marshal(reqs[len(reqs)-1].Payload.ConversationState.History)
			if !strings.Contains(string(history), `[searched the web for \"kiro web search\"]`) {
				t.Fatalf("the earlier search is not in the history: %s", history)
			}
		})
	}
}
