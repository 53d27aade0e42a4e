package accounts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// A conversation stays on one account (sticky sessions). Behind a team's
// load balancer its requests reach different instances, so the binding
// is shared: an instance that has not seen a conversation asks the
// database which account the team bound it to, and every binding it
// makes or renews is written behind, off the request path (a new or
// moved one at once). The last writer wins: two first requests of one
// conversation reaching two instances within the same few milliseconds
// may still be bound apart.

// sessionBinding is one conversation's account. Session is the SHA-256
// of kirobar's session key, which is built from client data.
type sessionBinding struct {
	Session   string    `gorm:"primaryKey;size:64"`
	AccountID string    `gorm:"size:16;not null"`
	SeenAt    time.Time `gorm:"index;not null"`
}

func (sessionBinding) TableName() string { return "session_bindings" }

// Binding sharing timing.
const (
	// bindingLookup bounds the one database read a conversation new to
	// this instance costs; past it the request is served unbound.
	bindingLookup = 250 * time.Millisecond
	// bindingFlush is how often bindings are written behind.
	bindingFlush = 200 * time.Millisecond
	// bindingQueue bounds bindings waiting to be written; past it a
	// renewal is skipped (the next one writes it).
	bindingQueue = 4096
)

// createSessionBindings is schema step 4: the table exists on PostgreSQL
// only, where instances share conversations.
func createSessionBindings(tx *gorm.DB) error {
	if tx.Dialector.Name() != "postgres" {
		return nil
	}
	return tx.AutoMigrate(&sessionBinding{})
}

func sessionHash(session string) string {
	h := sha256.Sum256([]byte(session))
	return hex.EncodeToString(h[:])
}

// adoptBinding makes a conversation this instance has not bound follow
// the team's binding, if there is a fresh one.
func (m *Manager) adoptBinding(ctx context.Context, session string) {
	if m.team == nil || session == "" || !m.cfg.StickySessions {
		return
	}
	now := m.now()
	m.mu.Lock()
	_, known := m.sessions[session]
	m.mu.Unlock()
	if known {
		return
	}
	lctx, cancel := context.WithTimeout(ctx, bindingLookup)
	defer cancel()
	var b sessionBinding
	q := m.db.WithContext(lctx).Where("session = ?", sessionHash(session))
	if ttl := m.cfg.StickyTTL.D(); ttl > 0 {
		q = q.Where("seen_at > ?", now.Add(-ttl).UTC())
	}
	err := q.Take(&b).Error
	if err != nil {
		if !errors.Is(err, gorm.ErrRecordNotFound) && ctx.Err() == nil {
			m.log.Debug("accounts: look up a conversation's account", "err", err)
		}
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.accounts[b.AccountID]; !ok {
		return
	}
	if _, ok := m.sessions[session]; !ok {
		m.sessions[session] = binding{id: b.AccountID, seen: now}
		m.team.pushed[session] = pushedBinding{id: b.AccountID, at: now}
	}
}

// pushedBinding is what this instance last wrote for a conversation.
type pushedBinding struct {
	id string
	at time.Time
}

// shareBindingLocked queues a binding made or renewed by pick for the
// database when it is new, moved, or last written a while ago. The
// caller holds m.mu.
func (m *Manager) shareBindingLocked(session, id string, now time.Time) {
	if m.team == nil {
		return
	}
	renew := m.cfg.StickyTTL.D() / 8
	if renew <= 0 {
		renew = 15 * time.Minute // bindings never expire; renew now and then anyway
	}
	p, ok := m.team.pushed[session]
	if ok && p.id == id && now.Sub(p.at) < renew {
		return
	}
	select {
	case m.team.bindings <- sessionBinding{Session: sessionHash(session), AccountID: id, SeenAt: now.UTC()}:
		m.team.pushed[session] = pushedBinding{id: id, at: now}
	default:
		return
	}
	if !ok || p.id != id {
		// A new or moved binding is written at once: until it is, another
		// instance reached by the same conversation may bind it elsewhere.
		select {
		case m.team.flushBindings <- struct{}{}:
		default:
		}
	}
}

// writeBindings writes queued bindings behind until ctx ends, and forgets
// the team's expired ones now and then.
func (m *Manager) writeBindings(ctx context.Context) {
	if m.team == nil {
		return
	}
	t := time.NewTicker(bindingFlush)
	defer t.Stop()
	lastSweep := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-m.team.flushBindings:
		}
		batch := map[string]sessionBinding{}
	drain:
		for len(batch) < 512 {
			select {
			case b := <-m.team.bindings:
				batch[b.Session] = b
			default:
				break drain
			}
		}
		m.forgetPushed()
		if len(batch) > 0 {
			rows := make([]sessionBinding, 0, len(batch))
			for _, b := range batch {
				rows = append(rows, b)
			}
			err := m.db.WithContext(ctx).Clauses(clause.OnConflict{
				Columns:   []clause.Column{{Name: "session"}},
				DoUpdates: clause.AssignmentColumns([]string{"account_id", "seen_at"}),
			}).Create(&rows).Error
			if err != nil && ctx.Err() == nil {
				m.log.Debug("accounts: share conversations' accounts", "err", err)
			}
		}
		if ttl := m.cfg.StickyTTL.D(); ttl > 0 && time.Since(lastSweep) > ttl/4 {
			lastSweep = time.Now()
			if err := m.db.WithContext(ctx).Where("seen_at < ?", m.now().Add(-ttl).UTC()).Delete(&sessionBinding{}).Error; err != nil && ctx.Err() == nil {
				m.log.Debug("accounts: forget expired conversations", "err", err)
			}
		}
	}
}

// forgetPushed drops what this instance wrote for conversations it
// no longer holds.
func (m *Manager) forgetPushed() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for s := range m.team.pushed {
		if _, ok := m.sessions[s]; !ok {
			delete(m.team.pushed, s)
		}
	}
}
