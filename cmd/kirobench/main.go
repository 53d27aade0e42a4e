//go:build linux

// Command kirobench is kirobar's load tool. It starts the fake Kiro upstream
// (internal/testkit/kirofake), a real kirobar process and a pass-through hop
// (cmd/kirobench/hop: httputil.ReverseProxy) on loopback, pins kirobar and
// the hop to one CPU and itself with the fake to the other, and drives three
// paths with streaming clients: through kirobar, through the hop (the same
// Kiro request, forwarded byte for byte: the floor of one extra hop), and
// direct (that request straight to the fake, decoded by kirobar's frame
// decoder). Every figure of kirobar is reported as a ratio to the hop's.
// It prints a markdown report and writes it to -out. It runs on Linux
// only: CPU time and RSS come from /proc and pinning uses sched_setaffinity.
//
//	go run ./cmd/kirobench -out bench-report.md     # the full run (make bench)
//	go run ./cmd/kirobench -quick                    # a smoke run of a few seconds
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
)

// config is the command line.
type config struct {
	out          string
	quick        bool
	duration     time.Duration // each closed-loop phase
	sequential   int           // requests per path, small request
	longStreams  int
	longDuration time.Duration
	pin          bool
	bin          string
	profile      string
	flows        bool
	only         string
	settle       time.Duration // pause after start and after the last scenario
	afterLoad    time.Duration // how long RSS is watched once the heaviest load ended
	concs        [2]int        // the two closed-loop concurrencies
	env          envList       // extra environment for kirobar (GOGC=50, GOMEMLIMIT=…)
}

// envList is a repeatable KEY=VALUE flag.
type envList []string

func (e *envList) String() string { return strings.Join(*e, " ") }

func (e *envList) Set(v string) error {
	if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
		return fmt.Errorf("%q: want KEY=VALUE", v)
	}
	*e = append(*e, v)
	return nil
}

// runs reports whether the scenario kind was selected with -only.
func (c config) runs(kind string) bool {
	if c.only == "" {
		return true
	}
	for _, k := range strings.Split(c.only, ",") {
		if strings.TrimSpace(k) == kind {
			return true
		}
	}
	return false
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var c config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.out, "out", "", "write the markdown report to this file")
	fs.BoolVar(&c.quick, "quick", false, "a smoke run of a few seconds: tiny counts and durations")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "length of each closed-loop phase")
	fs.IntVar(&c.sequential, "n", 2000, "sequential requests per path (small request; the 50 KB and 600 KB scenarios send a quarter and a twentieth)")
	fs.IntVar(&c.longStreams, "long-streams", 1000, "concurrent long streams")
	fs.DurationVar(&c.longDuration, "long-duration", 60*time.Second, "how long the fake holds each long stream open")
	fs.BoolVar(&c.pin, "pin", true, "pin kirobar and this tool (with the fake) to different CPUs")
	fs.StringVar(&c.bin, "bin", "", "kirobar binary to test (default: build the module's)")
	fs.BoolVar(&c.flows, "flows", true, "let kirobar record flows (its default); false measures the proxy without the recorder")
	fs.StringVar(&c.only, "only", "", "run only these scenario kinds, comma-separated: sequential, closed, long")
	fs.StringVar(&c.profile, "profile", "", "write CPU and heap profiles of kirobar's loaded phases into this directory")
	fs.Var(&c.env, "kirobar-env", "KEY=VALUE added to kirobar's environment, e.g. GOGC=50 (repeatable): to measure a runtime setting")
	fs.DurationVar(&c.afterLoad, "after-load", 30*time.Second, "how long to watch each process's RSS once the heaviest load has ended")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c.settle, c.concs = 2*time.Second, [2]int{64, 256}
	if c.quick {
		// Quick sets small defaults; flags given explicitly still win.
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["duration"] {
			c.duration = 500 * time.Millisecond
		}
		if !set["n"] {
			c.sequential = 60
		}
		if !set["long-streams"] {
			c.longStreams = 50
		}
		if !set["long-duration"] {
			c.longDuration = 2 * time.Second
		}
		if !set["after-load"] {
			c.afterLoad = time.Second
		}
		c.concs = [2]int{8, 32}
	}
	// The load tool allocates a sample per request; a relaxed GC keeps its
	// own pauses out of the latency figures of both paths.
	debug.SetGCPercent(400)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := bench(ctx, c, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	md := rep.markdown()
	fmt.Fprint(stdout, md)
	if c.out != "" {
		if err := os.WriteFile(c.out, []byte(md), 0o644); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
	}
	if rep.failed() {
		fmt.Fprintln(stderr, "bench: requests failed; see the errors column")
		return 1
	}
	return 0
}

// finalWait is how long after the last scenario kirobar's RSS is read:
// past the 3 s of idleness after which kirobar returns memory to the OS.
const finalWait = 5 * time.Second

// bench runs every scenario and returns the report.
func bench(ctx context.Context, c config, log io.Writer) (*report, error) {
	rep := &report{started: time.Now(), cfg: c, cpu: cpuModel(), loadStart: loadAvg()}
	plan, ok := planCPUs()
	var procCPUs []int
	if c.pin && ok {
		if err := pinSelf(plan.tool); err != nil {
			return nil, err
		}
		procCPUs = plan.kirobar
		rep.toolCPUs = allowedCPUs(os.Getpid())
	}
	if c.profile != "" {
		if err := os.MkdirAll(c.profile, 0o755); err != nil {
			return nil, fmt.Errorf("profile dir: %w", err)
		}
	}
	small, claude, large, err := workloads()
	if err != nil {
		return nil, err
	}
	rep.sizes = map[string][2]int{
		small.name:  {len(small.anthropic), len(small.kiro)},
		claude.name: {len(claude.anthropic), len(claude.kiro)},
		large.name:  {len(large.anthropic), len(large.kiro)},
	}
	fmt.Fprintln(log, "bench: starting the fake, kirobar and the pass-through hop")
	rg, err := startRig(ctx, rigOptions{bin: c.bin, cpus: procCPUs, profile: c.profile != "", flows: c.flows, env: c.env})
	if err != nil {
		return nil, err
	}
	defer rg.close(log)
	rep.kirobarCPUs, rep.hopCPUs = rg.kirobar.pinned, rg.hop.pinned
	time.Sleep(c.settle) // let start-up work (account checks, first flush) settle
	if rep.idleRSS, err = readRSS(rg.kirobar.pid()); err != nil {
		return nil, err
	}
	if rep.hopIdleRSS, err = readRSS(rg.hop.pid()); err != nil {
		return nil, err
	}
	maxConc := max(256, c.longStreams)
	r := &runner{
		rig:     rg,
		through: &lane{p: &throughKirobar{url: rg.kirobarURL, hc: newHTTPClient(maxConc)}, proc: rg.kirobar, ln: rg.upstream},
		hop:     &lane{p: &kiroPath{label: "hop", url: rg.hopURL, token: rg.accessToken, hc: newHTTPClient(maxConc)}, proc: rg.hop, ln: rg.hopUp},
		direct:  &lane{p: &kiroPath{label: "direct", url: rg.directURL, token: rg.accessToken, hc: newHTTPClient(maxConc)}, ln: rg.direct},
		profile: c.profile,
		log:     log,
	}
	if c.profile != "" {
		if err := r.fetch("heap", "heap-idle.pprof", 0)(); err != nil {
			fmt.Fprintln(log, "bench: profile:", err)
		}
	}

	seq := []struct {
		name string
		w    *workload
		n    int
	}{
		{"Sequential, small request", &small, c.sequential},
		{"Sequential, 50 KB Claude Code request (12 tools)", &claude, max(10, c.sequential/4)},
		{"Sequential, 600 KB request", &large, max(5, c.sequential/20)},
	}
	for _, s := range seq {
		if !c.runs("sequential") {
			break
		}
		fmt.Fprintf(log, "bench: %s (%d requests per path)\n", s.name, s.n)
		sc, err := r.sequential(ctx, s.name, s.w, s.n)
		if sc != nil {
			rep.scenarios = append(rep.scenarios, sc)
		}
		if err != nil {
			return rep, err
		}
	}
	lo, hi := c.concs[0], c.concs[1]
	loads := []struct {
		w    *workload
		conc int
	}{{&small, lo}, {&small, hi}, {&claude, lo}, {&claude, hi}}
	for i, l := range loads {
		if !c.runs("closed") {
			break
		}
		last := i == len(loads)-1
		name := fmt.Sprintf("%d concurrent streams, small request", l.conc)
		if l.w == &claude {
			name = fmt.Sprintf("%d concurrent streams, 50 KB Claude Code request", l.conc)
		}
		fmt.Fprintf(log, "bench: %s (%s per path)\n", name, c.duration)
		sc := newScenario(name, "closed", l.w.name, l.conc)
		cl := closed{w: l.w, conc: l.conc, d: c.duration}
		if c.profile != "" {
			cl.profile = fmt.Sprintf("closed-%d-%s", l.conc, l.w.name)
			sc.profile, sc.heap = cl.profile+".pprof", "heap-"+cl.profile+".pprof"
		}
		if last {
			// The heaviest load comes last: watch each process give its
			// memory back once it ends.
			cl.after = c.afterLoad
		}
		for _, ln := range r.lanes() {
			if err := r.closedLoop(ctx, ln, r.phaseOf(sc, ln), cl); err != nil {
				return rep, err
			}
		}
		if c.profile != "" {
			if rec, gc, err := cpuShares(filepath.Join(c.profile, sc.profile)); err == nil {
				sc.recorder, sc.gc = rec, gc
			} else {
				fmt.Fprintln(log, "bench: profile:", err)
			}
			if n, err := heapInUse(filepath.Join(c.profile, sc.heap)); err == nil {
				sc.heapInUse = n
			}
		}
		rep.scenarios = append(rep.scenarios, sc)
	}
	if c.profile != "" && c.runs("closed") {
		if err := r.fetch("heap?debug=1", "memstats-after-load.txt", 0)(); err == nil {
			if b, err := os.ReadFile(filepath.Join(c.profile, "memstats-after-load.txt")); err == nil {
				rep.afterMem = memStats(b)
			}
		}
	}

	if c.runs("long") {
		if err := longScenario(ctx, c, r, rep, &small); err != nil {
			return rep, err
		}
	}
	time.Sleep(finalWait)
	rep.afterRSS, _ = readRSS(rg.kirobar.pid())
	rep.loadEnd = loadAvg()
	rep.finished = time.Now()
	return rep, nil
}

// longScenario holds many streams open at once on each path.
func longScenario(ctx context.Context, c config, r *runner, rep *report, small *workload) error {
	rg := r.rig
	name := fmt.Sprintf("%d concurrent long streams held %s", c.longStreams, c.longDuration)
	fmt.Fprintf(r.log, "bench: %s (per path)\n", name)
	rg.fake.SetResponder(longReply(c.longDuration, time.Second))
	defer rg.fake.SetResponder(standardReply)
	sc := newScenario(name, "long", small.name, c.longStreams)
	prof := ""
	if c.profile != "" {
		prof = "long"
		sc.profile = "long.pprof"
	}
	for _, l := range r.lanes() {
		if l == r.through {
			rep.beforeLongRSS, _ = readRSS(rg.kirobar.pid())
		}
		if err := r.long(ctx, l, r.phaseOf(sc, l), small, c.longStreams, c.longDuration, prof); err != nil {
			return err
		}
	}
	rep.scenarios = append(rep.scenarios, sc)
	return nil
}
