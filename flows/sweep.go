package flows

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"gorm.io/gorm"
)

// sweep applies retention now, unless the recorder is closed.
func (r *Recorder) sweep(ctx context.Context) {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	if r.finished {
		return
	}
	r.sweepLocked(ctx)
}

// sweepLocked applies retention; the caller holds writeMu.
func (r *Recorder) sweepLocked(ctx context.Context) {
	if err := r.retain(ctx); err != nil {
		r.log.Error("flow retention sweep failed", "err", err)
	}
}

// retain deletes flows older than retention_days and then, oldest file
// first, flows until the detail files and the pieces they share fit in
// max_total_mb. A piece goes in the transaction that deletes the last
// flow using it, and every file's index rows and references go in one
// transaction before the file is removed, so a crash at any point leaves
// unreferenced lines or files (removed by a later sweep), never a row
// without its line or a reference without its piece. The file being
// written is never deleted.
func (r *Recorder) retain(ctx context.Context) error {
	files, err := listFiles(r.home)
	if err != nil {
		return err
	}
	cur := r.files.current()
	var cutoff time.Time
	var aged, kept []detailFile
	if r.cfg.RetentionDays > 0 {
		cutoff = r.now().Add(-time.Duration(r.cfg.RetentionDays) * 24 * time.Hour)
	}
	for _, f := range files {
		if !cutoff.IsZero() && !f.day.AddDate(0, 0, 1).After(cutoff) && f.rel != cur {
			aged = append(aged, f)
			continue
		}
		kept = append(kept, f)
	}
	// A file gone from disk some other way (a crash after its rows were
	// deleted, a user's rm) still lets go of its pieces.
	onDisk := make(map[string]bool, len(files))
	for _, f := range files {
		onDisk[f.rel] = true
	}
	refFiles, err := r.pieces.files(ctx)
	if err != nil {
		return err
	}
	var gone []string
	for _, rel := range refFiles {
		if !onDisk[rel] && rel != cur {
			gone = append(gone, rel)
		}
	}
	if len(gone) > 0 {
		err := r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			_, deleted, err := r.pieces.release(ctx, tx, gone)
			r.pw.forget(deleted)
			return err
		})
		if err != nil {
			return fmt.Errorf("release the pieces of missing files: %w", err)
		}
	}
	if !cutoff.IsZero() {
		if _, err := r.dropRows(ctx, cutoff, aged); err != nil {
			return err
		}
	}
	errs := r.removeFiles(aged)
	removed := len(aged)
	if r.maxTotalBytes > 0 {
		limit := r.maxTotalBytes
		total, err := r.pieces.total(ctx)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		for _, f := range kept {
			total += f.size
		}
		for _, f := range kept {
			if total <= limit {
				break
			}
			if f.rel == cur {
				continue
			}
			freed, err := r.dropRows(ctx, time.Time{}, []detailFile{f})
			if err != nil {
				return errors.Join(append(errs, err)...)
			}
			errs = append(errs, r.removeFiles([]detailFile{f})...)
			removed++
			total -= f.size + freed
		}
	}
	if removed > 0 {
		r.log.Info("flow retention removed old files", "files", removed)
	}
	return errors.Join(errs...)
}

// removeFiles removes files, and their day directories once empty.
func (r *Recorder) removeFiles(files []detailFile) []error {
	dirs := make(map[string]bool)
	var errs []error
	for _, f := range files {
		if err := os.Remove(f.abs); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove %s: %w", f.rel, err))
		}
		dirs[filepath.Dir(f.abs)] = true
	}
	for dir := range dirs {
		if err := removeIfEmpty(dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// dropRows deletes, in one transaction, index rows older than cutoff (if
// set) and rows whose details are in the doomed files, with their
// references to pieces and the pieces no flow uses any more. It returns
// the piece bytes freed.
func (r *Recorder) dropRows(ctx context.Context, cutoff time.Time, doomed []detailFile) (int64, error) {
	if cutoff.IsZero() && len(doomed) == 0 {
		return 0, nil
	}
	var freed int64
	var deleted []hash
	err := r.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if !cutoff.IsZero() {
			if err := dropDetails(tx, tx.Session(&gorm.Session{NewDB: true}).Where("time < ?", cutoff.UTC())); err != nil {
				return err
			}
			// The pieces of these flows' lines go with their files.
			if err := tx.Where("time < ?", cutoff.UTC()).Delete(&Row{}).Error; err != nil {
				return fmt.Errorf("delete flows before %s: %w", cutoff.Format(time.RFC3339), err)
			}
		}
		const chunk = 500
		for i := 0; i < len(doomed); i += chunk {
			paths := make([]string, 0, chunk)
			for _, f := range doomed[i:min(i+chunk, len(doomed))] {
				paths = append(paths, f.rel)
			}
			if err := dropDetails(tx, r.own(tx.Session(&gorm.Session{NewDB: true})).Where("file_path IN ?", paths)); err != nil {
				return err
			}
			if err := r.own(tx).Where("file_path IN ?", paths).Delete(&Row{}).Error; err != nil {
				return fmt.Errorf("delete flows of removed files: %w", err)
			}
			n, gone, err := r.pieces.release(ctx, tx, paths)
			if err != nil {
				return fmt.Errorf("delete flows of removed files: %w", err)
			}
			freed += n
			deleted = append(deleted, gone...)
		}
		if r.hook != nil {
			r.hook("sweep")
		}
		return nil
	})
	r.pw.forget(deleted)
	if err == nil && r.hook != nil {
		r.hook("swept")
	}
	return freed, err
}

// own narrows a query to the rows whose detail files are in this home:
// in a team sharing the index, every instance keeps its own files under
// the same relative names.
func (r *Recorder) own(tx *gorm.DB) *gorm.DB {
	if r.instance == "" {
		return tx
	}
	return tx.Where("instance = ?", r.instance)
}

// removeIfEmpty removes dir when nothing is left in it.
func removeIfEmpty(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list %s: %w", filepath.Base(dir), err)
	}
	if len(entries) > 0 {
		return nil
	}
	if err := os.Remove(dir); err != nil {
		return fmt.Errorf("remove %s: %w", filepath.Base(dir), err)
	}
	return nil
}

// repair makes the files and the index consistent after a crash: it cuts
// half-written last lines, then detaches index rows that point past the
// end of their file (or at a missing file) from their details, keeping the
// rows themselves.
func (r *Recorder) repair(ctx context.Context) error {
	files, err := listFiles(r.home)
	if err != nil {
		return fmt.Errorf("repair flows: %w", err)
	}
	for _, f := range files {
		cut, err := repairTail(f.abs)
		if err != nil {
			return fmt.Errorf("repair flows: %w", err)
		}
		if cut > 0 {
			r.log.Warn("removed a half-written flow line left by a crash", "file", f.rel, "bytes", cut)
		}
	}
	var paths []string
	err = r.own(r.db.WithContext(ctx)).Model(&Row{}).Where("file_path <> ''").Distinct().Pluck("file_path", &paths).Error
	if err != nil {
		return fmt.Errorf("repair flows: list files: %w", err)
	}
	for _, p := range paths {
		size := int64(-1)
		if abs, err := detailPath(r.home, p); err == nil {
			info, err := os.Stat(abs)
			switch {
			case err == nil:
				size = info.Size()
			case !errors.Is(err, fs.ErrNotExist):
				return fmt.Errorf("repair flows: stat %s: %w", p, err)
			}
		}
		// A detached row's pieces stay referenced by its file, whose
		// lines hold them, and go when the file goes.
		res := r.own(r.db.WithContext(ctx)).Model(&Row{}).
			Where("file_path = ? AND file_offset >= ?", p, max(size, 0)).
			Updates(map[string]any{"file_path": "", "file_offset": 0, "details_lost": "crash"})
		if res.Error != nil {
			return fmt.Errorf("repair flows: detach rows of %s: %w", p, res.Error)
		}
		lost := res.RowsAffected
		if lost > 0 {
			r.log.Warn("flows lost their details in a crash", "file", p, "flows", lost)
		}
	}
	return nil
}

// detailPath resolves a row's file path under home, refusing paths that
// would leave the flows directory.
func detailPath(home, rel string) (string, error) {
	clean := path.Clean(rel)
	if clean != rel || !strings.HasPrefix(clean, flowsDir+"/") || strings.Contains(clean, "..") {
		return "", fmt.Errorf("flow file path %q is not under %s/", rel, flowsDir)
	}
	return filepath.Join(home, filepath.FromSlash(clean)), nil
}
