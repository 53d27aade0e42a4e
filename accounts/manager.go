package accounts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"gorm.io/gorm"

	"github.com/kirobar/kirobar/internal/db"
	"github.com/kirobar/kirobar/internal/migrate"
	"github.com/kirobar/kirobar/kiro"
)

// DefaultReloadInterval is how often a running Manager looks for changes
// made by the CLI (another process writing the same database).
const DefaultReloadInterval = 2 * time.Second

// Options are the Manager's collaborators that are not configuration.
type Options struct {
	// Log receives operational messages; nil discards them. No token ever
	// reaches it.
	Log *slog.Logger
	// Now is the clock; nil means time.Now. Tests inject a fake one.
	Now func() time.Time
	// Home is kirobar's home directory (KIROBAR_HOME). The accounts live
	// in the database, so the package keeps nothing there; relative
	// import paths are resolved against the working directory, not Home.
	Home string
	// UserHome is the user's home directory, where the Kiro IDE keeps its
	// login (~/.aws/sso/cache); empty means os.UserHomeDir.
	UserHome string
	// ReloadInterval is how often Run picks up database changes made by
	// other processes; 0 means DefaultReloadInterval.
	ReloadInterval time.Duration
	// Sleep waits between device-login polls; nil waits on a real timer.
	// Tests inject one that returns at once.
	Sleep func(ctx context.Context, d time.Duration) error
	// OpenURL opens a sign-in page for `kirobar accounts login`; nil opens
	// the user's browser (browser.OpenURL).
	OpenURL func(url string) error
	// LoginTimeout bounds a sign-in waiting for the user; 0 means
	// DefaultLoginTimeout.
	LoginTimeout time.Duration
	// Metrics receives refresh results and queue waits for /metrics; nil
	// reports nowhere.
	Metrics Metrics
	// StoreURL is the shared PostgreSQL database's URL, for the
	// notifications that carry other instances' changes at once; empty
	// leaves it to the periodic reload. It is unused with SQLite.
	StoreURL string
	// CallbackPorts are the ports a Google or GitHub sign-in may receive
	// its callback on, in order; nil means signin.CallbackPorts, the ones
	// the Kiro auth portal accepts.
	CallbackPorts []int
}

// Metrics is what the pool reports for /metrics.
type Metrics interface {
	// Refreshed counts one refresh by result: RefreshOK, RefreshAdopted,
	// RefreshFailed or RefreshInvalidGrant.
	Refreshed(result string)
	// QueueWait is how long one Acquire waited for an account.
	QueueWait(d time.Duration)
}

// Refresh results reported to Metrics.
const (
	RefreshOK           = "ok"
	RefreshAdopted      = "adopted"
	RefreshFailed       = "failed"
	RefreshInvalidGrant = "invalid_grant"
)

type noMetrics struct{}

func (noMetrics) Refreshed(string)        {}
func (noMetrics) QueueWait(time.Duration) {}

// ErrNoAccounts is returned by Acquire when the pool has no account at all.
// Its text is what an API client shows the user, so it names the commands
// that add an account.
var ErrNoAccounts = errors.New(NoAccountsHint)

// NoAccountsHint says exactly how to add the first account: sign in from
// kirobar, import the Kiro IDE's login, or paste a refresh token. The tray
// has the same choices under "Add account…".
const NoAccountsHint = "kirobar has no Kiro account yet: sign in with `kirobar accounts login --builder-id` " +
	"(or --google, --github, --idc --start-url URL), import the Kiro IDE's login with `kirobar accounts import`, " +
	"or use \"Add account…\" in the tray menu"

// ErrNotFound is returned for an account id that does not exist.
var ErrNotFound = errors.New("account not found")

// Manager owns the account pool. All methods are safe for concurrent use.
// No lock is held across a network call or a database write that a request
// waits for, except the per-account single-flight refresh.
type Manager struct {
	db          *gorm.DB
	kc          *kiro.Client
	cfg         Config
	log         *slog.Logger
	now         func() time.Time
	home        string // the user's home directory
	reloadEvery time.Duration
	login       loginOptions
	metrics     Metrics

	// writeMu serialises this Manager's database writes with its reloads,
	// so a reload never sees a half-applied change of its own. It also
	// guards unsaved.
	writeMu sync.Mutex
	// unsaved are account changes a team instance kept in memory while
	// the shared database could not be reached (see team.go).
	unsaved map[string]map[string]any
	// team is this Manager's part in a team gateway; nil with SQLite.
	team *teamState

	mu       sync.Mutex
	accounts map[string]*entry
	sessions map[string]binding
	rrNext   int
	queue    waitQueue // Acquire calls waiting for capacity (wait.go)
	subs     map[int]chan struct{}
	nextSub  int
	sched    schedule
	wake     chan struct{}
	// changes counts stored changes (writes, reloads, removals); the
	// served-model cache is valid for one value of it.
	changes   uint64
	served    []ServedModel
	servedIDs []string
	servedRev uint64

	paceMu    sync.Mutex
	lastPaced time.Time
}

// entry is one account in memory: the stored row plus what only a running
// process knows (leases in flight, failure streaks, a refresh under way).
type entry struct {
	acc      Account
	knownRev int64

	inflight    int
	lastStart   time.Time     // injectable clock: recency for scoring
	pace        *rate.Limiter // real clock: request pacing (wait.go)
	lastRefresh time.Time
	// refreshedToken is the access token the last refresh brought: Kiro
	// refusing it means a refresh does not help.
	refreshedToken string
	throttleStreak int
	breakerFails   int
	authFails      int
	errRate        float64 // exponentially weighted failure rate, 0..1
	refresh        *flight
	refreshFails   int
	refreshRetryAt time.Time
	badModels      map[string]time.Time // model → blocked until
	suspectModels  map[string]time.Time // model → first refusal, not blocked yet
	needUsage      bool
	// metered is what Kiro metered on the account since its usage was
	// last read, for resting an account at its limit between checks when
	// use_overage is off.
	metered float64

	pending usage
}

// usage is request accounting not yet written to the database; it is
// flushed on every reload tick so the hot path never waits for SQLite.
type usage struct {
	requests, errors, inTokens, outTokens int64
	credits                               float64
	lastUsed                              time.Time
}

func (u usage) empty() bool { return u.requests == 0 && u.errors == 0 && u.credits == 0 }

// binding remembers which account serves a conversation.
type binding struct {
	id   string
	seen time.Time
}

// NewManager migrates the accounts table and loads every account.
func NewManager(gdb *gorm.DB, kc *kiro.Client, cfg Config, opts Options) (*Manager, error) {
	if gdb == nil {
		return nil, errors.New("accounts: nil database")
	}
	if kc == nil {
		return nil, errors.New("accounts: nil kiro client")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	applied, err := migrate.Run(context.Background(), gdb, "accounts", schemaSteps)
	if err != nil {
		return nil, err
	}
	m := &Manager{
		db:          gdb,
		kc:          kc,
		cfg:         cfg,
		log:         opts.Log,
		now:         opts.Now,
		home:        opts.UserHome,
		reloadEvery: opts.ReloadInterval,
		login:       newLoginOptions(opts),
		metrics:     opts.Metrics,
		accounts:    map[string]*entry{},
		sessions:    map[string]binding{},
		subs:        map[int]chan struct{}{},
		wake:        make(chan struct{}, 1),
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	for _, step := range applied {
		m.log.Info("accounts: applied schema migration", "step", step)
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.metrics == nil {
		m.metrics = noMetrics{}
	}
	if db.IsPostgres(gdb) {
		m.team = newTeamState(opts.StoreURL)
	}
	if m.reloadEvery <= 0 {
		m.reloadEvery = DefaultReloadInterval
	}
	if m.home == "" {
		if h, err := os.UserHomeDir(); err == nil {
			m.home = h
		}
	}
	if _, err := m.reload(context.Background()); err != nil {
		return nil, err
	}
	return m, nil
}

// lead is the configured refresh lead as a time.Duration.
func (m *Manager) lead() time.Duration { return m.cfg.RefreshLead.D() }

// Subscribe returns a channel that receives a value after accounts change.
// Changes coalesce: a slow reader sees one signal for many changes. Call
// the returned function to unsubscribe.
func (m *Manager) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	m.mu.Lock()
	id := m.nextSub
	m.nextSub++
	m.subs[id] = ch
	m.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			m.mu.Lock()
			delete(m.subs, id)
			m.mu.Unlock()
		})
	}
}

// notify signals every subscriber without blocking.
func (m *Manager) notify() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ch := range m.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// kick wakes the scheduler.
func (m *Manager) kick() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Ready returns how many accounts can serve a request now and how many
// accounts exist.
func (m *Manager) Ready() (ready, total int) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.accounts {
		total++
		if selectable(effective(&e.acc, now, m.lead())) {
			ready++
		}
	}
	return ready, total
}

// ExpiringCount returns how many enabled accounts have a token that expires
// within the refresh lead (or has expired) and could be refreshed.
func (m *Manager) ExpiringCount() int {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, e := range m.accounts {
		if effective(&e.acc, now, m.lead()) == StatusExpiring {
			n++
		}
	}
	return n
}

// ids returns account ids in a stable order: oldest first.
func (m *Manager) sortedLocked() []*entry {
	out := make([]*entry, 0, len(m.accounts))
	for _, e := range m.accounts {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := &out[i].acc, &out[j].acc
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.ID < b.ID
	})
	return out
}

// SetEnabled turns an account on or off. Turning it on also clears what
// kept it out (a suspension, a quota quarantine, a needed login, a
// cooldown), because the user is saying "try it again".
func (m *Manager) SetEnabled(id string, on bool) error {
	return m.update(context.Background(), id, func(a *Account) map[string]any {
		a.Enabled = on
		cols := map[string]any{"enabled": on}
		if on {
			a.Status, a.CooldownUntil, a.LastError = StatusReady, time.Time{}, ""
			cols["status"], cols["cooldown_until"], cols["last_error"] = a.Status, a.CooldownUntil, ""
		}
		return cols
	})
}

// SetProxy sets the account's outbound proxy (HTTP or SOCKS5 URL); empty
// falls back to the global [kiro] proxy.
func (m *Manager) SetProxy(id, proxyURL string) error {
	if err := validateProxy(proxyURL); err != nil {
		return err
	}
	return m.update(context.Background(), id, func(a *Account) map[string]any {
		a.Proxy = proxyURL
		return map[string]any{"proxy": proxyURL}
	})
}

// Remove deletes an account. A linked token file is left alone.
func (m *Manager) Remove(id string) error {
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	res := m.db.Where("id = ?", id).Delete(&Account{})
	if res.Error != nil {
		return fmt.Errorf("remove account %s: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("remove account %s: %w", id, ErrNotFound)
	}
	m.mu.Lock()
	delete(m.accounts, id)
	m.changes++
	for k, b := range m.sessions {
		if b.id == id {
			delete(m.sessions, k)
		}
	}
	m.mu.Unlock()
	m.notify()
	return nil
}

// Resolve turns a user-typed id or unique id prefix (or exact label) into
// an account id.
func (m *Manager) Resolve(ref string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.accounts[ref]; ok {
		return ref, nil
	}
	var hits []string
	for id, e := range m.accounts {
		if (len(ref) >= 2 && len(id) >= len(ref) && id[:len(ref)] == ref) || (ref != "" && e.acc.Label == ref) {
			hits = append(hits, id)
		}
	}
	switch len(hits) {
	case 1:
		return hits[0], nil
	case 0:
		return "", fmt.Errorf("account %q: %w (see `kirobar accounts list`)", ref, ErrNotFound)
	default:
		sort.Strings(hits)
		return "", fmt.Errorf("account %q is ambiguous: matches %v", ref, hits)
	}
}
