package accounts

import (
	"testing"
	"time"

	"github.com/kirobar/kirobar/internal/testkit/kirofake"
)

func TestSubscribeCoalescesChanges(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, false)
	m := e.manager(testConfig(), 0)
	ch, unsub := m.Subscribe()
	v := e.add(m, "a", time.Hour)
	for range 5 {
		if err := m.SetEnabled(v.ID, false); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-ch:
	default:
		t.Fatal("no change notification")
	}
	select {
	case <-ch:
		t.Fatal("changes were not coalesced")
	default:
	}
	unsub()
	unsub()
	if err := m.SetEnabled(v.ID, true); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
		t.Fatal("notified after unsubscribing")
	default:
	}
	if ready, total := m.Ready(); ready != 1 || total != 1 {
		t.Fatalf("Ready() = %d, %d", ready, total)
	}
	if err := m.SetProxy(v.ID, "ftp://x"); err == nil {
		t.Fatal("ftp proxy accepted")
	}
}
