package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kirobar/kirobar/internal/testkit/kirofake"
)

// TestShutdownUnderLoad sends SIGTERM to a kirobar serving several open
// streams. Streams that finish within server.shutdown_grace finish
// normally; streams still open after it are cut with an error event; the
// process exits 0 and every flow is in the database.
func TestShutdownUnderLoad(t *testing.T) {
	fake, err := kirofake.Start(kirofake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	refresh := "aorAAAAA" + strings.Repeat("s", 120)
	fake.AddAccount(kirofake.Account{ID: "acct1", AuthMethod: kirofake.AuthSocial, RefreshToken: refresh})

	home := filepath.Join(t.TempDir(), "home")
	addr := freePort(t)
	key := "kb-shutdown-key-0123456789"
	writeConfig(t, home, addr, key, fake.URL) // shutdown_grace = "3s"
	if out, code := kirobar(t, home, "accounts", "add", "--refresh-token", refresh); code != 0 {
		t.Fatalf("accounts add: %d\n%s", code, out)
	}

	serve := startServe(t, home)
	url := "http://" + addr
	waitHealthy(t, url)

	// Four streams, each held open upstream by a gate: two are let finish
	// within the grace period, two never are.
	const finishing, stuck = 2, 2
	gates := make([]chan struct{}, finishing+stuck)
	for i := range gates {
		gates[i] = make(chan struct{})
		ev := kirofake.Text(" the end", 1)[0]
		ev.Gate = gates[i]
		fake.Enqueue(kirofake.Reply{Events: append(kirofake.Text("started", 1), ev, kirofake.Metering(0.1), kirofake.ContextUsage(1))})
	}
	defer func() {
		for _, g := range gates[finishing:] {
			close(g)
		}
	}()
	body := `{"model":"claude-sonnet-4-5","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hello"}]}`
	readers := make([]*bufio.Reader, len(gates))
	for i := range gates {
		req, _ := http.NewRequest(http.MethodPost, url+"/v1/messages", strings.NewReader(body))
		req.Header.Set("x-api-key", key)
		req.Header.Set("content-type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("stream %d: status %d", i, resp.StatusCode)
		}
		readers[i] = bufio.NewReader(resp.Body)
		for {
			line, err := readers[i].ReadString('\n')
			if err != nil {
				t.Fatalf("stream %d ended early: %v", i, err)
			}
			if strings.Contains(line, "started") {
				break
			}
		}
	}

	sent := time.Now()
	serve.signal(syscall.SIGTERM)
	// New connections are refused while the open streams drain.
	deadline := time.Now().Add(2 * time.Second)
	for {
		resp, err := http.Get(url + "/health")
		if err != nil {
			break
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("kirobar still accepts requests after SIGTERM")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, g := range gates[:finishing] {
		close(g)
	}
	rest := make([]string, len(readers))
	for i, r := range readers {
		var b strings.Builder
		for {
			line, err := r.ReadString('\n')
			b.WriteString(line)
			if err != nil {
				break
			}
		}
		rest[i] = b.String()
	}
	for i, got := range rest {
		if i < finishing {
			if !strings.Contains(got, "the end") || !strings.Contains(got, "message_stop") || strings.Contains(got, "event: error") {
				t.Fatalf("stream %d, released within the grace period, did not finish normally:\n%s", i, got)
			}
			continue
		}
		if !strings.Contains(got, "event: error") || !strings.Contains(got, "shutting down") || strings.Contains(got, "message_stop") {
			t.Fatalf("stream %d, open past the grace period, was not cut with an error event:\n%s", i, got)
		}
	}
	serve.wait()
	if took := time.Since(sent); took < 3*time.Second {
		t.Fatalf("kirobar cut streams after %s, before shutdown_grace (3s)", took)
	}

	out, code := kirobar(t, home, "flows", "list", "--json")
	if code != 0 {
		t.Fatalf("flows list: %d\n%s", code, out)
	}
	var rows []struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("flows list: %v\n%s", err, out)
	}
	count := map[string]int{}
	for _, r := range rows {
		count[r.Status]++
	}
	if len(rows) != finishing+stuck || count["completed"] != finishing || count["failed"] != stuck {
		t.Fatalf("flows after shutdown: %v (%d rows), want %d completed and %d failed\n%s", count, len(rows), finishing, stuck, out)
	}
}
