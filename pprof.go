package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"
)

// pprofEnv names a hidden environment variable for profiling a running
// kirobar: KIROBAR_PPROF=127.0.0.1:6060 serves Go's profiler there. The load
// tool (cmd/kirobench -profile) uses it to find where kirobar spends CPU
// under load. Only loopback addresses are accepted: profiles show request
// contents in memory.
const pprofEnv = "KIROBAR_PPROF"

// init starts the profiler before anything else runs when the variable is
// set; it is a process-wide debugging aid, not part of kirobar's wiring.
func init() {
	addr := os.Getenv(pprofEnv)
	if addr == "" {
		return
	}
	if err := servePprof(addr); err != nil {
		fmt.Fprintln(os.Stderr, "kirobar: "+pprofEnv+":", err)
	}
}

// servePprof listens on a loopback addr and serves the pprof handlers on
// their own mux in the background.
func servePprof(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%q is not a loopback address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		// The profiler lives as long as the process; Serve only returns
		// when the listener fails, and then there is nothing to profile.
		_ = srv.Serve(ln)
	}()
	return nil
}
