package pglock

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/kirobar/kirobar/internal/testkit/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// open gives each caller its own pool, as separate instances have.
func open(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// TestExclusive: instances contending for one key hold it one at a
// time; another key is not blocked.
func TestExclusive(t *testing.T) {
	url := pgtest.DB(t)
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for i := range 6 {
		db := open(t, url)
		wg.Go(func() {
			for range 5 {
				h, err := Lock(context.Background(), db, "refresh:acct1", Options{Wait: 20 * time.Second})
				if err != nil {
					t.Errorf("instance %d: %v", i, err)
					return
				}
				n := inside.Add(1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(2 * time.Millisecond)
				inside.Add(-1)
				if err := h.Release(); err != nil {
					t.Errorf("release: %v", err)
				}
			}
		})
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Fatalf("%d holders at once", most.Load())
	}

	a, b := open(t, url), open(t, url)
	h, err := Lock(context.Background(), a, "refresh:acct1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release()
	other, err := Lock(context.Background(), b, "refresh:acct2", Options{Wait: time.Second})
	if err != nil {
		t.Fatalf("another key was blocked: %v", err)
	}
	if err := other.Release(); err != nil {
		t.Fatal(err)
	}
}

// TestBusy: a waiter gives up after Wait with ErrBusy.
func TestBusy(t *testing.T) {
	url := pgtest.DB(t)
	h, err := Lock(context.Background(), open(t, url), "k", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release()
	start := time.Now()
	_, err = Lock(context.Background(), open(t, url), "k", Options{Wait: 200 * time.Millisecond})
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("err = %v, want ErrBusy", err)
	}
	if waited := time.Since(start); waited < 150*time.Millisecond {
		t.Fatalf("gave up after %s", waited)
	}
}

// TestLeaseFreesSilentHolder: a holder that goes silent (frozen, cut off)
// loses the lock when its lease runs out, and learns so on Release.
func TestLeaseFreesSilentHolder(t *testing.T) {
	url := pgtest.DB(t)
	h, err := Lock(context.Background(), open(t, url), "k", Options{Lease: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	h2, err := Lock(context.Background(), open(t, url), "k", Options{Wait: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("the lease freed the lock only after %s", waited)
	}
	if err := h.Release(); err == nil {
		t.Fatal("a holder whose lease ran out released without error")
	}
	if err := h2.Release(); err != nil {
		t.Fatal(err)
	}
}

// TestDeadHolderFreesAtOnce: when the holder's session dies (its process
// was killed: the socket closes), the lock is free at once.
func TestDeadHolderFreesAtOnce(t *testing.T) {
	url := pgtest.DB(t)
	holder := open(t, url)
	h, err := Lock(context.Background(), holder, "k", Options{Lease: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if err := h.tx.QueryRow("SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	admin := open(t, url)
	if _, err := admin.Exec("SELECT pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	h2, err := Lock(context.Background(), open(t, url), "k", Options{Wait: 5 * time.Second})
	if err != nil {
		t.Fatalf("the dead holder's lock was not freed: %v", err)
	}
	if err := h2.Release(); err != nil {
		t.Fatal(err)
	}
}
