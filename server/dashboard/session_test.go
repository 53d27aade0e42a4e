package dashboard

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSessionSlidingLifetime: a session lapses after 30 minutes without
// use, each use renews it, and it ends after 12 hours however busy.
func TestSessionSlidingLifetime(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	start := time.Now()
	h.clock.set(start)
	b := h.signIn()
	at := start
	for at.Before(start.Add(12*time.Hour - 25*time.Minute)) {
		at = at.Add(25 * time.Minute)
		h.clock.set(at)
		if code, body := b.get("/api/accounts"); code != 200 {
			t.Fatalf("used every 25 minutes, refused after %v: %d %s", at.Sub(start), code, body)
		}
	}
	h.clock.set(start.Add(12*time.Hour + time.Second))
	if code, _ := b.get("/api/accounts"); code != 401 {
		t.Fatalf("past 12 hours: %d, want 401", code)
	}

	h.clock.set(start)
	b = h.signIn()
	h.clock.set(start.Add(30*time.Minute + time.Second))
	if code, _ := b.get("/api/accounts"); code != 401 {
		t.Fatalf("30 minutes unused: %d, want 401", code)
	}
}

// TestSessionBoundToListener: the cookie's name carries this listener's
// port, and the session is found under no other name, so a cookie another
// kirobar (or anything else) set on this host cannot stand in for it, and
// two kirobars on one host keep their sign-ins apart.
func TestSessionBoundToListener(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	b := h.signIn()
	if !strings.HasPrefix(h.cookieName(), cookiePrefix) || h.cookieName() == cookiePrefix {
		t.Fatalf("cookie name %q lacks the port", h.cookieName())
	}
	for _, name := range []string{"kirobar_session", cookiePrefix + "1", cookiePrefix} {
		resp := h.do(http.MethodGet, "/api/accounts", "", map[string]string{"Cookie": name + "=" + b.cookie})
		readAll(t, resp)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("session under cookie %q: %d, want 401", name, resp.StatusCode)
		}
	}
	// The session itself remembers its listener too.
	h.dash.auth.mu.Lock()
	h.dash.auth.sessions[b.cookie].port++
	h.dash.auth.mu.Unlock()
	if code, _ := b.get("/api/accounts"); code != 401 {
		t.Fatalf("a session issued on another listener: %d, want 401", code)
	}
}

// TestOpenPageKeepsSession: a page whose live-update stream is open keeps
// its session past the idle limit without making other requests; signing
// out ends the stream.
func TestOpenPageKeepsSession(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	start := time.Now()
	h.clock.set(start)
	b := h.signIn()
	resp := h.do(http.MethodGet, "/api/events", "", map[string]string{"Cookie": h.cookieName() + "=" + b.cookie})
	if resp.StatusCode != 200 {
		t.Fatalf("events: %d", resp.StatusCode)
	}
	defer resp.Body.Close()
	lines := bufio.NewReader(resp.Body)
	waitPing := func() {
		t.Helper()
		for {
			line, err := lines.ReadString('\n')
			if err != nil {
				t.Fatalf("stream ended: %v", err)
			}
			if strings.HasPrefix(line, ": ping") {
				return
			}
		}
	}
	for i := 1; i <= 3; i++ { // 75 minutes with no request but the stream
		h.clock.set(start.Add(time.Duration(i) * 25 * time.Minute))
		waitPing()
		waitPing() // the first ping may have been written before the clock moved
	}
	if code, body := b.get("/api/accounts"); code != 200 {
		t.Fatalf("after 75 minutes with the page open: %d %s", code, body)
	}
	if code, body := b.post("/api/logout", ""); code != 200 {
		t.Fatalf("logout: %d %s", code, body)
	}
	done := make(chan error, 1)
	go func() {
		for {
			if _, err := lines.ReadString('\n'); err != nil {
				done <- err
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the live stream of a signed-out session stays open")
	}
}

// TestOneTimeTokenBoundToListener: a LoginURL token is redeemed only on
// the listener it was issued for, and its first use spends it.
func TestOneTimeTokenBoundToListener(t *testing.T) {
	a := newAuth([]string{testKey}, time.Now, time.Hour, time.Minute)
	tok, err := a.oneTime(8999)
	if err != nil {
		t.Fatal(err)
	}
	if a.consume(tok, 9000) {
		t.Fatal("redeemed on another listener")
	}
	if a.consume(tok, 8999) {
		t.Fatal("a token whose first use failed is still good")
	}
	tok, _ = a.oneTime(8999)
	if !a.consume(tok, 8999) || a.consume(tok, 8999) {
		t.Fatal("a token is not good exactly once")
	}
}
