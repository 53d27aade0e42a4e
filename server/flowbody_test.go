package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kirobar/kirobar/flows"
)

// TestFlowKeepsEachRequestsOwnBody: the call takes the request body over
// from fasthttp instead of copying it, so each flow must still hold exactly
// the body its client sent, also when one keep-alive connection carries
// the next request before the last flow is written, and for bodies above
// and below fasthttp's read buffer.
func TestFlowKeepsEachRequestsOwnBody(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2, MaxConnsPerHost: 2}}
	defer hc.CloseIdleConnections()
	sizes := []int{40, 3 << 10, 17 << 10, 60 << 10, 200 << 10}
	const rounds = 4
	sent := map[string][]byte{} // message id → body
	var mu sync.Mutex
	var wg sync.WaitGroup
	for r := range rounds {
		for i, n := range sizes {
			body, err := json.Marshal(map[string]any{
				"model": "claude-sonnet-4-5", "max_tokens": 64, "stream": i%2 == 0,
				"messages": []map[string]any{{"role": "user", "content": fmt.Sprintf("request %d.%d: %s", r, i, strings.Repeat(string(rune('a'+i)), n))}},
			})
			if err != nil {
				t.Fatal(err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, err := http.NewRequest(http.MethodPost, h.url+"/v1/messages", bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("x-api-key", testKey)
				resp, err := hc.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				out := readAll(t, resp.Body)
				if resp.StatusCode != http.StatusOK {
					t.Errorf("status %d: %s", resp.StatusCode, out)
					return
				}
				mu.Lock()
				sent[fmt.Sprintf("%d.%d", r, i)] = body
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	store := flows.NewStore(h.db, h.home)
	ctx := context.Background()
	var rows []flows.Row
	for deadline := time.Now().Add(10 * time.Second); len(rows) < len(sent) && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var err error
		if rows, err = store.List(ctx, flows.Filter{Limit: -1}); err != nil {
			t.Fatal(err)
		}
	}
	if len(rows) != len(sent) {
		t.Fatalf("%d flows for %d requests", len(rows), len(sent))
	}
	for _, row := range rows {
		_, d, err := store.Get(ctx, row.ID)
		if err != nil {
			t.Fatal(err)
		}
		var req struct {
			Messages []struct {
				Content string `json:"content"`
			} `json:"messages"`
		}
		if d.ClientRequest == nil {
			t.Fatalf("flow %s has no client request", row.ID)
		}
		got := d.ClientRequest.JSON
		if err := json.Unmarshal(got, &req); err != nil || len(req.Messages) != 1 {
			t.Fatalf("flow %s: client request %.80q: %v", row.ID, got, err)
		}
		key, _, _ := strings.Cut(strings.TrimPrefix(req.Messages[0].Content, "request "), ":")
		if want := sent[key]; !bytes.Equal(got, want) || d.ClientRequest.Size != len(want) {
			t.Errorf("flow %s (request %s): client request differs from what was sent (%d bytes, sent %d)", row.ID, key, len(got), len(want))
		}
	}
}
