//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// report is one run of the load tool.
type report struct {
	cfg           config
	started       time.Time
	finished      time.Time
	cpu           string
	toolCPUs      string
	kirobarCPUs   string
	hopCPUs       string
	sizes         map[string][2]int // workload -> Anthropic, Kiro body bytes
	idleRSS       int64
	hopIdleRSS    int64
	beforeLongRSS int64
	afterRSS      int64
	afterMem      map[string]int64 // kirobar's runtime.MemStats once the load ended
	scenarios     []*scenario
	loadStart     string // /proc/loadavg: other work on the machine skews every figure
	loadEnd       string
}

// Targets of the hop comparison (docs/performance.md).
const (
	cpuClaudeMax   = time.Millisecond       // CPU per 50 KB request at the low concurrency
	cpuClaudeHop   = 1.6                    // … and at most this many times the hop's
	cpuSmallMax    = 550 * time.Microsecond // CPU per small request at the low concurrency
	addedOverHop   = 300 * time.Microsecond // added first-delta p50 over the hop's
	peakRSSMax     = 80 << 20               // peak RSS at the high concurrency, 50 KB
	afterRSSMax    = 40 << 20               // RSS once the load ended …
	afterRSSWithin = 30 * time.Second       // … within this long
	recorderMax    = 0.15                   // the flow recorder's share of kirobar's CPU
	idleRSSMax     = 30 << 20
)

// failed reports whether any request failed on any path.
func (r *report) failed() bool {
	for _, sc := range r.scenarios {
		for _, ph := range sc.phases() {
			if ph.errors > 0 {
				return true
			}
		}
	}
	return false
}

func (sc *scenario) phases() []*phase { return []*phase{sc.direct, sc.hop, sc.kirobar} }

func (r *report) find(kind, workload string, conc int) *scenario {
	for _, sc := range r.scenarios {
		if sc.kind == kind && sc.workload == workload && (conc == 0 || sc.conc == conc) {
			return sc
		}
	}
	return nil
}

// percentile returns the p-th percentile (0..100) by nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

// added is how much later than the direct path the path's answer began,
// at percentile p.
func added(sc *scenario, ph *phase, p float64) time.Duration {
	return percentile(ph.first, p) - percentile(sc.direct.first, p)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond)) }

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }

func pct(f float64) string {
	if f < 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", 100*f)
}

func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func verdict(ok bool) string {
	if ok {
		return "meets"
	}
	return "**misses**"
}

// targetRow is one line of the summary against the targets.
type targetRow struct {
	figure, target, hop, kirobar, ratio string
	ok                                  bool
}

func (r *report) targets() []targetRow {
	var rows []targetRow
	lo, hi := r.cfg.concs[0], r.cfg.concs[1]
	if sc := r.find("closed", "claude-code-50kb", lo); sc != nil {
		h, k := sc.hop.cpuPerRequest(), sc.kirobar.cpuPerRequest()
		rows = append(rows, targetRow{fmt.Sprintf("CPU per request, %d streams, 50 KB", lo), fmt.Sprintf("≤ %s and ≤ %.1f× the hop", ms(cpuClaudeMax), cpuClaudeHop),
			ms(h), ms(k), ratio(float64(k), float64(h)), k <= cpuClaudeMax && float64(k) <= cpuClaudeHop*float64(h)})
	}
	if sc := r.find("closed", "small", lo); sc != nil {
		h, k := sc.hop.cpuPerRequest(), sc.kirobar.cpuPerRequest()
		rows = append(rows, targetRow{fmt.Sprintf("CPU per request, %d streams, small", lo), "≤ " + ms(cpuSmallMax),
			ms(h), ms(k), ratio(float64(k), float64(h)), k <= cpuSmallMax})
	}
	for _, w := range []struct{ name, label string }{{"small", "small"}, {"claude-code-50kb", "50 KB"}} {
		sc := r.find("sequential", w.name, 0)
		if sc == nil {
			continue
		}
		h, k := added(sc, sc.hop, 50), added(sc, sc.kirobar, 50)
		rows = append(rows, targetRow{"Added first-delta p50, sequential, " + w.label, "≤ hop + " + ms(addedOverHop),
			ms(h), ms(k), "+" + ms(k-h), k <= h+addedOverHop})
		h, k = added(sc, sc.hop, 99), added(sc, sc.kirobar, 99)
		rows = append(rows, targetRow{"Added first-delta p99, sequential, " + w.label, "≤ hop",
			ms(h), ms(k), "+" + ms(k-h), k <= h})
	}
	if sc := r.find("closed", "claude-code-50kb", hi); sc != nil {
		h, k := sc.hop.rssPeak, sc.kirobar.rssPeak
		rows = append(rows, targetRow{fmt.Sprintf("Peak RSS, %d concurrent 50 KB streams", hi), "≤ " + mb(peakRSSMax),
			mb(h), mb(k), ratio(float64(k), float64(h)), k <= peakRSSMax})
		if len(sc.kirobar.after) > 0 {
			hv, _ := backUnder(sc.hop.after)
			kv, kok := backUnder(sc.kirobar.after)
			rows = append(rows, targetRow{"RSS once that load ended", fmt.Sprintf("< %s within %s", mb(afterRSSMax), afterRSSWithin),
				hv, kv, "–", kok})
		}
	}
	for _, c := range []int{lo} {
		var parts []string
		ok, any := true, false
		for _, w := range []string{"small", "claude-code-50kb"} {
			if sc := r.find("closed", w, c); sc != nil && sc.recorder >= 0 {
				any = true
				parts = append(parts, pct(sc.recorder))
				ok = ok && sc.recorder <= recorderMax
			}
		}
		if any {
			rows = append(rows, targetRow{fmt.Sprintf("Flow recorder's share of kirobar's CPU, %d streams, small / 50 KB", c), "≤ " + pct(recorderMax),
				"–", strings.Join(parts, " / "), "–", ok})
		}
	}
	var conns, reqs int64
	connsOK, closedAny := true, false
	for _, sc := range r.scenarios {
		if sc.kind != "closed" {
			continue
		}
		closedAny = true
		conns += sc.kirobar.conns
		reqs += int64(sc.kirobar.requests)
		connsOK = connsOK && sc.kirobar.conns <= int64(sc.conc)
	}
	if closedAny {
		var hopConns int64
		for _, sc := range r.scenarios {
			if sc.kind == "closed" {
				hopConns += sc.hop.conns
			}
		}
		rows = append(rows, targetRow{"New upstream connections under closed-loop load", "reused (≤ one per stream slot)",
			fmt.Sprintf("%d", hopConns), fmt.Sprintf("%d in %d requests", conns, reqs), "–", connsOK})
	}
	rows = append(rows, targetRow{"Idle RSS", "≤ " + mb(idleRSSMax), mb(r.hopIdleRSS), mb(r.idleRSS), ratio(float64(r.idleRSS), float64(r.hopIdleRSS)), r.idleRSS <= idleRSSMax})
	var errs, total int
	for _, sc := range r.scenarios {
		errs += sc.kirobar.errors
		total += sc.kirobar.requests
	}
	rows = append(rows, targetRow{"Errors", "0", "–", fmt.Sprintf("%d of %d", errs, total), "–", errs == 0})
	return rows
}

// backUnder says when RSS first fell below afterRSSMax once the load had
// ended, and whether that was within afterRSSWithin.
func backUnder(s []rssSample) (string, bool) {
	if len(s) == 0 {
		return "–", false
	}
	for _, x := range s {
		if x.rss < afterRSSMax {
			return fmt.Sprintf("%s after %.1f s", mb(x.rss), x.at.Seconds()), x.at <= afterRSSWithin
		}
	}
	last := s[len(s)-1]
	return fmt.Sprintf("%s after %.0f s", mb(last.rss), last.at.Seconds()), false
}

// markdown renders the report.
func (r *report) markdown() string {
	var b strings.Builder
	mode := "full run"
	if r.cfg.quick {
		mode = "quick smoke run (-quick): counts and durations too small for the figures to mean much"
	}
	fmt.Fprintf(&b, "# kirobar performance report\n\n")
	fmt.Fprintf(&b, "- Run: %s, %s, %s\n", r.started.UTC().Format("2006-01-02 15:04 UTC"), mode, r.finished.Sub(r.started).Round(time.Second))
	fmt.Fprintf(&b, "- kirobar: %s, %s, %s\n", commit(), runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH)
	fmt.Fprintf(&b, "- Machine: %s, %d CPUs; **load average at start %s, at end %s**\n", r.cpu, runtime.NumCPU(), r.loadStart, r.loadEnd)
	if r.toolCPUs != "" {
		fmt.Fprintf(&b, "- Pinning: load tool + fake Kiro upstream on CPUs %s; kirobar on CPUs %s; the hop on CPUs %s (each runs alone there: paths take turns)\n", r.toolCPUs, r.kirobarCPUs, r.hopCPUs)
	} else {
		fmt.Fprintf(&b, "- Pinning: off (fewer than two CPUs, or -pin=false)\n")
	}
	flows := "flows recorded"
	if !r.cfg.flows {
		flows = "**flows off** (flows.enabled = false)"
	}
	fmt.Fprintf(&b, "- kirobar config: defaults (%s, log level info) except accounts.max_concurrent = 4096 and accounts.min_spacing = 0s\n", flows)
	if len(r.cfg.env) > 0 {
		fmt.Fprintf(&b, "- kirobar environment: **%s**\n", r.cfg.env.String())
	}
	fmt.Fprintf(&b, "- Request sizes (client body / Kiro body): small %s, Claude Code %s, large %s\n\n",
		sizePair(r.sizes["small"]), sizePair(r.sizes["claude-code-50kb"]), sizePair(r.sizes["600kb"]))

	b.WriteString("## Against the targets\n\n")
	b.WriteString("| Figure | Target | pass-through hop | kirobar | kirobar vs hop | Verdict |\n|---|---|---|---|---|---|\n")
	for _, row := range r.targets() {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", row.figure, row.target, row.hop, row.kirobar, row.ratio, verdict(row.ok))
	}
	b.WriteString("\nThe *hop* is `httputil.ReverseProxy` forwarding the same Kiro request and event stream byte for byte, on kirobar's CPU: the floor of one extra hop. ")
	b.WriteString("*Added first-delta* is a path's time to the first piece of the answer minus the direct path's, measured by the client in the same run (kirobar: its first `content_block_delta`; hop and direct: the first Kiro event frame). ")
	b.WriteString("CPU is the process's utime+stime from /proc/<pid>/stat over the phase, per successful request. ")
	b.WriteString("The recorder's share is the share of kirobar's CPU-profile samples with a `flows` frame (not counting the collections its allocations cause).\n\n")

	r.memoryTable(&b)
	for _, sc := range r.scenarios {
		r.scenarioTable(&b, sc)
	}
	b.WriteString("Notes: *direct* posts the Kiro request kirobar would build straight to the fake and decodes the frames with kirobar's decoder; ")
	b.WriteString("*hop* posts it through the pass-through hop; ")
	b.WriteString("their events are Kiro frames, kirobar's are the Messages API's SSE events, so events/s differ in unit and the request rate is the comparable figure. ")
	b.WriteString("RSS is VmRSS sampled every 50 ms. Upstream connections are counted at the fake's listener of each path after a warm-up.\n")
	return b.String()
}

func (r *report) memoryTable(b *strings.Builder) {
	b.WriteString("## Memory\n\n| Figure | hop | kirobar |\n|---|---|---|\n")
	fmt.Fprintf(b, "| Idle RSS after start | %s | %s |\n", mb(r.hopIdleRSS), mb(r.idleRSS))
	if sc := r.find("closed", "claude-code-50kb", r.cfg.concs[1]); sc != nil && len(sc.kirobar.after) > 0 {
		fmt.Fprintf(b, "| Peak RSS, %s | %s | %s |\n", sc.name, mb(sc.hop.rssPeak), mb(sc.kirobar.rssPeak))
		for _, at := range []time.Duration{0, time.Second, 5 * time.Second, 10 * time.Second, 20 * time.Second, 30 * time.Second} {
			hv, hok := rssAt(sc.hop.after, at)
			kv, kok := rssAt(sc.kirobar.after, at)
			if hok || kok {
				fmt.Fprintf(b, "| RSS %s after that load ended | %s | %s |\n", at, hv, kv)
			}
		}
	}
	if sc := r.find("long", "small", 0); sc != nil && sc.kirobar.rssOpen > 0 {
		per := (sc.kirobar.rssOpen - r.beforeLongRSS) / int64(max(1, sc.conc))
		fmt.Fprintf(b, "| RSS with %d streams open | %s | %s |\n", sc.conc, mb(sc.hop.rssOpen), mb(sc.kirobar.rssOpen))
		fmt.Fprintf(b, "| kirobar's memory per open stream (RSS growth / streams) | – | %.1f KB |\n", float64(per)/1024)
	}
	fmt.Fprintf(b, "| RSS %s after the last scenario | – | %s |\n\n", finalWait, mb(r.afterRSS))
	if len(r.afterMem) > 0 {
		b.WriteString("kirobar's Go runtime once the load had ended (`runtime.MemStats`): ")
		var parts []string
		for _, k := range []string{"HeapAlloc", "HeapInuse", "HeapIdle", "HeapReleased", "StackInuse", "Sys", "NumGC"} {
			if v, ok := r.afterMem[k]; ok {
				if k == "NumGC" {
					parts = append(parts, fmt.Sprintf("%s %d", k, v))
				} else {
					parts = append(parts, k+" "+mb(v))
				}
			}
		}
		b.WriteString(strings.Join(parts, ", ") + ".\n\n")
	}
}

// rssAt is the first sample at or after at.
func rssAt(s []rssSample, at time.Duration) (string, bool) {
	for _, x := range s {
		if x.at >= at {
			return mb(x.rss), true
		}
	}
	return "–", false
}

func (r *report) scenarioTable(b *strings.Builder, sc *scenario) {
	d, h, k := sc.direct, sc.hop, sc.kirobar
	fmt.Fprintf(b, "## %s\n\n", sc.name)
	b.WriteString("| Metric | direct | hop | kirobar | kirobar / hop |\n|---|---|---|---|---|\n")
	row := func(name, dv, hv, kv, q string) { fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", name, dv, hv, kv, q) }
	dur := func(name string, f func(*phase) time.Duration) {
		dv, hv, kv := f(d), f(h), f(k)
		row(name, ms(dv), ms(hv), ms(kv), ratio(float64(kv), float64(hv)))
	}
	count := func(p *phase) string { return fmt.Sprintf("%d (%d)", p.requests, p.errors) }
	row("Requests (errors)", count(d), count(h), count(k), "–")
	row("Requests/s", fmt.Sprintf("%.0f", d.rps()), fmt.Sprintf("%.0f", h.rps()), fmt.Sprintf("%.0f", k.rps()), ratio(k.rps(), h.rps()))
	row("Events/s", fmt.Sprintf("%.0f", d.eps()), fmt.Sprintf("%.0f", h.eps()), fmt.Sprintf("%.0f", k.eps()), "–")
	for _, p := range []float64{50, 95, 99} {
		dur(fmt.Sprintf("First delta p%.0f", p), func(ph *phase) time.Duration { return percentile(ph.first, p) })
	}
	for _, p := range []float64{50, 95, 99} {
		hv, kv := added(sc, h, p), added(sc, k, p)
		row(fmt.Sprintf("Added first delta p%.0f (path − direct)", p), "–", ms(hv), ms(kv), "+"+ms(kv-hv))
	}
	for _, p := range []float64{50, 99} {
		row(fmt.Sprintf("Server-Timing kirobar;dur p%.0f", p), "–", "–", ms(percentile(k.own, p)), "–")
	}
	for _, p := range []float64{50, 99} {
		dur(fmt.Sprintf("Whole stream p%.0f", p), func(ph *phase) time.Duration { return percentile(ph.total, p) })
	}
	row("CPU per request", "–", ms(h.cpuPerRequest()), ms(k.cpuPerRequest()), ratio(float64(k.cpuPerRequest()), float64(h.cpuPerRequest())))
	if sc.kind != "sequential" {
		dur("Load tool + fake CPU per request", func(ph *phase) time.Duration { return perRequest(ph.toolCPU, ph) })
	}
	row("Peak RSS", "–", mb(h.rssPeak), mb(k.rssPeak), ratio(float64(k.rssPeak), float64(h.rssPeak)))
	row("Connections opened to the fake", fmt.Sprintf("%d", d.conns), fmt.Sprintf("%d", h.conns), fmt.Sprintf("%d", k.conns), "–")
	if sc.profile != "" {
		row("kirobar CPU profile", "–", "–", sc.profile, "–")
	}
	if sc.recorder >= 0 {
		row("Flow recorder / GC share of kirobar's CPU samples", "–", "–", pct(sc.recorder)+" / "+pct(sc.gc), "–")
	}
	if sc.heapInUse > 0 {
		row("kirobar heap in use in the middle of the phase", "–", "–", mb(sc.heapInUse)+" ("+sc.heap+")", "–")
	}
	for _, p := range []*phase{d, h, k} {
		if p.firstErr != "" {
			row("First error", esc(d.firstErr), esc(h.firstErr), esc(k.firstErr), "–")
			break
		}
	}
	b.WriteString("\n")
}

func perRequest(cpu time.Duration, p *phase) time.Duration {
	ok := p.requests - p.errors
	if ok <= 0 {
		return 0
	}
	return cpu / time.Duration(ok)
}

func esc(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	return strings.ReplaceAll(s, "\n", " ")
}

func sizePair(s [2]int) string {
	return fmt.Sprintf("%.1f KB / %.1f KB", float64(s[0])/1024, float64(s[1])/1024)
}

// loadAvg is the 1, 5 and 15 minute load average: a busy machine lowers
// every path's figures unevenly, so the report shows it.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// commit names the checked-out kirobar revision, when git knows it.
func commit() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return "unknown revision"
	}
	return strings.TrimSpace(string(out))
}
