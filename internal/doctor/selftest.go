package doctor

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/internal/db"
	"github.com/kirobar/kirobar/internal/duration"
	"github.com/kirobar/kirobar/kiro"
	"github.com/kirobar/kirobar/kiro/models"
	"github.com/kirobar/kirobar/server"
)

// selfTestKey is the client key of the self-test's private server.
const selfTestKey = "kb-doctor-self-test"

// SelfTest sends the first requests of current clients (clients.md:
// Claude Code, Codex CLI, a chat completion) through a private kirobar
// server — the real decoders, kiro/payload and upstream client — to an
// private loopback stand-in for Kiro that applies the service's request
// rules (kiro/rules) to what arrives.
// It uses no network and no credits. style is the [kiro] api_style to
// test ("" = runtime).
func SelfTest(ctx context.Context, style string) []Result {
	w, err := newSelfTestWorld(ctx, style)
	if err != nil {
		return []Result{{Name: "self-test", Verdict: Fail, Detail: "could not start the self-test: " + err.Error(),
			Fix: "report this with the output of `kirobar doctor --json`"}}
	}
	defer w.close()
	var out []Result
	for _, c := range clientShapes {
		out = append(out, w.run(ctx, c))
	}
	return out
}

// clientShape is one client's first request.
type clientShape struct {
	name   string
	path   string
	header map[string]string
	body   string
	// prompt must be the question Kiro answers (its currentMessage).
	prompt string
	// done marks a stream the client accepts as complete.
	done string
}

// selfTestWorld is the private server, pool and fake.
type selfTestWorld struct {
	dir  string
	up   *selfTestUpstream
	kc   *kiro.Client
	srv  *server.Server
	stop func()
	http *http.Client
}

func newSelfTestWorld(ctx context.Context, style string) (w *selfTestWorld, err error) {
	if style == "" {
		style = kiro.StyleRuntime
	}
	dir, err := os.MkdirTemp("", "kirobar-doctor-*")
	if err != nil {
		return nil, err
	}
	w = &selfTestWorld{dir: dir, http: &http.Client{Timeout: 30 * time.Second}}
	var cleanups []func()
	w.stop = func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	defer func() {
		if err != nil {
			w.close()
		}
	}()
	w.up, err = startSelfTestUpstream()
	if err != nil {
		return w, err
	}
	cleanups = append(cleanups, w.up.close)
	kcfg := kiro.DefaultConfig()
	kcfg.APIStyle = style
	kcfg.APIURL, kcfg.IDEURL, kcfg.AuthURL, kcfg.OIDCURL = w.up.URL, w.up.URL, w.up.URL, w.up.URL
	kcfg.Proxy = "" // loopback only; the environment's proxy is bypassed for 127.0.0.1
	log := slog.New(slog.DiscardHandler)
	if w.kc, err = kiro.NewClient(kcfg, log); err != nil {
		return w, err
	}
	cleanups = append(cleanups, w.kc.CloseIdleConnections)
	gdb, err := db.Open(filepath.Join(dir, "kirobar.db"))
	if err != nil {
		return w, err
	}
	cleanups = append(cleanups, func() { _ = db.Close(gdb) }) // a temp database; nothing to save
	acfg := accounts.DefaultConfig()
	acfg.MinSpacing = 0
	mgr, err := accounts.NewManager(gdb, w.kc, acfg, accounts.Options{Log: log, Home: dir, UserHome: dir})
	if err != nil {
		return w, err
	}
	tok, err := randomToken()
	if err != nil {
		return w, err
	}
	if _, err := mgr.AddRefreshToken(ctx, accounts.AddRequest{RefreshToken: tok, AuthMethod: accounts.AuthSocial}); err != nil {
		return w, err
	}
	scfg := server.DefaultConfig()
	scfg.Listen = "127.0.0.1:0"
	scfg.APIKeys = []string{selfTestKey}
	scfg.ShutdownGrace = duration.Duration(time.Second)
	w.srv, err = server.New(scfg, server.Deps{
		Pool: mgr, Upstream: w.kc, Models: models.NewResolver(models.DefaultAliases()), DefaultModel: models.Default,
		MaxAttempts: acfg.MaxAttempts, Log: log, Version: "doctor",
	})
	if err != nil {
		return w, err
	}
	if err := w.srv.Start(); err != nil {
		return w, err
	}
	cleanups = append(cleanups, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = w.srv.Stop(sctx) // streams are all read by then; nothing to drain
	})
	return w, nil
}

func (w *selfTestWorld) close() {
	if w.stop != nil {
		w.stop()
	}
	_ = os.RemoveAll(w.dir) // a temp directory; the OS cleans it if this fails
}

// run sends one client's request and checks what Kiro would have seen.
func (w *selfTestWorld) run(ctx context.Context, c clientShape) Result {
	r := Result{Name: "self-test " + c.name}
	fix := "kirobar translates this client's requests into something Kiro refuses: update kirobar, and report it with `kirobar flows bundle`"
	before := w.up.count()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+w.srv.Addr()+c.path, strings.NewReader(c.body))
	if err != nil {
		r.Verdict, r.Detail = Fail, err.Error()
		return r
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+selfTestKey)
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := w.http.Do(req)
	if err != nil {
		r.Verdict, r.Detail, r.Fix = Fail, "the private server did not answer: "+err.Error(), fix
		return r
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	_ = resp.Body.Close() // fully read
	up, reached := w.up.last(before)
	current, tools, history := describe(up.Payload)
	switch {
	case rerr != nil:
		r.Verdict, r.Detail = Fail, "reading the answer: "+rerr.Error()
	case reached && up.Rule != "":
		r.Verdict, r.Detail = Fail, fmt.Sprintf("the upstream would refuse the translated request (rule %s, HTTP %d)", up.Rule, up.Status)
	case resp.StatusCode != http.StatusOK:
		r.Verdict, r.Detail = Fail, fmt.Sprintf("HTTP %d: %s", resp.StatusCode, shorten(string(body), 200))
	case !reached:
		r.Verdict, r.Detail = Fail, "nothing reached the upstream"
	case !strings.Contains(current, c.prompt):
		r.Verdict, r.Detail = Fail, "the user's prompt is not the question Kiro answers (it went into the history)"
	case !bytes.Contains(body, []byte(c.done)):
		r.Verdict, r.Detail = Fail, "the answer stream did not end with "+c.done+": "+shorten(string(body), 200)
	default:
		r.Verdict = OK
		r.Detail = fmt.Sprintf("%s: translated request accepted by the upstream's rules (%d tools, %d history turns), answer streamed back", c.path, tools, history)
	}
	if r.Verdict == Fail {
		r.Fix = fix
	}
	return r
}

func randomToken() (string, error) {
	b := make([]byte, 96)
	if _, err := rand.Read(b); err != nil {
		return "", errors.New("random token: " + err.Error())
	}
	return "aorAAAAA" + base64.RawURLEncoding.EncodeToString(b), nil
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
