package server_test

import (
	"bufio"
	"bytes"
	"context"
	"github.com/kirobar/kirobar/internal/testkit/fixtures"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/flows"
	"github.com/kirobar/kirobar/internal/db"
	"github.com/kirobar/kirobar/internal/duration"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
	"github.com/kirobar/kirobar/kiro"
	"github.com/kirobar/kirobar/kiro/models"
	"github.com/kirobar/kirobar/server"
)

// benchRig is the request path of harness_test.go for benchmarks: the real
// server, pool, upstream client and (optionally) flow recorder in front of
// the fake over loopback.
type benchRig struct {
	fake *kirofake.Server
	url  string
	hc   *http.Client
}

func newBenchRig(b *testing.B, withFlows bool) *benchRig {
	return newBenchRigLimited(b, withFlows, 1024, 0)
}

// newBenchRigLimited is newBenchRig with one account serving at most
// maxConcurrent requests at once, its starts paced to one per spacing.
func newBenchRigLimited(b *testing.B, withFlows bool, maxConcurrent int, spacing time.Duration) *benchRig {
	b.Helper()
	fake, err := kirofake.Start(kirofake.Options{RecordLimit: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(fake.Close)
	fake.AddAccount(kirofake.Account{ID: "bench", AuthMethod: kirofake.AuthSocial, RefreshToken: refreshToken(0), Limit: 1e12})
	fake.SetResponder(func(r *kirofake.Request) kirofake.Reply {
		return kirofake.Reply{Events: append(kirofake.Text(strings.Repeat("a streamed answer ", 40), 30), kirofake.Metering(0.01), kirofake.ContextUsage(1))}
	})
	home := b.TempDir()
	log := slog.New(slog.DiscardHandler)
	gdb, err := db.Open(filepath.Join(home, "kirobar.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close(gdb) })
	kc := kiro.DefaultConfig()
	kc.APIURL, kc.IDEURL, kc.AuthURL, kc.OIDCURL = fake.URL, fake.URL, fake.URL, fake.URL
	client, err := kiro.NewClient(kc, log)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(client.CloseIdleConnections)
	ac := accounts.DefaultConfig()
	ac.MinSpacing, ac.MaxConcurrent = duration.Duration(spacing), maxConcurrent
	mgr, err := accounts.NewManager(gdb, client, ac, accounts.Options{Log: log, Home: home, UserHome: home})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := mgr.AddRefreshToken(ctx, accounts.AddRequest{RefreshToken: refreshToken(0), AuthMethod: "social"}); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{}, 2)
	running := 1
	go func() { _ = mgr.Run(ctx); done <- struct{}{} }()
	deps := server.Deps{Pool: mgr, Upstream: client, Models: models.NewResolver(models.DefaultAliases()), MaxAttempts: 3, Log: log, Version: "bench"}
	var rec *flows.Recorder
	if withFlows {
		if rec, err = flows.NewRecorder(gdb, home, flows.DefaultConfig(), log); err != nil {
			b.Fatal(err)
		}
		deps.Flows = rec
		running++
		go func() { _ = rec.Run(ctx); done <- struct{}{} }()
	}
	sc := server.DefaultConfig()
	sc.Listen = "127.0.0.1:0"
	sc.APIKeys = []string{testKey}
	srv, err := server.New(sc, deps)
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
	b.Cleanup(func() {
		hc.CloseIdleConnections()
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := srv.Stop(sctx); err != nil {
			b.Errorf("stop: %v", err)
		}
		if rec != nil {
			_ = rec.Close()
		}
		cancel()
		for range running {
			<-done
		}
	})
	return &benchRig{fake: fake, url: "http://" + srv.Addr(), hc: hc}
}

// stream posts one Messages request and reads the stream to its end.
func (r *benchRig) stream(b *testing.B, body []byte, br *bufio.Reader) {
	req, err := http.NewRequest(http.MethodPost, r.url+"/v1/messages", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-api-key", testKey)
	resp, err := r.hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	br.Reset(resp.Body)
	n, err := io.Copy(io.Discard, br)
	if err != nil || resp.StatusCode != http.StatusOK || n == 0 {
		b.Fatalf("status %d, %d bytes, %v", resp.StatusCode, n, err)
	}
}

// claudeCodeBody is Claude Code's first request (12 tools) at the real
// request's ~50 KB.
func claudeCodeBody(b *testing.B) []byte {
	body, err := fixtures.ClaudeCode(50 << 10)
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// BenchmarkRequestPath measures one streamed Messages request through the
// whole server (client key, decode, payload build, pool, upstream call,
// frame decoding, SSE encoding) against the fake, with and without the
// flow recorder. The fake runs in the same process, so ns/op includes its
// work too; compare runs with each other, not with the bar.
func BenchmarkRequestPath(b *testing.B) {
	small := []byte(`{"model":"claude-sonnet-4-5","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"Write a haiku about loopback proxies."}]}`)
	cc := claudeCodeBody(b)
	for _, tc := range []struct {
		name  string
		body  []byte
		flows bool
	}{
		{"small", small, false},
		{"small/flows", small, true},
		{"claude-code-50kb", cc, false},
		{"claude-code-50kb/flows", cc, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			r := newBenchRig(b, tc.flows)
			br := bufio.NewReaderSize(nil, 32<<10)
			b.SetBytes(int64(len(tc.body)))
			b.ReportAllocs()
			for b.Loop() {
				r.stream(b, tc.body, br)
			}
		})
	}
}
