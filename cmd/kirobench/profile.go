//go:build linux

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/pprof/profile"
)

// recorderPkg is the flow recorder's package: its share of kirobar's CPU
// samples is what recording flows costs (not counting the collections its
// allocations cause, which show as the GC's share).
const recorderPkg = "github.com/kirobar/kirobar/flows."

// fetch saves kirobar's /debug/pprof/<query> into the profile directory
// as name, after delay; the returned func waits for it.
func (r *runner) fetch(query, name string, delay time.Duration) func() error {
	done := make(chan error, 1)
	go func() {
		time.Sleep(delay)
		resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/%s", r.rig.pprofAddr, query))
		if err != nil {
			done <- fmt.Errorf("fetch %s: %w", query, err)
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			done <- fmt.Errorf("fetch %s: HTTP %d", query, resp.StatusCode)
			return
		}
		f, err := os.Create(filepath.Join(r.profile, name))
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

// cpuShares reads a CPU profile and returns the share of samples (CPU
// time) with a frame of the flow recorder and of the garbage collector's
// background and assist work.
func cpuShares(path string) (recorder, gc float64, err error) {
	p, err := readProfile(path)
	if err != nil {
		return 0, 0, err
	}
	vi := len(p.SampleType) - 1 // cpu nanoseconds
	var total, rec, coll int64
	for _, s := range p.Sample {
		v := s.Value[vi]
		total += v
		inRec, inGC := false, false
		for _, loc := range s.Location {
			for _, ln := range loc.Line {
				if ln.Function == nil {
					continue
				}
				name := ln.Function.Name
				inRec = inRec || strings.HasPrefix(name, recorderPkg)
				inGC = inGC || strings.HasPrefix(name, "runtime.gcBgMarkWorker") || strings.HasPrefix(name, "runtime.gcAssistAlloc") || name == "runtime.bgsweep" || name == "runtime.bgscavenge"
			}
		}
		if inRec {
			rec += v
		}
		if inGC {
			coll += v
		}
	}
	if total == 0 {
		return 0, 0, fmt.Errorf("%s: no samples", path)
	}
	return float64(rec) / float64(total), float64(coll) / float64(total), nil
}

// heapInUse is the bytes in use in a heap profile (as of the collection
// before it was taken).
func heapInUse(path string) (int64, error) {
	p, err := readProfile(path)
	if err != nil {
		return 0, err
	}
	vi := -1
	for i, st := range p.SampleType {
		if st.Type == "inuse_space" {
			vi = i
		}
	}
	if vi < 0 {
		return 0, fmt.Errorf("%s: no inuse_space", path)
	}
	var n int64
	for _, s := range p.Sample {
		n += s.Value[vi]
	}
	return n, nil
}

func readProfile(path string) (*profile.Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open profile: %w", err)
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return p, nil
}

// memStats reads the runtime.MemStats lines ("# HeapIdle = 123") that
// /debug/pprof/heap?debug=1 ends with.
func memStats(text []byte) map[string]int64 {
	out := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "# ")
		if !ok {
			continue
		}
		k, v, ok := strings.Cut(rest, " = ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			out[k] = n
		}
	}
	return out
}
