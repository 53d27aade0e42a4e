package accounts

import (
	"context"
	"testing"
	"time"

	"github.com/kirobar/kirobar/internal/testkit/kirofake"
	"github.com/kirobar/kirobar/kiro"
)

func TestRecoverRefreshesAfterBearerInvalid(t *testing.T) {
	e := newEnv(t, kirofake.Options{}, false)
	m := e.manager(testConfig(), 0)
	a := e.add(m, "a", time.Hour)
	l := acquire(t, m, AcquireRequest{})
	e.fake.InvalidateAccessTokens("a")
	err := e.send(l)
	if ke, ok := kiro.AsError(err); !ok || ke.Class != kiro.ClassAuth {
		t.Fatalf("send with invalidated token: %v", err)
	}
	m.Release(l, Outcome{Err: err})
	ke, _ := kiro.AsError(err)
	for range 3 { // a burst of 403s with the same token costs one refresh
		if err := m.Recover(context.Background(), l, ke); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.fake.Stats().Refreshes["a"]; n != 1 {
		t.Fatalf("refreshes %d, want 1", n)
	}
	l = acquire(t, m, AcquireRequest{AccountID: a.ID})
	if err := e.send(l); err != nil {
		t.Fatalf("retry after forced refresh: %v", err)
	}
	m.Release(l, Outcome{})
}
