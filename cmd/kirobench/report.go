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
	sizes         map[string][2]int // workload -> Anthropic, Kiro body bytes
	idleRSS       int64
	beforeLongRSS int64
	afterRSS      int64
	scenarios     []*scenario
	loadStart     string // /proc/loadavg: other work on the machine skews throughput
	loadEnd       string
}

// failed reports whether any request failed on either path.
func (r *report) failed() bool {
	for _, sc := range r.scenarios {
		if sc.direct.errors > 0 || sc.kirobar.errors > 0 {
			return true
		}
	}
	return false
}

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

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond)) }

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }

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

// barRow is one line of the summary against the bar.
type barRow struct {
	figure, bar, peer, value, vsDirect string
	ok                                 bool
}

func (r *report) bar() []barRow {
	var rows []barRow
	added := func(sc *scenario, p float64) time.Duration {
		return percentile(sc.kirobar.ttfb, p) - percentile(sc.direct.ttfb, p)
	}
	if sc := r.find("sequential", "small", 0); sc != nil {
		a := added(sc, 50)
		rows = append(rows, barRow{"Added TTFB p50, small request", "≤ 0.150 ms", "0.31 ms", ms(a),
			ratio(float64(percentile(sc.kirobar.ttfb, 50)), float64(percentile(sc.direct.ttfb, 50))), a <= 150*time.Microsecond})
		c := sc.kirobar.cpuPerRequest()
		rows = append(rows, barRow{"kirobar CPU per request, small", "≤ 0.400 ms", "0.8 ms", ms(c), "–", c <= 400*time.Microsecond})
	}
	if sc := r.find("sequential", "claude-code-50kb", 0); sc != nil {
		a := added(sc, 50)
		rows = append(rows, barRow{"Added TTFB p50, 50 KB Claude Code request", "≤ 1.000 ms", "2.3 ms", ms(a),
			ratio(float64(percentile(sc.kirobar.ttfb, 50)), float64(percentile(sc.direct.ttfb, 50))), a <= time.Millisecond})
		c := sc.kirobar.cpuPerRequest()
		rows = append(rows, barRow{"kirobar CPU per request, 50 KB", "≤ 1.000 ms", "2.0 ms", ms(c), "–", c <= time.Millisecond})
	}
	for _, sc := range r.scenarios {
		if sc.kind != "closed" {
			continue
		}
		q := sc.kirobar.rps() / max(sc.direct.rps(), 1e-9)
		rows = append(rows, barRow{"Throughput, " + sc.name, "≥ 0.95 of direct", "0.82–0.92",
			fmt.Sprintf("%.0f req/s", sc.kirobar.rps()), fmt.Sprintf("%.2f", q), q >= 0.95})
	}
	for _, sc := range r.scenarios {
		if sc.kind != "closed" {
			continue
		}
		ok := sc.kirobar.conns <= int64(sc.conc)
		rows = append(rows, barRow{"New upstream connections, " + sc.name, "reused (≤ one per stream slot)", "one per 2 requests",
			fmt.Sprintf("%d for %d requests", sc.kirobar.conns, sc.kirobar.requests),
			fmt.Sprintf("direct opened %d", sc.direct.conns), ok})
	}
	rows = append(rows, barRow{"Idle RSS", "≤ 30 MB", "–", mb(r.idleRSS), "–", r.idleRSS <= 30<<20})
	if sc := r.find("closed", "claude-code-50kb", 256); sc != nil {
		rows = append(rows, barRow{"Peak RSS, 256 concurrent Claude Code streams", "≤ 60 MB", "170 MB", mb(sc.kirobar.rssPeak), "–", sc.kirobar.rssPeak <= 60<<20})
	}
	if sc := r.find("long", "small", 0); sc != nil {
		rows = append(rows, barRow{fmt.Sprintf("%d concurrent streams for %s", sc.conc, r.cfg.longDuration), "zero errors", "–",
			fmt.Sprintf("%d errors of %d", sc.kirobar.errors, sc.kirobar.requests),
			fmt.Sprintf("direct: %d errors", sc.direct.errors), sc.kirobar.errors == 0 && sc.kirobar.requests == sc.conc})
	}
	return rows
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
	fmt.Fprintf(&b, "- Machine: %s, %d CPUs visible to the load tool; load average at start %s, at end %s\n", r.cpu, runtime.GOMAXPROCS(0), r.loadStart, r.loadEnd)
	if r.toolCPUs != "" {
		fmt.Fprintf(&b, "- Pinning: load tool + fake Kiro upstream on CPUs %s, kirobar on CPUs %s\n", r.toolCPUs, r.kirobarCPUs)
	} else {
		fmt.Fprintf(&b, "- Pinning: off (fewer than two CPUs, or -pin=false)\n")
	}
	flows := "flows recorded"
	if !r.cfg.flows {
		flows = "**flows off** (flows.enabled = false)"
	}
	fmt.Fprintf(&b, "- kirobar config: defaults (%s, log level info) except accounts.max_concurrent = 4096 and accounts.min_spacing = 0s\n", flows)
	fmt.Fprintf(&b, "- Request sizes (client body / Kiro body): small %s, Claude Code %s, large %s\n\n",
		sizePair(r.sizes["small"]), sizePair(r.sizes["claude-code-50kb"]), sizePair(r.sizes["600kb"]))

	b.WriteString("## Against the bar\n\n")
	b.WriteString("| Figure | Bar | Peer Go proxy | kirobar | vs direct | Verdict |\n|---|---|---|---|---|---|\n")
	for _, row := range r.bar() {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", row.figure, row.bar, row.peer, row.value, row.vsDirect, verdict(row.ok))
	}
	b.WriteString("\nAdded TTFB is kirobar's p50 time to the first event minus the direct path's, measured by the client in the same run. ")
	b.WriteString("Published gateway figures for context: Bifrost 0.44 ms, Portkey 2.37 ms, LiteLLM 4.34 ms added per request.\n\n")

	b.WriteString("## Memory\n\n| Figure | Value |\n|---|---|\n")
	fmt.Fprintf(&b, "| Idle RSS after start | %s |\n", mb(r.idleRSS))
	if sc := r.find("long", "small", 0); sc != nil && sc.kirobar.rssOpen > 0 {
		per := (sc.kirobar.rssOpen - r.beforeLongRSS) / int64(max(1, sc.conc))
		fmt.Fprintf(&b, "| RSS with %d streams open | %s |\n", sc.conc, mb(sc.kirobar.rssOpen))
		fmt.Fprintf(&b, "| Memory per open stream (RSS growth / streams) | %.1f KB |\n", float64(per)/1024)
	}
	fmt.Fprintf(&b, "| RSS 2 s after the last scenario | %s |\n\n", mb(r.afterRSS))

	for _, sc := range r.scenarios {
		r.scenarioTable(&b, sc)
	}
	b.WriteString("Notes: *direct* posts the Kiro request kirobar would build straight to the fake and decodes the frames with kirobar's decoder; ")
	b.WriteString("its events are Kiro frames, kirobar's are the Messages API's SSE events, so events/s differ in unit and the request rate is the comparable figure. ")
	b.WriteString("CPU is kirobar's utime+stime from /proc/<pid>/stat over the phase; RSS is VmRSS sampled every 50 ms. ")
	b.WriteString("Upstream connections are counted at the fake's listener after a warm-up.\n")
	return b.String()
}

func (r *report) scenarioTable(b *strings.Builder, sc *scenario) {
	d, k := sc.direct, sc.kirobar
	fmt.Fprintf(b, "## %s\n\n", sc.name)
	b.WriteString("| Metric | direct | kirobar | kirobar / direct |\n|---|---|---|---|\n")
	row := func(name, dv, kv, q string) { fmt.Fprintf(b, "| %s | %s | %s | %s |\n", name, dv, kv, q) }
	row("Requests (errors)", fmt.Sprintf("%d (%d)", d.requests, d.errors), fmt.Sprintf("%d (%d)", k.requests, k.errors), "–")
	row("Requests/s", fmt.Sprintf("%.0f", d.rps()), fmt.Sprintf("%.0f", k.rps()), ratio(k.rps(), d.rps()))
	row("Events/s", fmt.Sprintf("%.0f", d.eps()), fmt.Sprintf("%.0f", k.eps()), ratio(k.eps(), d.eps()))
	for _, p := range []float64{50, 95, 99} {
		dv, kv := percentile(d.ttfb, p), percentile(k.ttfb, p)
		row(fmt.Sprintf("TTFB p%.0f", p), ms(dv), ms(kv), ratio(float64(kv), float64(dv)))
	}
	for _, p := range []float64{50, 95, 99} {
		row(fmt.Sprintf("Added TTFB p%.0f (kirobar − direct)", p), "–", ms(percentile(k.ttfb, p)-percentile(d.ttfb, p)), "–")
	}
	for _, p := range []float64{50, 95, 99} {
		row(fmt.Sprintf("Server-Timing kirobar;dur p%.0f", p), "–", ms(percentile(k.own, p)), "–")
	}
	for _, p := range []float64{50, 99} {
		dv, kv := percentile(d.total, p), percentile(k.total, p)
		row(fmt.Sprintf("Whole stream p%.0f", p), ms(dv), ms(kv), ratio(float64(kv), float64(dv)))
	}
	row("kirobar CPU per request", "–", ms(k.cpuPerRequest()), "–")
	dt, kt := perRequest(d.toolCPU, d), perRequest(k.toolCPU, k)
	row("Load tool + fake CPU per request", ms(dt), ms(kt), ratio(float64(kt), float64(dt)))
	row("kirobar peak RSS", "–", mb(k.rssPeak), "–")
	row("Connections opened to the fake", fmt.Sprintf("%d", d.conns), fmt.Sprintf("%d", k.conns), "–")
	if sc.profile != "" {
		row("CPU profile", "–", sc.profile, "–")
	}
	if d.firstErr != "" || k.firstErr != "" {
		row("First error", esc(d.firstErr), esc(k.firstErr), "–")
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
// both paths' throughput unevenly, so the report shows it.
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
