package flows

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	// flushBytes is how much of a batch's lines the writer buffers before
	// writing them: a batch of 256 Claude Code turns is tens of MB, which
	// the buffer held (and kept as capacity) until the batch ended.
	flushBytes = 1 << 20
	// flowsDir is the directory under the kirobar home that holds details.
	flowsDir = "flows"
	// dayLayout names the per-day directories.
	dayLayout = "2006-01-02"
)

// detailFile is one flows-NNN.jsonl file on disk.
type detailFile struct {
	rel  string // relative to home, forward slashes: flows/2026-01-02/flows-001.jsonl
	abs  string
	day  time.Time
	seq  int
	size int64
}

// fileName returns the name of detail file number seq.
func fileName(seq int) string { return fmt.Sprintf("flows-%03d.jsonl", seq) }

// parseFileName returns the number of a detail file name.
func parseFileName(name string) (int, bool) {
	s, ok := strings.CutPrefix(name, "flows-")
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, ".jsonl")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// listFiles returns every detail file under home, oldest first.
func listFiles(home string) ([]detailFile, error) {
	root := filepath.Join(home, flowsDir)
	days, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list flow files: %w", err)
	}
	var out []detailFile
	for _, d := range days {
		if !d.IsDir() {
			continue
		}
		day, err := time.ParseInLocation(dayLayout, d.Name(), time.Local)
		if err != nil {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(root, d.Name()))
		if err != nil {
			return nil, fmt.Errorf("list flow files in %s: %w", d.Name(), err)
		}
		for _, e := range entries {
			seq, ok := parseFileName(e.Name())
			if !ok || e.IsDir() {
				continue
			}
			info, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("stat flow file %s: %w", e.Name(), err)
			}
			out = append(out, detailFile{
				rel:  path.Join(flowsDir, d.Name(), e.Name()),
				abs:  filepath.Join(root, d.Name(), e.Name()),
				day:  day,
				seq:  seq,
				size: info.Size(),
			})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].day.Equal(out[j].day) {
			return out[i].day.Before(out[j].day)
		}
		return out[i].seq < out[j].seq
	})
	return out, nil
}

// fileWriter appends details lines to the current file, rotating by day
// and by size. Lines are buffered (up to flushBytes) and written before
// the batch's index rows are committed, so a committed row always
// points at a line the kernel has: a killed process loses nothing it
// wrote. Files are synced only on close, not per batch or rotation: on a
// slow disk an fsync costs tens of milliseconds, and whatever tail a power
// loss takes, the startup repair cuts and detaches from its rows.
type fileWriter struct {
	home     string
	maxBytes int64

	day  string
	seq  int
	f    *os.File
	rel  string
	size int64 // bytes already in the file

	buf     []byte
	pending []*Row
}

// append queues line for the current file and points row at it.
func (w *fileWriter) append(now time.Time, line []byte, row *Row) error {
	day := now.Local().Format(dayLayout)
	if w.f == nil || day != w.day {
		if err := w.flush(); err != nil {
			return err
		}
		if err := w.open(day); err != nil {
			return err
		}
	}
	used := w.size + int64(len(w.buf))
	if used > 0 && used+int64(len(line)) > w.maxBytes {
		if err := w.flush(); err != nil {
			return err
		}
		if err := w.rotate(); err != nil {
			return err
		}
		used = 0
	}
	row.FilePath = w.rel
	row.FileOffset = used
	w.buf = append(w.buf, line...)
	w.pending = append(w.pending, row)
	if len(w.buf) >= flushBytes {
		return w.flush()
	}
	return nil
}

// flush writes and syncs the buffered lines. On failure it cuts the file
// back to its last complete line and clears the pointers of the rows whose
// lines did not make it.
func (w *fileWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	n, err := w.f.Write(w.buf)
	if err != nil {
		err = fmt.Errorf("write %s: %w", w.rel, err)
		if n > 0 {
			if terr := w.f.Truncate(w.size); terr != nil {
				err = errors.Join(err, fmt.Errorf("cut back %s: %w", w.rel, terr))
			}
		}
		for _, r := range w.pending {
			r.FilePath, r.FileOffset, r.DetailsLost = "", 0, "write failed"
		}
		w.buf, w.pending = w.buf[:0], w.pending[:0]
		return err
	}
	w.size += int64(n)
	w.buf, w.pending = w.buf[:0], w.pending[:0]
	if cap(w.buf) > 4*flushBytes {
		w.buf = nil // one huge line must not stay pinned as capacity
	}
	return nil
}

// open switches to the newest file of day, or the next one if it is full.
func (w *fileWriter) open(day string) error {
	if err := w.closeFile(); err != nil {
		return err
	}
	dir := filepath.Join(w.home, flowsDir, day)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create flow directory %s: %w", day, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list flow directory %s: %w", day, err)
	}
	seq := 0
	for _, e := range entries {
		if n, ok := parseFileName(e.Name()); ok && n > seq {
			seq = n
		}
	}
	w.day = day
	if seq == 0 {
		w.seq = 1
		return w.openSeq()
	}
	w.seq = seq
	if err := w.openSeq(); err != nil {
		return err
	}
	if w.size >= w.maxBytes {
		return w.rotate()
	}
	return nil
}

// rotate moves to the next file number of the current day.
func (w *fileWriter) rotate() error {
	if err := w.closeFile(); err != nil {
		return err
	}
	w.seq++
	return w.openSeq()
}

// openSeq opens file w.seq of w.day for appending.
func (w *fileWriter) openSeq() error {
	name := fileName(w.seq)
	w.rel = path.Join(flowsDir, w.day, name)
	f, err := os.OpenFile(filepath.Join(w.home, flowsDir, w.day, name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open %s: %w", w.rel, err)
	}
	info, err := f.Stat()
	if err != nil {
		return errors.Join(fmt.Errorf("stat %s: %w", w.rel, err), f.Close())
	}
	w.f, w.size = f, info.Size()
	return nil
}

// closeFile closes the current file, if any.
func (w *fileWriter) closeFile() error {
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	if err != nil {
		return fmt.Errorf("close %s: %w", w.rel, err)
	}
	return nil
}

// close flushes, syncs and closes the current file.
func (w *fileWriter) close() error {
	if err := w.flush(); err != nil {
		return errors.Join(err, w.closeFile())
	}
	if w.f != nil {
		if err := w.f.Sync(); err != nil {
			return errors.Join(fmt.Errorf("sync %s: %w", w.rel, err), w.closeFile())
		}
	}
	return w.closeFile()
}

// current returns the relative path of the file being written, if any.
func (w *fileWriter) current() string {
	if w.f == nil {
		return ""
	}
	return w.rel
}

// repairTail cuts a half-written last line off the file at abs, as a crash
// during a write can leave it. It returns how many bytes were removed.
func repairTail(abs string) (int64, error) {
	f, err := os.OpenFile(abs, os.O_RDWR, 0)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", filepath.Base(abs), err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat %s: %w", filepath.Base(abs), err)
	}
	size := info.Size()
	end, err := lastLineEnd(f, size)
	if err != nil {
		return 0, fmt.Errorf("scan %s: %w", filepath.Base(abs), err)
	}
	if end == size {
		return 0, nil
	}
	if err := f.Truncate(end); err != nil {
		return 0, fmt.Errorf("truncate %s: %w", filepath.Base(abs), err)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("sync %s: %w", filepath.Base(abs), err)
	}
	return size - end, nil
}

// lastLineEnd returns the offset just past the last newline in the first
// size bytes of r (0 if there is none).
func lastLineEnd(r io.ReaderAt, size int64) (int64, error) {
	const chunk = 64 << 10
	buf := make([]byte, chunk)
	for end := size; end > 0; {
		start := max(end-chunk, 0)
		b := buf[:end-start]
		if _, err := r.ReadAt(b, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// readLine reads the details line that starts at off in the file rel
// under home.
func readLine(home, rel string, off int64) ([]byte, error) {
	abs, err := detailPath(home, rel)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", rel, err)
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, fmt.Errorf("seek %s: %w", rel, err)
	}
	var line []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := f.Read(buf)
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			return append(line, buf[:i]...), nil
		}
		line = append(line, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read %s at %d: line has no end", rel, off)
		}
		if err != nil {
			return nil, fmt.Errorf("read %s at %d: %w", rel, off, err)
		}
	}
}
