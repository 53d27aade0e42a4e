package signin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kirobar/kirobar/kiro"
)

// CallbackPath is where the Kiro auth portal sends the browser back to
// kirobar after a Google or GitHub sign-in.
const CallbackPath = "/oauth/callback"

// CallbackPorts are the loopback ports the Kiro auth portal accepts in a
// sign-in's redirect_uri, in the order the Kiro IDE tries them (its
// portal-auth-provider CALLBACK_PORTS; Google and GitHub accept
// http://localhost:3128/oauth/callback, kiro-protocol.md §11.7). A random
// port is refused by the portal.
var CallbackPorts = []int{3128, 4649, 6588, 8008, 9091, 49153, 50153, 51153, 52153, 53153}

// Social runs the PKCE (S256) sign-in of a Google or GitHub login (r.Kind
// Google or GitHub) through the Kiro auth portal: a one-shot listener on
// 127.0.0.1, on the first free port of o's list, receives the code, which
// is exchanged for tokens (kiro-protocol.md §6.5). The listener is gone
// before the code is exchanged, and whatever ends the sign-in closes it.
func Social(ctx context.Context, kc *kiro.Client, r Request, ui UI, o Options) (Result, error) {
	idp, provider := "Google", "Google"
	if r.Kind == GitHub {
		idp, provider = "Github", "Github"
	}
	verifier, err := randomURLString(32)
	if err != nil {
		return Result{}, err
	}
	state, err := randomURLString(16)
	if err != nil {
		return Result{}, err
	}
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])

	cb, err := listenCallback(state, o.ports())
	if err != nil {
		return Result{}, fmt.Errorf("%s sign-in: %w", provider, err)
	}
	defer cb.close()
	page, err := kc.SocialLoginURL(r.Region, idp, cb.redirectURI, challenge, state)
	if err != nil {
		return Result{}, fmt.Errorf("%s sign-in: %w", provider, err)
	}
	ui.open(page)
	ui.Statusf("waiting for the %s sign-in to finish in the browser…", provider)
	code, err := cb.wait(ctx)
	cb.close() // one use: the port is gone before the code is exchanged
	if err != nil {
		return Result{}, fmt.Errorf("%s sign-in: %w", provider, err)
	}
	tok, err := kc.ExchangeSocialCode(ctx, r.Region, code, verifier, cb.redirectURI)
	if err != nil {
		return Result{}, fmt.Errorf("%s sign-in: exchange the code: %w", provider, err)
	}
	ui.Statusf("signed in with %s", provider)
	return Result{AuthMethod: kiro.AuthSocial, Provider: provider, Region: r.Region, Tokens: tok}, nil
}

// callback is the one-shot listener the auth portal redirects to. It
// answers requests with the wrong state with 400 and keeps waiting, takes
// the first request with the right state, and then stops listening.
type callback struct {
	redirectURI string
	state       string
	srv         *http.Server
	served      chan struct{}
	result      chan callbackResult
	once        sync.Once
	closeOnce   sync.Once
}

type callbackResult struct {
	code string
	err  error
}

// listenCallback listens on the first free port of ports on 127.0.0.1.
func listenCallback(state string, ports []int) (*callback, error) {
	var ln net.Listener
	var errs []error
	for _, p := range ports {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err == nil {
			ln = l
			break
		}
		errs = append(errs, err)
	}
	if ln == nil {
		return nil, fmt.Errorf("no port free for the sign-in callback: the Kiro auth portal only accepts %s, and all are in use "+
			"(port 3128 is often a local web proxy such as Squid); stop the program holding one of them and sign in again, "+
			"or sign in in the Kiro IDE and run `kirobar accounts import`: %w", portList(ports), errors.Join(errs...))
	}
	port := ln.Addr().(*net.TCPAddr).Port
	cb := &callback{
		// localhost, as the Kiro IDE's own loopback redirect uses; it
		// resolves to the 127.0.0.1 listener.
		redirectURI: fmt.Sprintf("http://localhost:%d%s", port, CallbackPath),
		state:       state,
		served:      make(chan struct{}),
		result:      make(chan callbackResult, 1),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+CallbackPath, cb.handle)
	cb.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(cb.served)
		// Serve returns http.ErrServerClosed once close runs; any other
		// error means the listener died and wait times out with ctx.
		_ = cb.srv.Serve(ln)
	}()
	return cb, nil
}

func (cb *callback) handle(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(cb.state)) != 1 {
		http.Error(w, "kirobar: this sign-in link does not belong to the sign-in in progress (state mismatch); it was ignored.", http.StatusBadRequest)
		return
	}
	var res callbackResult
	switch {
	case q.Get("error") != "":
		res.err = fmt.Errorf("the auth portal refused the sign-in: %s %s", q.Get("error"), q.Get("error_description"))
	case q.Get("code") == "":
		res.err = errors.New("the auth portal sent no code")
	default:
		res.code = q.Get("code")
	}
	first := false
	cb.once.Do(func() {
		first = true
		cb.result <- res
	})
	if !first {
		http.Error(w, "kirobar: this sign-in was already completed.", http.StatusGone)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if res.err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, "<!doctype html><title>kirobar</title><p>The sign-in failed. Return to kirobar for details.</p>")
		return
	}
	fmt.Fprint(w, "<!doctype html><title>kirobar</title><p>Signed in. You can close this tab and return to kirobar.</p>")
}

// wait returns the code, or an error when the portal refused or ctx ended.
func (cb *callback) wait(ctx context.Context) (string, error) {
	select {
	case res := <-cb.result:
		return res.code, res.err
	case <-ctx.Done():
		return "", fmt.Errorf("no answer from the browser: %w", ctx.Err())
	}
}

// close stops listening, lets a response in progress finish, and waits
// for the server to end.
func (cb *callback) close() {
	cb.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := cb.srv.Shutdown(ctx); err != nil {
			// A handler did not finish in time: cut its connection.
			_ = cb.srv.Close()
		}
		<-cb.served
	})
}

// portList renders ports for a message.
func portList(ports []int) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ", ")
}

// randomURLString is n random bytes, base64url without padding.
func randomURLString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
