//go:build linux

package main

import (
	"context"
	"io"
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
	c := config{quick: true, duration: 100 * time.Millisecond, sequential: 10, longStreams: 20, longDuration: time.Second, flows: true, concs: [2]int{4, 16}}
	rep, err := bench(ctx, c, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if rep.failed() {
		t.Fatalf("requests failed:\n%s", rep.markdown())
	}
	kinds := map[string]int{}
	for _, sc := range rep.scenarios {
		kinds[sc.kind]++
		for _, ph := range []*phase{sc.direct, sc.kirobar} {
			if ph.requests == 0 || ph.events == 0 || len(ph.ttfb) == 0 {
				t.Errorf("%s/%s: %d requests, %d events", sc.name, ph.path, ph.requests, ph.events)
			}
		}
		if len(sc.kirobar.own) == 0 {
			t.Errorf("%s: no Server-Timing from kirobar", sc.name)
		}
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
	for _, want := range []string{"## Against the bar", "Idle RSS", "Added TTFB p50, 50 KB Claude Code request", "New upstream connections"} {
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
