package signin

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/kirobar/kirobar/internal/testkit/kirofake"
	"github.com/kirobar/kirobar/kiro"
)

// world is one test's sign-in setting: the fake Kiro on loopback, a kiro
// client pointed at it, a clock that moves only when a device login
// waits, and a UI that records what the user was shown.
type world struct {
	fake *kirofake.Server
	kc   *kiro.Client

	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
	opened []string
	codes  []DeviceCode
	status []string
}

func newWorld(t *testing.T, fopts kirofake.Options) *world {
	t.Helper()
	w := &world{now: time.Now().UTC().Truncate(time.Second)}
	fopts.Clock = w.clock
	fake, err := kirofake.Start(fopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	w.fake = fake
	cfg := kiro.DefaultConfig()
	cfg.APIURL, cfg.IDEURL, cfg.AuthURL, cfg.OIDCURL = fake.URL, fake.URL, fake.URL, fake.URL
	kc, err := kiro.NewClient(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.CloseIdleConnections)
	w.kc = kc
	return w
}

func (w *world) clock() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

// options waits by moving the clock, and records each wait.
func (w *world) options() Options {
	return Options{Now: w.clock, Sleep: func(ctx context.Context, d time.Duration) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		w.sleeps = append(w.sleeps, d)
		w.now = w.now.Add(d)
		return nil
	}}
}

// ui records the device code, the pages opened and the progress lines;
// open, when set, is the browser.
func (w *world) ui(open func(string) error) UI {
	return UI{
		OpenURL: func(u string) error {
			w.mu.Lock()
			w.opened = append(w.opened, u)
			w.mu.Unlock()
			if open != nil {
				return open(u)
			}
			return nil
		},
		Device: func(d DeviceCode) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.codes = append(w.codes, d)
		},
		Status: func(msg string) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.status = append(w.status, msg)
		},
	}
}
