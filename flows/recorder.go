package flows

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

const (
	// batchMax bounds the flows written in one transaction.
	batchMax = 256
	// rowQueueFactor sizes the queue of index rows whose details were
	// dropped: rows are small, so it holds more than the main queue.
	rowQueueFactor = 4
	// sweepEvery is how often retention runs; a rotation also triggers it.
	sweepEvery = time.Hour
	// writeTimeout bounds one batch's database transaction.
	writeTimeout = 30 * time.Second
	// queueMaxBytes bounds the detail bytes (bodies, events, capture)
	// waiting for the writer. Counting flows alone let 1,024 queued
	// Claude Code turns hold over 100 MB; past this a flow keeps its index
	// row and loses its details, as when the queue is full.
	queueMaxBytes = 16 << 20
	// capSlack is kept beyond max_body_kb when Record cuts a body, so
	// the writer still sees a secret or token that straddles the cap
	// whole and redacts it before cutting at the cap.
	capSlack = 16 << 10
	// lingerMax is how long the writer waits for more flows when a batch
	// is small: a transaction of one row costs several times that row's
	// share of a larger one, and sequential requests came one at a time.
	lingerMax = 20 * time.Millisecond
	// lingerBatch is the batch size below which the writer lingers.
	lingerBatch = 32
)

// item is one queued flow; noDetails marks a flow whose details were
// dropped because the main queue was full; size is the detail bytes it
// counts against queueMaxBytes.
type item struct {
	f         *Flow
	noDetails bool
	size      int64
}

// options are the knobs tests turn: the clock, the rotation size in bytes
// and the sweep interval.
type options struct {
	now          func() time.Time
	fileMaxBytes int64
	sweepEvery   time.Duration
	linger       time.Duration // < 0: none
	instance     string        // see Instance
	// maxTotalBytes, when set, replaces max_total_mb so a test can cap
	// the total at less than a megabyte.
	maxTotalBytes int64
	// hook, when set, is called at named points of a write or sweep
	// ("pieces": inside a batch's transaction once its pieces are
	// written; "sweep": inside a retention transaction once its rows and
	// pieces are deleted; "swept": after that transaction, before the
	// files are removed), so crash tests can kill the process there.
	hook func(point string)
}

// Recorder writes flows off the request path. Record hands a flow to a
// bounded queue and returns; Run is the writer that redacts, encodes and
// stores them in batches; Close flushes what is queued.
type Recorder struct {
	db         *gorm.DB
	home       string
	cfg        Config
	log        *slog.Logger
	now        func() time.Time
	sweepEvery time.Duration

	queue chan item // flows with their details
	rows  chan item // index rows whose details were dropped

	mu      sync.RWMutex // guards closed and running against Record and Run
	closed  bool
	running bool
	runWG   sync.WaitGroup
	stop    chan struct{}

	redactor atomic.Pointer[redactor]
	// instance names this kirobar among a team's instances sharing the
	// index; empty with a kirobar.db of its own. Its rows are the ones
	// whose detail files are here.
	instance       string
	droppedDetails atomic.Int64
	droppedRows    atomic.Int64
	queuedBytes    atomic.Int64 // detail bytes queued and not yet written
	linger         time.Duration

	writeMu      sync.Mutex  // serialises the writer: batches, sweeps, close
	kept         []keptBatch // batches kept through a shared database's outage (retry.go)
	scratch      scratch     // the writer's buffers, reused from flow to flow
	files        fileWriter
	pieces       pieceStore
	pw           *pieceWriter
	finished     bool
	loggedDrops  [2]int64
	lastRotation string

	subsMu sync.Mutex
	subs   map[chan Row]struct{}

	hook          func(point string) // see options.hook
	maxTotalBytes int64              // the size cap in bytes, 0 for none
}

// RecorderOption adjusts a Recorder.
type RecorderOption func(*options)

// Instance names the kirobar that records, when a team's instances share
// the flow index: its flows carry the name, and only they are checked
// against (and removed with) the detail files in this home.
func Instance(name string) RecorderOption {
	return func(o *options) { o.instance = name }
}

// NewRecorder migrates the flow tables, repairs what a crash left
// half-written under home, and returns a recorder ready for Run.
func NewRecorder(db *gorm.DB, home string, cfg Config, log *slog.Logger, opts ...RecorderOption) (*Recorder, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return newRecorder(db, home, cfg, log, o)
}

func newRecorder(db *gorm.DB, home string, cfg Config, log *slog.Logger, o options) (*Recorder, error) {
	cfg = cfg.normalized()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.fileMaxBytes <= 0 {
		o.fileMaxBytes = int64(cfg.FileMaxMB) << 20
	}
	if o.sweepEvery <= 0 {
		o.sweepEvery = sweepEvery
	}
	if o.linger == 0 {
		o.linger = lingerMax
	}
	if err := Migrate(db); err != nil {
		return nil, err
	}
	var pieces pieceStore = newSQLPieces(db)
	if o.instance != "" {
		pieces = scopedPieces{inner: pieces, instance: o.instance}
	}
	pw, err := newPieceWriter(pieces)
	if err != nil {
		return nil, err
	}
	r := &Recorder{
		db:         db,
		home:       home,
		cfg:        cfg,
		log:        log,
		now:        o.now,
		sweepEvery: o.sweepEvery,
		linger:     max(o.linger, 0),
		queue:      make(chan item, cfg.QueueSize),
		rows:       make(chan item, rowQueueFactor*cfg.QueueSize),
		stop:       make(chan struct{}),
		files:      fileWriter{home: home, maxBytes: o.fileMaxBytes},
		pieces:     pieces,
		pw:         pw,
		subs:       make(map[chan Row]struct{}),
		instance:   o.instance,
		hook:       o.hook,
	}
	r.maxTotalBytes = int64(cfg.MaxTotalMB) << 20
	if o.maxTotalBytes > 0 {
		r.maxTotalBytes = o.maxTotalBytes
	}
	r.redactor.Store(newRedactor(nil))
	if err := r.repair(context.Background()); err != nil {
		return nil, err
	}
	return r, nil
}

// SetSecrets gives the recorder the secret values it must scrub wherever
// they appear (account tokens, client keys, client secrets). Call it again
// whenever they change; values shorter than four bytes are ignored.
func (r *Recorder) SetSecrets(secrets []string) {
	r.redactor.Store(newRedactor(secrets))
}

// Dropped returns how many flows lost their details, and how many were
// not recorded at all, because the queue was full or the recorder closed.
func (r *Recorder) Dropped() (details, rows int64) {
	return r.droppedDetails.Load(), r.droppedRows.Load()
}

// Record queues f for writing and never blocks. The recorder owns f from
// here on. Bodies longer than max_body_kb are cut here (with a little
// slack for redaction), so a queued flow holds no more than the writer
// keeps. When the queue is full, or its details would take the queued
// detail bytes past queueMaxBytes, f keeps its index row but loses its
// details; when that queue is full too, f is dropped. All are counted.
func (r *Recorder) Record(f *Flow) {
	if f == nil || !r.cfg.Enabled {
		return
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		if hasDetails(f) {
			r.droppedDetails.Add(1)
		}
		r.droppedRows.Add(1)
		return
	}
	if hasDetails(f) {
		size := r.capDetails(f)
		if q := r.queuedBytes.Add(size); q-size == 0 || q <= queueMaxBytes {
			select {
			case r.queue <- item{f: f, size: size}:
				return
			default:
			}
		}
		r.queuedBytes.Add(-size)
		r.droppedDetails.Add(1)
		stripDetails(f)
	}
	select {
	case r.rows <- item{f: f, noDetails: true}:
	default:
		r.droppedRows.Add(1)
	}
}

// capDetails cuts f's bodies to the cap the writer keeps and returns the
// detail bytes f still holds. A cut body is copied so the full one can be
// freed; bodies under the cap are left alone, so the common case costs
// the request path nothing but a few additions.
func (r *Recorder) capDetails(f *Flow) int64 {
	keep := r.cfg.MaxBodyKB<<10 + capSlack
	for i, b := range []*[]byte{&f.ClientRequest, &f.UpstreamRequest, &f.Response} {
		if len(*b) > keep {
			f.sizes[i] = len(*b)
			*b = append([]byte(nil), (*b)[:keep]...)
		}
	}
	if len(f.UpstreamEvents) > maxEvents {
		f.EventsOmitted += len(f.UpstreamEvents) - maxEvents
		f.UpstreamEvents = append([]Event(nil), f.UpstreamEvents[:maxEvents]...)
	}
	size := len(f.ClientRequest) + len(f.UpstreamRequest) + len(f.Response)
	for _, e := range f.UpstreamEvents {
		size += len(e.Payload) + len(e.Type) + 48
	}
	if f.Capture != nil {
		size += min(len(f.Capture.Bytes), maxCaptureBytes)
	}
	for k, v := range f.Headers {
		size += len(k) + len(v)
	}
	return int64(size)
}

// Run writes queued flows until ctx ends or Close is called, and sweeps old
// flows when it starts and every hour after. On ctx's end it writes what
// is queued before returning; after Close it returns at once.
func (r *Recorder) Run(ctx context.Context) error {
	r.mu.Lock()
	switch {
	case r.closed:
		r.mu.Unlock()
		return nil
	case r.running:
		r.mu.Unlock()
		return errors.New("flow recorder is already running")
	}
	r.running = true
	r.runWG.Add(1)
	r.mu.Unlock()
	defer r.runWG.Done()

	r.sweep(ctx)
	ticker := time.NewTicker(r.sweepEvery)
	defer ticker.Stop()
	retry := time.NewTicker(retryEvery)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			r.drain()
			return nil
		case <-r.stop:
			return nil
		case <-ticker.C:
			r.sweep(ctx)
		case <-retry.C:
			r.retryKept()
		case it := <-r.queue:
			r.write(r.lingerCollect(ctx, it))
		case it := <-r.rows:
			r.write(r.lingerCollect(ctx, it))
		}
	}
}

// lingerCollect is collect that, for a small batch, waits up to
// r.linger for more flows (but never past a stop), so a steady trickle of
// requests is written in a few transactions rather than one each.
func (r *Recorder) lingerCollect(ctx context.Context, first item) []item {
	batch := r.collect(first)
	if len(batch) >= lingerBatch || r.linger <= 0 {
		return batch
	}
	t := time.NewTimer(r.linger)
	defer t.Stop()
	for len(batch) < lingerBatch {
		select {
		case it := <-r.queue:
			batch = append(batch, it)
		case it := <-r.rows:
			batch = append(batch, it)
		case <-t.C:
			return batch
		case <-ctx.Done():
			return batch
		case <-r.stop:
			return batch
		}
		if r.queuedBytes.Load() > queueMaxBytes/2 {
			return batch
		}
	}
	return batch
}

// Close stops Run, writes everything still queued and closes the current
// file. Flows recorded after Close are dropped and counted.
func (r *Recorder) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	close(r.stop)
	r.mu.Unlock()
	r.runWG.Wait()

	r.drain()
	r.retryKept()
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	r.finished = true
	r.dropKept()
	if err := r.files.close(); err != nil {
		return fmt.Errorf("close flow recorder: %w", err)
	}
	return nil
}

// collect gathers first and whatever else is queued, up to batchMax.
func (r *Recorder) collect(first item) []item {
	batch := []item{first}
	// Take from both queues in turn so rows whose details were dropped
	// are not starved by a steady stream of full flows.
	for len(batch) < batchMax {
		got := false
		select {
		case it := <-r.queue:
			batch, got = append(batch, it), true
		default:
		}
		select {
		case it := <-r.rows:
			batch, got = append(batch, it), true
		default:
		}
		if !got {
			break
		}
	}
	return batch
}

// drain writes everything queued.
func (r *Recorder) drain() {
	for {
		select {
		case it := <-r.queue:
			r.write(r.collect(it))
		case it := <-r.rows:
			r.write(r.collect(it))
		default:
			return
		}
	}
}

// write stores one batch: details lines first (written to the file), then
// the index rows, the pieces their request bodies share and the usage
// totals in one transaction, so a committed row never points at a line
// that is not on disk nor at a piece that is not stored.
func (r *Recorder) write(batch []item) {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	if r.finished {
		r.droppedRows.Add(int64(len(batch)))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	rd := r.redactor.Load()
	now := r.now()
	limit := r.cfg.MaxBodyKB << 10
	rows := make([]Row, len(batch))
	pb := newPieceBatch(len(batch))
	var lines [][]byte // the lines for the shared database, in a team
	if r.sharesDetails() {
		lines = make([][]byte, len(batch))
	}
	for i, it := range batch {
		f := it.f
		batch[i].f = nil // the batch must not keep f's buffers alive
		if f.ID == "" {
			f.ID = uuid.NewString()
		}
		if f.Time.IsZero() {
			f.Time = now
		}
		rows[i] = buildRow(f, rd)
		rows[i].Instance = r.instance
		if it.noDetails {
			rows[i].DetailsLost = "queue full"
			continue
		}
		if !hasDetails(f) {
			r.queuedBytes.Add(-it.size)
			continue
		}
		d := buildDetails(rows[i].ID, f, rd, limit, &r.scratch)
		pb.roots[i] = r.pw.storeBodies(ctx, &d, pb, rd)
		line, err := appendDetailsLine(r.scratch.line[:0], &d, rd)
		// The details are in line now: free the bodies before the next
		// flow, and let Record queue that many bytes again.
		stripDetails(f)
		r.queuedBytes.Add(-it.size)
		if err != nil {
			r.log.Error("flow details not recorded", "flow", rows[i].ID, "err", err)
			rows[i].DetailsLost = "encode failed"
			continue
		}
		r.scratch.line = line
		err = r.files.append(now, line, &rows[i])
		if err == nil && lines != nil {
			lines[i] = append([]byte(nil), bytes.TrimSuffix(line, []byte("\n"))...)
		}
		if cap(r.scratch.line) > 4<<20 {
			r.scratch = scratch{} // one huge flow must not pin its buffers
		}
		if err != nil {
			r.log.Error("flow details not recorded", "flow", rows[i].ID, "err", err)
			rows[i].DetailsLost = "write failed"
		}
	}
	if err := r.files.flush(); err != nil {
		r.log.Error("flow details not recorded", "err", err)
	}
	err := r.pw.link(ctx, rows, pb)
	if err == nil {
		err = r.insert(ctx, rows, pb, lines)
	}
	if err != nil {
		r.pw.failed()
		if r.keepFailed(keptBatch{rows: rows, pb: pb, lines: lines}, err) {
			return
		}
		r.droppedRows.Add(int64(len(rows)))
		r.log.Error("flows not recorded", "count", len(rows), "err", err)
		return
	}
	r.pw.committed(pb, r.files.current())
	r.publish(rows)
	r.logDrops()
	if cur := r.files.current(); cur != r.lastRotation {
		if r.lastRotation != "" {
			r.sweepLocked(context.Background())
		}
		r.lastRotation = cur
	}
}

// insert stores rows, the pieces pb adds for them, and their share of the
// daily usage totals in one transaction, with hand-written statements
// (see insertFlows) because GORM's create path was a fifth of kirobar's
// CPU under load. It sets each row's Seq, which subscribers receive.
func (r *Recorder) insert(ctx context.Context, rows []Row, pb *pieceBatch, lines [][]byte) error {
	// One transaction for the batch; the statements in it need not try
	// GORM's default per-statement transaction.
	db := r.db.WithContext(ctx).Session(&gorm.Session{SkipDefaultTransaction: true})
	return db.Transaction(func(tx *gorm.DB) error {
		if err := insertFlows(ctx, tx, rows); err != nil {
			return fmt.Errorf("insert flows: %w", err)
		}
		if lines != nil {
			if err := insertDetails(ctx, tx, rows, lines); err != nil {
				return err
			}
		}
		if err := r.pieces.commit(ctx, tx, pb); err != nil {
			return err
		}
		if r.hook != nil {
			r.hook("pieces")
		}
		if err := upsertUsage(ctx, tx, usageOf(rows)); err != nil {
			return err
		}
		return nil
	})
}

// usageOf sums rows per day, account, client key and model.
func usageOf(rows []Row) []Usage {
	type key struct{ day, account, key, model string }
	idx := make(map[key]int)
	var out []Usage
	for i := range rows {
		r := &rows[i]
		k := key{r.Time.Local().Format(dayLayout), r.AccountID, r.KeyName, usageModel(r)}
		j, ok := idx[k]
		if !ok {
			j = len(out)
			idx[k] = j
			out = append(out, Usage{Day: k.day, AccountID: k.account, KeyName: k.key, Model: k.model})
		}
		u := &out[j]
		u.Requests++
		if r.Status == StatusFailed {
			u.Failures++
		}
		u.InputTokens += int64(r.InputTokens)
		u.OutputTokens += int64(r.OutputTokens)
		u.Credits += r.Credits
	}
	return out
}

// logDrops logs queue-full drops once per batch when their counts grew.
// It runs on the writer, so Record never waits on a log handler.
func (r *Recorder) logDrops() {
	d, w := r.droppedDetails.Load(), r.droppedRows.Load()
	if d == r.loggedDrops[0] && w == r.loggedDrops[1] {
		return
	}
	r.log.Warn("flow queue full: recording less", "details_dropped", d-r.loggedDrops[0],
		"flows_dropped", w-r.loggedDrops[1], "details_dropped_total", d, "flows_dropped_total", w)
	r.loggedDrops = [2]int64{d, w}
}

// Subscribe returns a channel of newly stored flows (index rows) and a
// function that ends the subscription. A subscriber that falls behind
// misses rows rather than slowing the writer.
func (r *Recorder) Subscribe() (<-chan Row, func()) {
	ch := make(chan Row, 64)
	r.subsMu.Lock()
	r.subs[ch] = struct{}{}
	r.subsMu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			r.subsMu.Lock()
			delete(r.subs, ch)
			r.subsMu.Unlock()
		})
	}
}

// publish sends rows to the subscribers that have room.
func (r *Recorder) publish(rows []Row) {
	r.subsMu.Lock()
	defer r.subsMu.Unlock()
	for ch := range r.subs {
		for _, row := range rows {
			select {
			case ch <- row:
			default:
			}
		}
	}
}
