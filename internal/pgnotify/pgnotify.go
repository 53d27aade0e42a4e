// Package pgnotify carries PostgreSQL's LISTEN/NOTIFY for a team of
// kirobar instances: a change one instance commits wakes the others at
// once, instead of waiting for their next periodic reconcile.
//
// Notifications are a hint, not a log: PostgreSQL drops them for a
// listener that is not connected. So after every (re)connect the listener
// hands the caller a Resync event, and the caller reconciles everything
// (the same reconcile that also runs periodically as the safety net).
package pgnotify

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
)

// MaxPayload is the longest payload PostgreSQL delivers (8000 bytes in
// the default build); keep payloads to ids.
const MaxPayload = 7999

// Notify queues a notification on channel; inside a transaction it is
// delivered when the transaction commits, so listeners that react by
// reading see the change.
func Notify(tx *gorm.DB, channel, payload string) error {
	if len(payload) > MaxPayload {
		return fmt.Errorf("notify %s: payload of %d bytes is too long", channel, len(payload))
	}
	if err := tx.Exec("SELECT pg_notify(?, ?)", channel, payload).Error; err != nil {
		return fmt.Errorf("notify %s: %w", channel, err)
	}
	return nil
}

// Event is one notification, or a Resync after a (re)connect.
type Event struct {
	Channel string
	Payload string
	// Resync asks the caller to reconcile everything: notifications sent
	// while the listener was not connected are lost.
	Resync bool
}

// Listener keeps one connection LISTENing on its channels, reconnecting
// with backoff when the database goes away.
type Listener struct {
	// URL is the database's connection URL.
	URL string
	// Channels are LISTENed to on every connection.
	Channels []string
	// Log receives connection losses and recoveries; nil discards them.
	Log *slog.Logger
	// Ping is how often a quiet connection is checked, so a database
	// that vanished without closing the socket is noticed; 0 means 5 s.
	Ping time.Duration
	// MaxBackoff caps the wait between reconnects; 0 means 5 s.
	MaxBackoff time.Duration
}

// Run delivers events to handle until ctx ends; handle runs on Run's
// goroutine, one event at a time. It returns nil when ctx ends.
func (l *Listener) Run(ctx context.Context, handle func(Event)) error {
	log := l.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ping := l.Ping
	if ping <= 0 {
		ping = 5 * time.Second
	}
	maxBackoff := l.MaxBackoff
	if maxBackoff <= 0 {
		maxBackoff = 5 * time.Second
	}
	backoff := 100 * time.Millisecond
	lost := false
	for {
		err := l.session(ctx, ping, handle, func() {
			backoff = 100 * time.Millisecond
			if lost {
				log.Info("pgnotify: listening again")
				lost = false
			}
		})
		if ctx.Err() != nil {
			return nil
		}
		if !lost {
			log.Warn("pgnotify: lost the LISTEN connection; the periodic reconcile carries changes until it is back", "err", err)
			lost = true
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// session connects, listens and delivers until the connection fails.
func (l *Listener) session(ctx context.Context, ping time.Duration, handle func(Event), up func()) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.Connect(cctx, l.URL)
	cancel()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(cctx) // the session ended anyway; nothing to keep
	}()
	for _, ch := range l.Channels {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			return fmt.Errorf("listen %s: %w", ch, err)
		}
	}
	up()
	handle(Event{Resync: true})
	for {
		wctx, cancel := context.WithTimeout(ctx, ping)
		n, err := conn.WaitForNotification(wctx)
		quiet := wctx.Err() != nil
		cancel()
		switch {
		case err == nil:
			handle(Event{Channel: n.Channel, Payload: n.Payload})
			continue
		case ctx.Err() != nil:
			return ctx.Err()
		case !quiet || conn.IsClosed():
			return fmt.Errorf("wait: %w", err)
		}
		// Nothing arrived for a while: make sure the server is still there.
		pctx, cancel := context.WithTimeout(ctx, ping)
		err = conn.Ping(pctx)
		cancel()
		if err != nil {
			return fmt.Errorf("ping: %w", err)
		}
	}
}
