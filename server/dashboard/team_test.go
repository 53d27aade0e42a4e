package dashboard

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kirobar/kirobar/internal/db"
	"github.com/kirobar/kirobar/internal/team"
)

// runMember registers an instance on the database at path and beats its
// heartbeat until stop is called (or the test ends).
func runMember(t *testing.T, path, name string) (*team.Registry, func()) {
	t.Helper()
	gdb, err := db.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close(gdb) })
	r, err := team.New(context.Background(), gdb, team.Self{Name: name, Listen: "127.0.0.1:8999", Version: "test"}, team.Options{Heartbeat: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("team: %v", err)
		}
	}
	t.Cleanup(stop)
	return r, stop
}

// TestOverviewInstances: a team gateway's overview lists its instances,
// this one marked, and one that stopped is shown gone; a kirobar with its
// own kirobar.db shows no instances at all.
func TestOverviewInstances(t *testing.T) {
	path := filepath.Join(t.TempDir(), "team.db")
	self, _ := runMember(t, path, "gw-a")
	_, stopB := runMember(t, path, "gw-b")
	h := newHarness(t, harnessOptions{team: self})
	b := h.signIn()

	instances := func() map[string]team.Peer {
		code, body := b.get("/api/overview")
		if code != 200 {
			t.Fatalf("overview: %d %s", code, body)
		}
		o := decode[overview](t, body)
		if o.StoreUp == nil || !*o.StoreUp {
			t.Fatalf("store_up: %s", body)
		}
		out := map[string]team.Peer{}
		for _, p := range o.Instances {
			out[p.Name] = p
		}
		return out
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := instances()
		if got["gw-a"].Alive && got["gw-a"].Self && got["gw-b"].Alive && !got["gw-b"].Self {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("instances %+v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopB()
	for {
		if got := instances(); !got["gw-b"].Alive && got["gw-a"].Alive {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gw-b still alive after it stopped: %+v", instances())
		}
		time.Sleep(20 * time.Millisecond)
	}

	solo := newHarness(t, harnessOptions{}).signIn()
	if code, body := solo.get("/api/overview"); code != 200 || strings.Contains(body, `"instances"`) || strings.Contains(body, `"store_up"`) {
		t.Fatalf("overview without a team: %d %s", code, body)
	}
}
