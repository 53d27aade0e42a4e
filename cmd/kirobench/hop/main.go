// Command hop is the load tool's pass-through hop: net/http/httputil's
// ReverseProxy between the load tool and the fake Kiro upstream, forwarding
// the Kiro request and the event stream byte for byte. It does no work a
// proxy could skip, so what it costs is the floor of one extra loopback
// hop with the same bodies, and the load tool reports kirobar's figures as
// ratios to it. The load tool builds and starts it pinned to kirobar's CPU.
//
//	hop -listen 127.0.0.1:7000 -target http://127.0.0.1:7001
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "loopback address to serve on")
	target := flag.String("target", "", "upstream base URL (the fake Kiro upstream)")
	flag.Parse()
	if err := run(*listen, *target); err != nil {
		fmt.Fprintln(os.Stderr, "hop:", err)
		os.Exit(1)
	}
}

// readFirst reads the whole request body before the proxy forwards it, as
// kirobar does (it decodes the body before it can send anything). Streamed
// through, the body is closed by net/http's server when the answer's
// headers are written, while the transport still reads it once more to
// check its length; the failed read tears down the upstream connection
// under the answer (golang/go#40747). That cut about one stream in thirty
// in the load tool's runs.
func readFirst(next http.Handler) http.Handler {
	pool := sync.Pool{New: func() any { return new(bytes.Buffer) }}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := pool.Get().(*bytes.Buffer)
		defer pool.Put(buf)
		buf.Reset()
		if _, err := buf.ReadFrom(r.Body); err != nil {
			http.Error(w, "hop: read the request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(buf.Bytes()))
		r.ContentLength = int64(buf.Len())
		next.ServeHTTP(w, r)
	})
}

func run(listen, target string) error {
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("-target %q: want an absolute http URL", target)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(u) },
		// Every chunk of the event stream goes out as it arrives, as
		// kirobar writes each batch of events at once.
		FlushInterval: -1,
		// The same connection reuse as kirobar's upstream client: no
		// global cap, enough idle connections per host for every stream.
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        0,
			MaxIdleConnsPerHost: 2048,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
	srv := &http.Server{Handler: readFirst(rp), ReadHeaderTimeout: 10 * time.Second}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-stop
		_ = srv.Close() // Serve returns ErrServerClosed below
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
