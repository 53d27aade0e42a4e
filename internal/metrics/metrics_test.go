package metrics

import (
	"strings"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	var ctx fasthttp.RequestCtx
	m.Handler(&ctx)
	if ctx.Response.StatusCode() != 200 {
		t.Fatalf("HTTP %d", ctx.Response.StatusCode())
	}
	return string(ctx.Response.Body())
}

// TestCountsKeepEmptiedStates: a state no account is in any more reads 0
// instead of vanishing, so a dashboard's "cooling" line drops to zero.
func TestCountsKeepEmptiedStates(t *testing.T) {
	m := New(Info{Instance: "i", Version: "v"})
	var mu sync.Mutex
	states := map[string]int{"ready": 2, "cooling": 1}
	m.Counts("kirobar_accounts", "Accounts by state.", "state", func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]int{}
		for k, v := range states {
			out[k] = v
		}
		return out
	})
	out := scrape(t, m)
	for _, want := range []string{`kirobar_accounts{state="ready"} 2`, `kirobar_accounts{state="cooling"} 1`} {
		if !strings.Contains(out, want) {
			t.Fatalf("missing %s in\n%s", want, out)
		}
	}
	mu.Lock()
	states = map[string]int{"ready": 3}
	mu.Unlock()
	out = scrape(t, m)
	for _, want := range []string{`kirobar_accounts{state="ready"} 3`, `kirobar_accounts{state="cooling"} 0`} {
		if !strings.Contains(out, want) {
			t.Fatalf("missing %s in\n%s", want, out)
		}
	}
}

// TestRefreshResults counts refreshes by result.
func TestRefreshResults(t *testing.T) {
	m := New(Info{})
	m.Refreshed("ok")
	m.Refreshed("ok")
	m.Refreshed("adopted")
	out := scrape(t, m)
	for _, want := range []string{`kirobar_token_refreshes_total{result="ok"} 2`, `kirobar_token_refreshes_total{result="adopted"} 1`} {
		if !strings.Contains(out, want) {
			t.Fatalf("missing %s", want)
		}
	}
}
