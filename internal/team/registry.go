// Package team keeps the registry of kirobar instances that share one
// store: each serving instance has a row in the instances table that it
// renews every heartbeat, so every instance (and its dashboard) knows
// which of the team are alive, and an instance that was killed drops out
// once its lease runs out. With SQLite the registry holds the one
// instance there is.
package team

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/kirobar/kirobar/internal/migrate"
)

// Defaults for the heartbeat: an instance is alive while its last beat is
// younger than the lease, three beats.
const (
	DefaultHeartbeat = 2 * time.Second
	DefaultLease     = 3 * DefaultHeartbeat
	// forgetAfter is how long a gone instance stays listed.
	forgetAfter = 24 * time.Hour
)

// Instance is one kirobar process serving from the store.
type Instance struct {
	ID        string    `gorm:"primaryKey;size:32" json:"id"`
	Name      string    `gorm:"not null" json:"name"`
	Host      string    `json:"host"`
	Listen    string    `json:"listen"`
	Version   string    `json:"version"`
	PID       int       `json:"pid"`
	StartedAt time.Time `gorm:"not null" json:"started_at"`
	SeenAt    time.Time `gorm:"index;not null" json:"seen_at"`
	// StoppedAt is set by a clean stop; a killed instance only stops
	// renewing SeenAt.
	StoppedAt time.Time `json:"stopped_at,omitzero"`
}

// TableName keeps the table name stable whatever GORM's naming does.
func (Instance) TableName() string { return "instances" }

// schemaSteps are the instances table's versioned migrations.
var schemaSteps = []migrate.Step{
	{Version: 1, Name: "instances table", Up: func(tx *gorm.DB) error { return tx.AutoMigrate(&instanceV1{}) }},
}

// instanceV1 is the instances table of schema version 1.
type instanceV1 struct {
	ID        string `gorm:"primaryKey;size:32"`
	Name      string `gorm:"not null"`
	Host      string
	Listen    string
	Version   string
	PID       int
	StartedAt time.Time `gorm:"not null"`
	SeenAt    time.Time `gorm:"index;not null"`
	StoppedAt time.Time
}

func (instanceV1) TableName() string { return "instances" }

// Self describes the instance that registers.
type Self struct {
	// Name is shown on dashboards, in flows and in /metrics; empty means
	// the host name and the listen port.
	Name    string
	Listen  string
	Version string
}

// Options are the registry's timing and collaborators; zero values are
// the defaults.
type Options struct {
	Heartbeat time.Duration
	Lease     time.Duration
	Now       func() time.Time
	Log       *slog.Logger
}

// Registry is this instance's entry in the store and its view of the
// others. Its methods are safe for concurrent use.
type Registry struct {
	db    *gorm.DB
	self  Instance
	every time.Duration
	lease time.Duration
	now   func() time.Time
	log   *slog.Logger

	mu     sync.Mutex
	up     bool      // the last heartbeat reached the store
	downAt time.Time // when the store was first missed
	peers  []Instance
}

// New migrates the instances table and registers this instance.
func New(ctx context.Context, gdb *gorm.DB, s Self, o Options) (*Registry, error) {
	if _, err := migrate.Run(ctx, gdb, "instances", schemaSteps); err != nil {
		return nil, err
	}
	r := &Registry{db: gdb, every: o.Heartbeat, lease: o.Lease, now: o.Now, log: o.Log}
	if r.every <= 0 {
		r.every = DefaultHeartbeat
	}
	if r.lease <= 0 {
		r.lease = 3 * r.every
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	now := r.now().UTC()
	r.self = Instance{ID: id, Name: s.Name, Host: host, Listen: s.Listen, Version: s.Version, PID: os.Getpid(), StartedAt: now, SeenAt: now}
	if r.self.Name == "" {
		r.self.Name = DefaultName(host, s.Listen)
	}
	if err := gdb.WithContext(ctx).Create(&r.self).Error; err != nil {
		return nil, fmt.Errorf("register instance: %w", err)
	}
	r.up = true
	if err := r.refreshPeers(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// DefaultName is "host:port" of the listen address.
func DefaultName(host, listen string) string {
	port := listen
	for i := len(listen) - 1; i >= 0; i-- {
		if listen[i] == ':' {
			port = listen[i+1:]
			break
		}
	}
	if host == "" {
		host = "kirobar"
	}
	return host + ":" + port
}

func newID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("instance id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// Self returns this instance's entry.
func (r *Registry) Self() Instance { return r.self }

// Run renews this instance's lease every heartbeat until ctx ends, then
// marks it stopped. A heartbeat that cannot reach the store is logged
// once; the next one that can ends the degraded mode.
func (r *Registry) Run(ctx context.Context) error {
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
			defer cancel()
			now := r.now().UTC()
			err := r.db.WithContext(sctx).Model(&Instance{}).Where("id = ?", r.self.ID).
				Updates(map[string]any{"seen_at": now, "stopped_at": now}).Error
			if err != nil {
				return fmt.Errorf("unregister instance: %w", err)
			}
			return nil
		case <-t.C:
			r.beat(ctx)
		}
	}
}

// beat renews the lease and reloads the list of peers.
func (r *Registry) beat(ctx context.Context) {
	bctx, cancel := context.WithTimeout(ctx, r.every)
	defer cancel()
	now := r.now().UTC()
	res := r.db.WithContext(bctx).Model(&Instance{}).Where("id = ?", r.self.ID).Update("seen_at", now)
	err := res.Error
	if err == nil && res.RowsAffected == 0 {
		// Someone deleted the row (an operator cleaning up, or a restore
		// from backup): register again.
		self := r.self
		self.SeenAt = now
		err = r.db.WithContext(bctx).Create(&self).Error
	}
	if err == nil {
		err = r.refreshPeers(bctx)
		if err == nil {
			if derr := r.db.WithContext(bctx).Where("seen_at < ?", now.Add(-forgetAfter)).Delete(&Instance{}).Error; derr != nil {
				r.log.Warn("forget instances gone for a day", "err", derr)
			}
		}
	}
	r.mu.Lock()
	wasUp := r.up
	r.up = err == nil
	if err != nil && wasUp {
		r.downAt = now
	}
	downAt := r.downAt
	r.mu.Unlock()
	switch {
	case err != nil && wasUp && ctx.Err() == nil:
		r.log.Error("store unreachable: serving from the last known state and retrying writes", "err", err)
	case err == nil && !wasUp:
		r.log.Info("store reachable again", "down_for", now.Sub(downAt).Round(time.Second))
	}
}

func (r *Registry) refreshPeers(ctx context.Context) error {
	var rows []Instance
	if err := r.db.WithContext(ctx).Order("name, started_at").Find(&rows).Error; err != nil {
		return fmt.Errorf("list instances: %w", err)
	}
	r.mu.Lock()
	r.peers = rows
	r.mu.Unlock()
	return nil
}

// StoreUp reports whether the last heartbeat reached the store.
func (r *Registry) StoreUp() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.up
}

// Peer is an instance as the dashboard shows it.
type Peer struct {
	Instance
	Alive bool `json:"alive"`
	Self  bool `json:"self"`
}

// Peers lists the instances seen in the last day, alive ones first, from
// the last heartbeat's read: it never waits for the store.
func (r *Registry) Peers() []Peer {
	now := r.now()
	r.mu.Lock()
	rows := r.peers
	r.mu.Unlock()
	out := make([]Peer, 0, len(rows))
	for _, in := range rows {
		p := Peer{Instance: in, Self: in.ID == r.self.ID}
		p.Alive = p.Self || (in.StoppedAt.IsZero() && now.Sub(in.SeenAt) < r.lease)
		out = append(out, p)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Alive && !out[j].Alive })
	return out
}

// Alive counts the instances alive now, this one included.
func (r *Registry) Alive() int {
	n := 0
	for _, p := range r.Peers() {
		if p.Alive {
			n++
		}
	}
	return n
}
