package flows

import (
	"context"
	"time"

	kdb "github.com/kirobar/kirobar/internal/db"
)

// A team's instances write flows to a shared PostgreSQL database. While
// it cannot be reached, the batches that failed are kept — their details
// are already in this instance's files — and written when it is back, so
// an outage costs the dashboard a delay, not flows. With kirobar.db a
// failed batch is reported and dropped as before: a local file that
// refuses a write will not take it a second later.

const (
	// retryEvery is how often kept batches are tried again.
	retryEvery = time.Second
	// keptMax bounds the rows kept through an outage; past it the oldest
	// batches are dropped and counted.
	keptMax = 50000
)

// keptBatch is a batch whose transaction failed: its rows and the pieces
// their lines reference.
type keptBatch struct {
	rows  []Row
	pb    *pieceBatch
	lines [][]byte // for the shared database (team_details.go)
}

// keepFailed keeps a batch whose transaction failed because a shared
// database could not be reached, and reports whether it did. A batch the
// database refused for what it holds (a statement error) would be
// refused again and is not kept. The caller holds writeMu.
func (r *Recorder) keepFailed(b keptBatch, err error) bool {
	if !dialectOf(r.db).pg || !kdb.Unreachable(err) {
		return false
	}
	if len(r.kept) == 0 {
		r.log.Error("flows: the shared database is unreachable; keeping flows to write when it is back", "err", err)
	}
	r.kept = append(r.kept, b)
	n := 0
	for _, b := range r.kept {
		n += len(b.rows)
	}
	for n > keptMax && len(r.kept) > 1 {
		r.droppedRows.Add(int64(len(r.kept[0].rows)))
		n -= len(r.kept[0].rows)
		r.kept = r.kept[1:]
	}
	return true
}

// retryKept writes the batches kept through an outage, oldest first.
func (r *Recorder) retryKept() {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	if len(r.kept) == 0 {
		return
	}
	written := 0
	for len(r.kept) > 0 {
		b := r.kept[0]
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		// The file references were found against a memory the failure
		// cleared: find them again.
		b.pb.refs = nil
		err := r.pw.link(ctx, b.rows, b.pb)
		if err == nil {
			err = r.insert(ctx, b.rows, b.pb, b.lines)
		}
		cancel()
		if err != nil {
			r.pw.failed()
			if kdb.Unreachable(err) {
				return // still away: the next tick tries again
			}
			r.droppedRows.Add(int64(len(b.rows)))
			r.log.Error("flows not recorded", "count", len(b.rows), "err", err)
			r.kept = r.kept[1:]
			continue
		}
		r.pw.committed(b.pb, r.files.current())
		r.kept = r.kept[1:]
		written += len(b.rows)
		r.publish(b.rows)
	}
	r.log.Info("flows: the shared database is back; wrote the flows kept meanwhile", "count", written)
}

// dropKept counts and reports rows still kept when the recorder closes.
// The caller holds writeMu.
func (r *Recorder) dropKept() {
	n := 0
	for _, b := range r.kept {
		n += len(b.rows)
	}
	if n > 0 {
		r.droppedRows.Add(int64(n))
		r.log.Error("flows not recorded: the shared database did not come back before kirobar stopped", "count", n)
		r.kept = nil
	}
}
