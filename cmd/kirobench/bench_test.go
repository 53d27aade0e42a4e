//go:build linux

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestQuickRun runs the load tool end to end on a tiny scale: it builds
// kirobar, starts it against the fake, drives every scenario kind on both
// paths and renders the report. It checks the tool measures what it
// claims, not kirobar's speed (a unit test must not time anything).
func TestQuickRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs kirobar")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	c := config{quick: true, duration: 1500 * time.Millisecond, sequential: 10, longStreams: 20, longDuration: time.Second, flows: true, concs: [2]int{4, 16}, afterLoad: time.Second, profile: dir}
	var log bytes.Buffer
	rep, err := bench(ctx, c, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.Bytes())
	}
	if rep.failed() {
		t.Fatalf("requests failed:\n%s\n%s", rep.markdown(), log.Bytes())
	}
	kinds := map[string]int{}
	for _, sc := range rep.scenarios {
		kinds[sc.kind]++
		for _, ph := range sc.phases() {
			if ph.requests == 0 || ph.events == 0 || len(ph.first) != ph.requests {
				t.Errorf("%s/%s: %d requests, %d events, %d first deltas", sc.name, ph.path, ph.requests, ph.events, len(ph.first))
			}
		}
		if len(sc.kirobar.own) == 0 {
			t.Errorf("%s: no Server-Timing from kirobar", sc.name)
		}
		// CPU time comes in 10 ms ticks: a few sequential requests may not
		// reach one, a closed-loop phase always does.
		if sc.direct.cpu != 0 || sc.kind == "closed" && (sc.kirobar.cpu <= 0 || sc.hop.cpu <= 0) {
			t.Errorf("%s: CPU direct %v, hop %v, kirobar %v: want only the processes' CPU", sc.name, sc.direct.cpu, sc.hop.cpu, sc.kirobar.cpu)
		}
		if sc.kind == "closed" {
			if sc.recorder < 0 || sc.recorder > 1 || sc.gc < 0 || sc.heapInUse <= 0 {
				t.Errorf("%s: profile shares recorder %v gc %v, heap %d", sc.name, sc.recorder, sc.gc, sc.heapInUse)
			}
			if sc.hop.conns > int64(sc.conc) || sc.kirobar.conns > int64(sc.conc) {
				t.Errorf("%s: new connections hop %d kirobar %d for %d streams after the warm-up", sc.name, sc.hop.conns, sc.kirobar.conns, sc.conc)
			}
		}
	}
	heavy := rep.find("closed", "claude-code-50kb", 16)
	if heavy == nil || len(heavy.kirobar.after) < 2 || len(heavy.hop.after) < 2 || heavy.direct.after != nil {
		t.Errorf("RSS after the load not observed for kirobar and the hop: %+v", heavy)
	}
	for _, name := range []string{"heap-idle.pprof", "heap-after-load.pprof", "closed-16-claude-code-50kb.pprof", "memstats-after-load.txt"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("profile %s: %v", name, err)
		}
	}
	if rep.afterMem["HeapInuse"] <= 0 {
		t.Errorf("no MemStats after the load: %v", rep.afterMem)
	}
	if kinds["sequential"] != 3 || kinds["closed"] != 4 || kinds["long"] != 1 {
		t.Errorf("scenarios %v", kinds)
	}
	if long := rep.find("long", "small", 0); long == nil || long.kirobar.requests != 20 || long.kirobar.rssOpen == 0 {
		t.Errorf("long streams not measured: %+v", long)
	}
	if rep.idleRSS <= 0 {
		t.Error("no idle RSS")
	}
	md := rep.markdown()
	for _, want := range []string{"## Against the targets", "Idle RSS", "Added first-delta p50, sequential, 50 KB", "New upstream connections", "RSS once that load ended", "kirobar / hop"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// TestWorkloadSizes keeps the request shapes honest: the Claude Code
// request is about 50 KB with 12 tools, the large one about 600 KB, and the
// Kiro bodies the direct path sends are what kirobar builds.
func TestWorkloadSizes(t *testing.T) {
	small, claude, large, err := workloads()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		w        workload
		min, max int
	}{
		{small, 50, 1 << 10},
		{claude, 49 << 10, 51 << 10},
		{large, 590 << 10, 640 << 10},
	} {
		if n := len(tc.w.anthropic); n < tc.min || n > tc.max {
			t.Errorf("%s: %d bytes, want %d..%d", tc.w.name, n, tc.min, tc.max)
		}
		if !strings.HasPrefix(string(tc.w.kiro), `{"conversationState":{`) || !strings.Contains(string(tc.w.kiro), `"profileArn":`) {
			t.Errorf("%s: kiro body %.80s", tc.w.name, tc.w.kiro)
		}
	}
	if n := strings.Count(string(claude.kiro), `"toolSpecification"`); n != 12 {
		t.Errorf("claude code request declares %d tools, want 12", n)
	}
}

func TestServerTiming(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   time.Duration
		ok     bool
	}{
		{"kirobar;dur=0.125, upstream;dur=1.500", 125 * time.Microsecond, true},
		{"upstream;dur=1.5,kirobar;dur=2", 2 * time.Millisecond, true},
		{"upstream;dur=1.5", 0, false},
		{"kirobar;dur=x", 0, false},
	} {
		got, ok := serverTiming(tc.header, "kirobar")
		if got != tc.want || ok != tc.ok {
			t.Errorf("%q: %v %v, want %v %v", tc.header, got, ok, tc.want, tc.ok)
		}
	}
}
