//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
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
	ttfb     []time.Duration
	total    []time.Duration
	own      []time.Duration

	// Of the kirobar process while this phase ran (zero for the direct
	// path, where kirobar is idle).
	cpu     time.Duration
	rssPeak int64
	// rssOpen is kirobar's RSS once every long stream was open.
	rssOpen int64
	// conns is how many connections the fake accepted on this path's
	// listener during the phase.
	conns int64
	// toolCPU is this process's CPU (clients and fake) during the phase.
	toolCPU time.Duration
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
	p.ttfb = append(p.ttfb, r.ttfb)
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
	p.ttfb = append(p.ttfb, o.ttfb...)
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

// cpuPerRequest is kirobar's CPU time per successful request.
func (p *phase) cpuPerRequest() time.Duration {
	ok := p.requests - p.errors
	if ok <= 0 {
		return 0
	}
	return p.cpu / time.Duration(ok)
}

// scenario is one row group of the report: the same load on both paths.
type scenario struct {
	name     string
	kind     string // "sequential", "closed", "long"
	workload string
	conc     int
	direct   *phase
	kirobar  *phase
	profile  string // CPU profile of kirobar during the kirobar phase
}

// runner drives the rig.
type runner struct {
	rig     *rig
	through path
	direct  path
	profile string // directory for kirobar CPU profiles; "" = none
	log     io.Writer
}

// watch samples kirobar's CPU, RSS and the fake's accepted connections
// while fn runs, into ph.
func (r *runner) watch(ph *phase, ln *countingListener, fn func()) error {
	pid := r.rig.pid()
	cpu0, err := readCPU(pid)
	if err != nil {
		return err
	}
	conns0 := ln.accepted.Load()
	self0, err := readCPU(os.Getpid())
	if err != nil {
		return err
	}
	stop := make(chan struct{})
	var peak atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if rss, err := readRSS(pid); err == nil && rss > peak.Load() {
				peak.Store(rss)
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
	ph.elapsed = time.Since(start)
	close(stop)
	wg.Wait()
	cpu1, err := readCPU(pid)
	if err != nil {
		return err
	}
	ph.conns = ln.accepted.Load() - conns0
	self1, err := readCPU(os.Getpid())
	if err != nil {
		return err
	}
	ph.toolCPU = self1 - self0
	if ph.path == "kirobar" {
		ph.cpu = cpu1 - cpu0
		ph.rssPeak = peak.Load()
	}
	return r.rig.alive()
}

func (r *runner) listener(p path) *countingListener {
	if p == r.through {
		return r.rig.upstream
	}
	return r.rig.direct
}

// sequential sends n requests one at a time, alternating the paths so
// that drift (CPU frequency, GC in this process) hits both alike. The
// first warm requests of each path are not counted.
func (r *runner) sequential(ctx context.Context, name string, w *workload, n int) (*scenario, error) {
	sc := &scenario{name: name, kind: "sequential", workload: w.name, conc: 1,
		direct: &phase{path: "direct"}, kirobar: &phase{path: "kirobar"}}
	br := bufio.NewReaderSize(nil, 64<<10)
	warm := min(20, n/10+1)
	for range warm {
		r.direct.do(ctx, w, br)
		r.through.do(ctx, w, br)
	}
	// Both listeners are watched for one combined run: kirobar's CPU is
	// idle while the direct request runs, so its whole delta belongs to
	// the kirobar requests.
	var inner phase
	inner.path = "kirobar"
	directConns0 := r.rig.direct.accepted.Load()
	err := r.watch(&inner, r.rig.upstream, func() {
		for i := 0; i < n && ctx.Err() == nil; i++ {
			sc.direct.add(r.direct.do(ctx, w, br))
			sc.kirobar.add(r.through.do(ctx, w, br))
		}
	})
	if err != nil {
		return sc, err
	}
	sc.kirobar.cpu, sc.kirobar.rssPeak, sc.kirobar.conns = inner.cpu, inner.rssPeak, inner.conns
	sc.direct.conns = r.rig.direct.accepted.Load() - directConns0
	// Sequential throughput is per path: the sum of its request times.
	sc.direct.elapsed, sc.kirobar.elapsed = sum(sc.direct.total), sum(sc.kirobar.total)
	return sc, ctx.Err()
}

func sum(ds []time.Duration) time.Duration {
	var t time.Duration
	for _, d := range ds {
		t += d
	}
	return t
}

// closedLoop runs conc workers on one path for d, each sending its next
// request as soon as the last one ended.
func (r *runner) closedLoop(ctx context.Context, p path, w *workload, conc int, d time.Duration, profile string) (*phase, error) {
	ph := &phase{path: p.name()}
	// A short warm-up opens the connections and grows the pools.
	r.loop(ctx, p, w, conc, min(d/5, time.Second), &phase{})
	var prof func() error
	if profile != "" {
		prof = r.startProfile(profile, d)
	}
	err := r.watch(ph, r.listener(p), func() { r.loop(ctx, p, w, conc, d, ph) })
	if prof != nil {
		if perr := prof(); perr != nil {
			fmt.Fprintln(r.log, "bench: profile:", perr)
		}
	}
	if err != nil {
		return ph, err
	}
	return ph, ctx.Err()
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
// d. For the kirobar path it records kirobar's RSS once all of them are
// open upstream.
func (r *runner) long(ctx context.Context, p path, w *workload, n int, d time.Duration, profile string) (*phase, error) {
	ph := &phase{path: p.name()}
	var prof func() error
	if profile != "" {
		prof = r.startProfile(profile, d)
	}
	base := r.rig.fake.Stats().Streams
	err := r.watch(ph, r.listener(p), func() {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				br := bufio.NewReaderSize(nil, 4<<10)
				res := p.do(ctx, w, br)
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
		if p == r.through {
			if rss, err := r.rssWhenOpen(ctx, base+n, d); err == nil {
				ph.rssOpen = rss
			} else {
				fmt.Fprintln(r.log, "bench:", err)
			}
		}
		wg.Wait()
	})
	if prof != nil {
		if perr := prof(); perr != nil {
			fmt.Fprintln(r.log, "bench: profile:", perr)
		}
	}
	return ph, err
}

// rssWhenOpen waits until the fake has started want streams in total,
// lets kirobar settle briefly, and reads its RSS.
func (r *runner) rssWhenOpen(ctx context.Context, want int, d time.Duration) (int64, error) {
	deadline := time.Now().Add(d)
	for r.rig.fake.Stats().Streams < want {
		if ctx.Err() != nil || time.Now().After(deadline) {
			return 0, fmt.Errorf("only %d of %d long streams opened", r.rig.fake.Stats().Streams, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(min(d/10, time.Second))
	return readRSS(r.rig.pid())
}

// startProfile fetches a CPU profile of kirobar for d into the profile
// directory; the returned func waits for it.
func (r *runner) startProfile(name string, d time.Duration) func() error {
	done := make(chan error, 1)
	go func() {
		secs := max(1, int(d/time.Second))
		url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", r.rig.pprofAddr, secs)
		resp, err := http.Get(url)
		if err != nil {
			done <- fmt.Errorf("fetch profile: %w", err)
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(filepath.Join(r.profile, name+".pprof"))
		if err != nil {
			done <- fmt.Errorf("profile file: %w", err)
			return
		}
		_, err = io.Copy(f, resp.Body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		done <- err
	}()
	return func() error { return <-done }
}
