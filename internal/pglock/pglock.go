// Package pglock is a lock with a lease, held in PostgreSQL, for the one
// job a team of kirobar instances must never do twice at once: refreshing
// an account's token (refresh tokens can rotate, and two refreshes with
// the same one leave one instance holding a dead token).
//
// The lock is a transaction-scoped advisory lock. Its holder's
// transaction sets idle_in_transaction_session_timeout to the lease, so
// PostgreSQL ends the session — and with it the lock — when the holder
// goes silent for longer than the lease (a frozen process, a lost
// network); a holder that dies outright closes its socket and the lock is
// free at once. Waiters queue in PostgreSQL, bounded by Wait.
package pglock

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrBusy means the lock stayed taken for all of Options.Wait.
var ErrBusy = errors.New("lock held by another instance")

// Options bound the wait for the lock and the holder's silence.
type Options struct {
	// Wait is the longest wait for the lock; 0 means one minute.
	Wait time.Duration
	// Lease is how long the holder may stay silent before PostgreSQL
	// frees the lock; 0 means one minute. It must cover the work done
	// under the lock.
	Lease time.Duration
}

// Held is a taken lock.
type Held struct {
	tx *sql.Tx
}

// Lock takes the lock named key, waiting up to o.Wait.
func Lock(ctx context.Context, db *sql.DB, key string, o Options) (*Held, error) {
	if o.Wait <= 0 {
		o.Wait = time.Minute
	}
	if o.Lease <= 0 {
		o.Lease = time.Minute
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("lock %s: begin: %w", key, err)
	}
	ms := func(d time.Duration) string { return strconv.FormatInt(max(d.Milliseconds(), 1), 10) }
	_, err = tx.ExecContext(ctx, `SELECT set_config('lock_timeout', $1, true), set_config('idle_in_transaction_session_timeout', $2, true)`, ms(o.Wait), ms(o.Lease))
	if err == nil {
		_, err = tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, key)
	}
	if err != nil {
		_ = tx.Rollback() // nothing was done under the lock
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "55P03" { // lock_not_available
			return nil, fmt.Errorf("lock %s: %w", key, ErrBusy)
		}
		return nil, fmt.Errorf("lock %s: %w", key, err)
	}
	return &Held{tx: tx}, nil
}

// Release frees the lock. An error means the lease ran out first (the
// session was ended) or the connection broke: then another instance may
// have taken the lock meanwhile.
func (h *Held) Release() error {
	if err := h.tx.Commit(); err != nil {
		return fmt.Errorf("release lock: %w", err)
	}
	return nil
}
