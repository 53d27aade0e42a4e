//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// phase is one path's measurements in one scenario.
type phase struct {
	path     string
	requests int
	errors   int
	firstErr string
	events   int
	elapsed  time.Duration
	first    []time.Duration // time to the first piece of the answer
	total    []time.Duration
	own      []time.Duration

	// Of the path's process (kirobar or the hop) while this phase ran;
	// zero for the direct path, which has none.
	cpu     time.Duration
	rssPeak int64
	// rssOpen is the process's RSS once every long stream was open.
	rssOpen int64
	// after is the process's RSS, sampled once the load of the phase had
	// stopped (only for the phase that observes the return of memory).
	after []rssSample
	// conns is how many connections the fake accepted on this path's
	// listener during the phase.
	conns int64
	// toolCPU is this process's CPU (clients and fake) during the phase.
	toolCPU time.Duration
}

// rssSample is one reading of a process's RSS after the load stopped.
type rssSample struct {
	at  time.Duration // since the last request of the phase ended
	rss int64
}

func (p *phase) add(r result) {
	p.requests++
	if r.err != nil {
		p.errors++
		if p.firstErr == "" {
			p.firstErr = r.err.Error()
		}
		return
	}
	p.events += r.events
	p.first = append(p.first, r.first)
	p.total = append(p.total, r.total)
	if r.hasOwn {
		p.own = append(p.own, r.own)
	}
}

func (p *phase) merge(o *phase) {
	p.requests += o.requests
	p.errors += o.errors
	if p.firstErr == "" {
		p.firstErr = o.firstErr
	}
	p.events += o.events
	p.first = append(p.first, o.first...)
	p.total = append(p.total, o.total...)
	p.own = append(p.own, o.own...)
}

func (p *phase) rps() float64 {
	if p.elapsed <= 0 {
		return 0
	}
	return float64(p.requests-p.errors) / p.elapsed.Seconds()
}

func (p *phase) eps() float64 {
	if p.elapsed <= 0 {
		return 0
	}
	return float64(p.events) / p.elapsed.Seconds()
}

// cpuPerRequest is the process's CPU time per successful request.
func (p *phase) cpuPerRequest() time.Duration {
	return perRequest(p.cpu, p)
}

// scenario is one row group of the report: the same load on every path.
type scenario struct {
	name     string
	kind     string // "sequential", "closed", "long"
	workload string
	conc     int
	direct   *phase
	hop      *phase
	kirobar  *phase
	profile  string // CPU profile of kirobar during the kirobar phase
	heap     string // heap profile of kirobar in the middle of the phase
	// recorder is the flow recorder's share of kirobar's CPU samples in
	// the phase's profile; gc is the garbage collector's; -1: no profile.
	recorder, gc float64
	heapInUse    int64 // bytes in use in the heap profile, 0: none
}

func newScenario(name, kind, workload string, conc int) *scenario {
	return &scenario{name: name, kind: kind, workload: workload, conc: conc, recorder: -1, gc: -1,
		direct: &phase{path: "direct"}, hop: &phase{path: "hop"}, kirobar: &phase{path: "kirobar"}}
}

// lane is one path with what measures it: the process it runs through
// (nil for the direct path) and the fake's listener it arrives at.
type lane struct {
	p    path
	proc *proc
	ln   *countingListener
}

// runner drives the rig.
type runner struct {
	rig     *rig
	direct  *lane
	hop     *lane
	through *lane
	profile string // directory for kirobar's profiles; "" = none
	log     io.Writer
}

// lanes are the paths in the order each scenario runs them.
func (r *runner) lanes() []*lane { return []*lane{r.direct, r.hop, r.through} }

// phaseOf is the lane's phase in sc.
func (r *runner) phaseOf(sc *scenario, l *lane) *phase {
	switch l {
	case r.direct:
		return sc.direct
	case r.hop:
		return sc.hop
	}
	return sc.kirobar
}

// meter samples one lane's process and listener across a measured run.
type meter struct {
	l      *lane
	ph     *phase
	cpu0   time.Duration
	conns0 int64
	peak   atomic.Int64
}

// watch samples the CPU and RSS of the lanes' processes and the fake's
// accepted connections while fn runs, into the phases (one per lane).
// With one lane it also takes this process's CPU, the clients' and the
// fake's share of the work.
func (r *runner) watch(lanes []*lane, phases []*phase, fn func()) error {
	meters := make([]*meter, len(lanes))
	for i, l := range lanes {
		m := &meter{l: l, ph: phases[i], conns0: l.ln.accepted.Load()}
		if l.proc != nil {
			c, err := readCPU(l.proc.pid())
			if err != nil {
				return err
			}
			m.cpu0 = c
		}
		meters[i] = m
	}
	self0, err := readCPU(os.Getpid())
	if err != nil {
		return err
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			for _, m := range meters {
				if m.l.proc == nil {
					continue
				}
				if rss, err := readRSS(m.l.proc.pid()); err == nil && rss > m.peak.Load() {
					m.peak.Store(rss)
				}
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	start := time.Now()
	fn()
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()
	for _, m := range meters {
		m.ph.conns = m.l.ln.accepted.Load() - m.conns0
		if m.l.proc == nil {
			continue
		}
		c, err := readCPU(m.l.proc.pid())
		if err != nil {
			return err
		}
		m.ph.cpu, m.ph.rssPeak = c-m.cpu0, m.peak.Load()
	}
	if len(meters) == 1 {
		self1, err := readCPU(os.Getpid())
		if err != nil {
			return err
		}
		meters[0].ph.toolCPU = self1 - self0
		meters[0].ph.elapsed = elapsed
	}
	return r.rig.alive()
}

// sequential sends n requests one at a time, rotating the paths so that
// drift (CPU frequency, GC in this process) hits all alike. The first
// warm requests of each path are not counted.
func (r *runner) sequential(ctx context.Context, name string, w *workload, n int) (*scenario, error) {
	sc := newScenario(name, "sequential", w.name, 1)
	br := bufio.NewReaderSize(nil, 64<<10)
	lanes := r.lanes()
	warm := min(20, n/10+1)
	for range warm {
		for _, l := range lanes {
			l.p.do(ctx, w, br)
		}
	}
	// Every process is watched over the one combined run: kirobar and the
	// hop are idle while another path's request runs, so each one's CPU
	// delta belongs to its own requests.
	phases := []*phase{sc.direct, sc.hop, sc.kirobar}
	err := r.watch(lanes, phases, func() {
		for i := 0; i < n && ctx.Err() == nil; i++ {
			for j, l := range lanes {
				phases[j].add(l.p.do(ctx, w, br))
			}
		}
	})
	// Sequential throughput is per path: the sum of its request times.
	for _, ph := range phases {
		ph.elapsed = sum(ph.total)
	}
	if err != nil {
		return sc, err
	}
	return sc, ctx.Err()
}

func sum(ds []time.Duration) time.Duration {
	var t time.Duration
	for _, d := range ds {
		t += d
	}
	return t
}

// closed says how to run one path of a closed-loop scenario.
type closed struct {
	w       *workload
	conc    int
	d       time.Duration
	profile string        // name of kirobar's CPU and heap profiles; "" = none
	after   time.Duration // observe RSS this long after the load; 0 = not
}

// closedLoop runs conc workers on one path for d, each sending its next
// request as soon as the last one ended.
func (r *runner) closedLoop(ctx context.Context, l *lane, ph *phase, c closed) error {
	// A short warm-up opens the connections and grows the pools.
	r.loop(ctx, l.p, c.w, c.conc, min(c.d/5, time.Second), &phase{})
	var waits []func() error
	if c.profile != "" && l == r.through {
		waits = append(waits,
			r.fetch(fmt.Sprintf("profile?seconds=%d", max(1, int(c.d/time.Second))), c.profile+".pprof", 0),
			// The heap in the middle of the load: what the requests in
			// flight hold (in use as of the last collection).
			r.fetch("heap", "heap-"+c.profile+".pprof", c.d/2))
	}
	err := r.watch([]*lane{l}, []*phase{ph}, func() { r.loop(ctx, l.p, c.w, c.conc, c.d, ph) })
	for _, wait := range waits {
		if perr := wait(); perr != nil {
			fmt.Fprintln(r.log, "bench: profile:", perr)
		}
	}
	if err != nil {
		return err
	}
	if c.after > 0 && l.proc != nil {
		ph.after = observeRSS(ctx, l.proc, c.after)
		if c.profile != "" && l == r.through {
			if err := r.fetch("heap", "heap-after-load.pprof", 0)(); err != nil {
				fmt.Fprintln(r.log, "bench: profile:", err)
			}
		}
	}
	return ctx.Err()
}

// observeRSS samples p's RSS every 250 ms for d, from the moment the load
// stopped: how fast memory goes back to the OS.
func observeRSS(ctx context.Context, p *proc, d time.Duration) []rssSample {
	var out []rssSample
	start := time.Now()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		if rss, err := readRSS(p.pid()); err == nil {
			out = append(out, rssSample{at: time.Since(start), rss: rss})
		}
		if time.Since(start) >= d {
			return out
		}
		select {
		case <-ctx.Done():
			return out
		case <-t.C:
		}
	}
}

// loop runs the workers of a closed loop until d has passed; requests in
// flight then finish normally, so no connection is cut by the end of a
// phase and the next phase starts with warm pools.
func (r *runner) loop(ctx context.Context, p path, w *workload, conc int, d time.Duration, into *phase) {
	deadline := time.Now().Add(d)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			br := bufio.NewReaderSize(nil, 64<<10)
			var local phase
			for time.Now().Before(deadline) {
				res := p.do(ctx, w, br)
				if ctx.Err() != nil {
					break // the run was interrupted
				}
				local.add(res)
			}
			mu.Lock()
			into.merge(&local)
			mu.Unlock()
		}()
	}
	wg.Wait()
}

// long opens n streams at once on one path; the fake holds each open for
// d. For a path through a process it records the process's RSS once all
// of them are open upstream.
func (r *runner) long(ctx context.Context, l *lane, ph *phase, w *workload, n int, d time.Duration, profile string) error {
	var wait func() error
	if profile != "" && l == r.through {
		wait = r.fetch(fmt.Sprintf("profile?seconds=%d", max(1, int(d/time.Second))), profile+".pprof", 0)
	}
	base := r.rig.fake.Stats().Streams
	err := r.watch([]*lane{l}, []*phase{ph}, func() {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				br := bufio.NewReaderSize(nil, 4<<10)
				res := l.p.do(ctx, w, br)
				mu.Lock()
				ph.add(res)
				mu.Unlock()
			}()
			// Ramp over about a second: agents do not all start in the
			// same microsecond.
			if i%50 == 49 {
				time.Sleep(50 * time.Millisecond)
			}
		}
		if l.proc != nil {
			if rss, err := r.rssWhenOpen(ctx, l.proc, base+n, d); err == nil {
				ph.rssOpen = rss
			} else {
				fmt.Fprintln(r.log, "bench:", err)
			}
		}
		wg.Wait()
	})
	if wait != nil {
		if perr := wait(); perr != nil {
			fmt.Fprintln(r.log, "bench: profile:", perr)
		}
	}
	return err
}

// rssWhenOpen waits until the fake has started want streams in total,
// lets the process settle briefly, and reads its RSS.
func (r *runner) rssWhenOpen(ctx context.Context, p *proc, want int, d time.Duration) (int64, error) {
	deadline := time.Now().Add(d)
	for r.rig.fake.Stats().Streams < want {
		if ctx.Err() != nil || time.Now().After(deadline) {
			return 0, fmt.Errorf("only %d of %d long streams opened", r.rig.fake.Stats().Streams, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(min(d/10, time.Second))
	return readRSS(p.pid())
}
