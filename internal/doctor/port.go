package doctor

import (
	"fmt"
	"net"
)

// checkPort reports whether [server] listen is free or held by kirobar.
func checkPort(e Env) Result {
	r := Result{Name: "port"}
	ln, err := e.Listen("tcp", e.ListenAddr)
	if err == nil {
		if cerr := ln.Close(); cerr != nil {
			r.Verdict, r.Detail = Warn, fmt.Sprintf("%s is free, but closing the test listener failed: %v", e.ListenAddr, cerr)
			return r
		}
		r.Verdict, r.Detail = OK, e.ListenAddr+" is free"
		return r
	}
	if info, ierr := e.ReadInstance(e.Home); ierr == nil && sameAddr(info.Addr, e.ListenAddr) {
		r.Verdict, r.Detail = OK, fmt.Sprintf("%s is held by kirobar itself (pid %d, running since %s)", e.ListenAddr, info.PID, info.Started.Local().Format("2006-01-02 15:04"))
		return r
	}
	r.Verdict, r.Detail = Fail, fmt.Sprintf("cannot listen on %s: %v", e.ListenAddr, err)
	r.Fix = "another program (or a kirobar with another home) uses the port: stop it, or set another [server] listen in config.toml and point your clients' base URL at it"
	return r
}

// sameAddr compares host:port pairs, treating an empty or unspecified host
// as matching any.
func sameAddr(a, b string) bool {
	ah, ap, err1 := net.SplitHostPort(a)
	bh, bp, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil || ap != bp {
		return false
	}
	wild := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ah == bh || wild(ah) || wild(bh)
}
