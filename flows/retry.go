package flows

import (
	"time"
)

// A team's instances write flows to a shared PostgreSQL database. While
// it cannot be reached, the index rows of the batches that failed are
// kept (their details are already in this instance's files) and written
// when it is back, so an outage costs the dashboard a delay, not flows.
// With kirobar.db a failed batch is reported and dropped as before: a
// local file that refuses a write will not take it a second later.

const (
	// retryEvery is how often kept rows are tried again.
	retryEvery = time.Second
	// keptMax bounds the rows kept through an outage; past it the oldest
	// are dropped and counted.
	keptMax = 50000
)

// keepFailed keeps rows whose insert failed for a retry, on a shared
// database. It reports whether it kept them. The caller holds writeMu.
func (r *Recorder) keepFailed(rows []Row, err error) bool {
	if !dialectOf(r.db).pg {
		return false
	}
	if len(r.kept) == 0 {
		r.log.Error("flows: the shared database is unreachable; keeping flows to write when it is back", "err", err)
	}
	r.kept = append(r.kept, rows...)
	if over := len(r.kept) - keptMax; over > 0 {
		r.droppedRows.Add(int64(over))
		r.kept = append([]Row(nil), r.kept[over:]...)
	}
	return true
}

// retryKept writes the rows kept through an outage, if any.
func (r *Recorder) retryKept() {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	if len(r.kept) == 0 {
		return
	}
	rows := r.kept
	if err := r.insert(rows); err != nil {
		return
	}
	r.kept = nil
	r.log.Info("flows: the shared database is back; wrote the flows kept meanwhile", "count", len(rows))
	r.publish(rows)
}

// dropKept counts and reports rows still kept when the recorder closes.
// The caller holds writeMu.
func (r *Recorder) dropKept() {
	if n := len(r.kept); n > 0 {
		r.droppedRows.Add(int64(n))
		r.log.Error("flows not recorded: the shared database did not come back before kirobar stopped", "count", n)
		r.kept = nil
	}
}
