package signin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kirobar/kirobar/internal/testkit/kirofake"
	"github.com/kirobar/kirobar/kiro"
)

// probe is a browser that, sent back from the portal, first tries the
// callback with a forged state (an attacker's link), then with the right
// one, then again (a reloaded tab), and records the answers.
type probe struct {
	*kirofake.Browser
	statuses []int
}

func (p *probe) open(portal string) error {
	cb, err := p.Redirect(portal)
	if err != nil {
		return err
	}
	forged := *cb
	q := forged.Query()
	q.Set("state", "forged")
	forged.RawQuery = q.Encode()
	for _, u := range []string{forged.String(), cb.String(), cb.String()} {
		code, err := p.Get(u)
		if err != nil {
			return err
		}
		p.statuses = append(p.statuses, code)
	}
	return nil
}

func TestSocial(t *testing.T) {
	for _, kind := range []Kind{Google, GitHub} {
		t.Run(string(kind), func(t *testing.T) {
			w := newWorld(t, kirofake.Options{})
			b := &probe{Browser: kirofake.NewBrowser()}
			got, err := Run(context.Background(), w.kc, Request{Kind: kind}, w.ui(b.open), w.options())
			if err != nil {
				t.Fatal(err)
			}
			want := []int{http.StatusBadRequest, http.StatusOK, http.StatusGone}
			if !slices.Equal(b.statuses, want) {
				t.Errorf("callback answers (wrong state, right state, replay) = %v, want %v", b.statuses, want)
			}
			cb := b.Callback()
			if cb.Path != CallbackPath || cb.Hostname() != "localhost" {
				t.Errorf("redirect URI %s", cb)
			}
			provider := map[Kind]string{Google: "Google", GitHub: "Github"}[kind]
			if got.AuthMethod != kiro.AuthSocial || got.Provider != provider || got.Tokens.ProfileARN != kirofake.DefaultProfileARN ||
				got.Tokens.AccessToken == "" || got.Tokens.RefreshToken == "" || got.ClientID != "" {
				t.Errorf("signed in as %s %s with profile %q", got.AuthMethod, got.Provider, got.Tokens.ProfileARN)
			}
			// The listener is gone: a replay cannot even connect.
			if _, err := b.Get(cb.String()); err == nil {
				t.Error("callback still answers after the sign-in")
			}
			conn, err := net.DialTimeout("tcp", "127.0.0.1:"+cb.Port(), time.Second)
			if err == nil {
				conn.Close()
				t.Error("callback port still accepts connections")
			}
		})
	}
}

func TestSocialTimesOutAndCloses(t *testing.T) {
	w := newWorld(t, kirofake.Options{})
	var redirect string
	ui := w.ui(func(portal string) error {
		u, err := url.Parse(portal)
		if err != nil {
			return err
		}
		redirect = u.Query().Get("redirect_uri")
		return nil // the user never signs in
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := Run(ctx, w.kc, Request{Kind: Google}, ui, w.options())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline", err)
	}
	u, err := url.Parse(redirect)
	if err != nil || u.Port() == "" {
		t.Fatalf("redirect_uri %q", redirect)
	}
	if conn, err := net.DialTimeout("tcp", "127.0.0.1:"+u.Port(), time.Second); err == nil {
		conn.Close()
		t.Error("callback listener survived the timeout")
	}
}

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// TestSocialPorts: the callback takes the first free port of the
// auth portal's list (3128 first); when none is free the sign-in says so.
func TestSocialPorts(t *testing.T) {
	if !slices.Equal(CallbackPorts[:1], []int{3128}) || len(CallbackPorts) != len(kirofake.RedirectPorts) {
		t.Fatalf("callback ports %v", CallbackPorts)
	}
	ports := freePorts(t, 2)
	busy, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", ports[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	t.Run("first busy", func(t *testing.T) {
		w := newWorld(t, kirofake.Options{RedirectPorts: ports})
		b := kirofake.NewBrowser()
		o := w.options()
		o.Ports = ports
		if _, err := Run(context.Background(), w.kc, Request{Kind: Google}, w.ui(b.Open), o); err != nil {
			t.Fatal(err)
		}
		if b.Callback().Port() != fmt.Sprint(ports[1]) {
			t.Fatalf("callback on %s, want %d", b.Callback().Port(), ports[1])
		}
	})
	t.Run("none free", func(t *testing.T) {
		w := newWorld(t, kirofake.Options{RedirectPorts: ports})
		o := w.options()
		o.Ports = ports[:1]
		ui := UI{OpenURL: func(string) error {
			t.Error("the browser was opened although no callback could listen")
			return nil
		}}
		_, err := Run(context.Background(), w.kc, Request{Kind: GitHub}, ui, o)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprint(ports[0])) || !strings.Contains(err.Error(), "in use") {
			t.Fatalf("err = %v", err)
		}
	})
}
