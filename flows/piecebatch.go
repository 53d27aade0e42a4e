package flows

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/klauspost/compress/zstd"
)

// minCompress is the shortest piece worth compressing.
const minCompress = 256

// maxKnown bounds the pieces the writer remembers as stored (about 80
// bytes each); past it the memory starts again empty.
const maxKnown = 1 << 15

// pieceBatch is what one batch of flows adds to the piece store: per flow
// of the batch the pieces its details reference, and the pieces new to
// the store with their bytes ready to insert. Everything is decided and
// encoded in the writer, off the request path; the batch's transaction
// then only writes it.
type pieceBatch struct {
	roots   [][]hash           // by index in the batch
	pending map[hash]*newPiece // pieces the store does not have
	known   map[hash]bool      // pieces the store has, as far as this batch asked
	refs    []newRef           // file references the batch adds (see link)
}

// newRef is a reference a detail file gains: one of its lines uses piece
// hash.
type newRef struct {
	file string
	hash hash
}

// newPiece is a piece to insert: its stored bytes (compressed or a raw
// copy, owned by the batch), its length decoded, and its children.
type newPiece struct {
	data     []byte
	raw      int
	codec    int
	children []hash
	stored   bool // set by commit when it inserted the piece
}

// newPieceBatch returns an empty batch for n flows.
func newPieceBatch(n int) *pieceBatch {
	return &pieceBatch{roots: make([][]hash, n), pending: make(map[hash]*newPiece), known: make(map[hash]bool)}
}

// pieceWriter splits bodies into pieces for the recorder's writer. It
// remembers the pieces it saw stored (known), so the next turn of a
// conversation asks the store only about its new pieces: the writer is
// the only one that adds or deletes pieces, and it updates known after
// each commit and each sweep.
type pieceWriter struct {
	store pieceStore
	split splitter
	enc   *zstd.Encoder
	skel  [2][]byte // the skeletons of a flow's two request bodies
	known map[hash]struct{}
	// files holds, for the files being written, the pieces their lines
	// reference in the store.
	files map[string]map[hash]struct{}
}

// newPieceWriter returns a piece writer over store.
func newPieceWriter(store pieceStore) (*pieceWriter, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(false), zstd.WithLowerEncoderMem(true))
	if err != nil {
		return nil, fmt.Errorf("piece encoder: %w", err)
	}
	return &pieceWriter{store: store, enc: enc, known: make(map[hash]struct{}), files: make(map[string]map[hash]struct{})}, nil
}

// link finds the references the batch's lines add to their files, once
// the lines are written (rows[i].FilePath set) and before the batch's
// transaction: a file references each piece once, however many of its
// lines use it.
func (w *pieceWriter) link(ctx context.Context, rows []Row, b *pieceBatch) error {
	type key struct {
		file string
		hash hash
	}
	seen := make(map[key]bool)
	for i := range rows {
		file := rows[i].FilePath
		if len(b.roots[i]) == 0 || file == "" {
			continue // no line was written: nothing references the pieces
		}
		set, ok := w.files[file]
		if !ok {
			hs, err := w.store.fileRefs(ctx, file)
			if err != nil {
				return err
			}
			set = make(map[hash]struct{}, len(hs))
			for _, h := range hs {
				set[h] = struct{}{}
			}
			w.files[file] = set
		}
		for _, h := range b.roots[i] {
			k := key{file, h}
			if _, ok := set[h]; ok || seen[k] {
				continue
			}
			seen[k] = true
			b.refs = append(b.refs, newRef{file: file, hash: h})
		}
	}
	return nil
}

// committed remembers the pieces b found or stored, once its transaction
// committed; failed forgets everything, since a failed commit may mean
// the store changed under the writer.
func (w *pieceWriter) committed(b *pieceBatch, current string) {
	if len(w.known)+len(b.known)+len(b.pending) > maxKnown {
		clear(w.known)
	}
	for _, r := range b.refs {
		if set := w.files[r.file]; set != nil {
			set[r.hash] = struct{}{}
		}
	}
	for f := range w.files {
		if f != current {
			delete(w.files, f) // only the file being written gains lines
		}
	}
	for h := range b.known {
		w.known[h] = struct{}{}
	}
	for h, np := range b.pending {
		if np.stored {
			w.known[h] = struct{}{}
		}
	}
}

// failed forgets the pieces remembered as stored and the references
// remembered for the files.
func (w *pieceWriter) failed() {
	clear(w.known)
	clear(w.files)
}

// forget drops deleted pieces from the ones remembered as stored.
func (w *pieceWriter) forget(deleted []hash) {
	for _, h := range deleted {
		delete(w.known, h)
	}
}

// storeBodies splits the JSON request bodies of d (the client's and the
// one sent to Kiro) into skeletons and pieces, records the pieces the
// batch must add, and returns the distinct pieces d now references. A
// body that cannot be split, or whose pieces the store cannot be asked
// about, stays whole. The skeletons live in w until the next flow.
func (w *pieceWriter) storeBodies(ctx context.Context, d *Details, b *pieceBatch, rd *redactor) []hash {
	var roots []hash
	for i := range w.skel {
		if cap(w.skel[i]) > 1<<20 {
			w.skel[i] = nil // one huge skeleton must not stay pinned
		}
	}
	for i, body := range []*Body{d.ClientRequest, d.UpstreamRequest} {
		if body == nil || len(body.JSON) < minSplitBody || rd.leaks(body.JSON) {
			continue // small, or a leak left for the line check, which withholds the line
		}
		skel, idx, ok := w.split.split(body.JSON)
		if !ok {
			continue
		}
		if err := w.admit(ctx, b); err != nil {
			continue // stored whole, as before pieces
		}
		// The skeleton's hash covers the body: its references are the
		// pieces' hashes (hashing the whole body again cost as much as
		// splitting it).
		sum := sha256.Sum256(skel)
		w.skel[i] = append(w.skel[i][:0], skel...)
		body.Skeleton, body.Root, body.JSON = w.skel[i], hex.EncodeToString(sum[:]), nil
		for _, p := range idx {
			roots = appendHash(roots, w.split.pieces[p].hash)
		}
	}
	return roots
}

// admit adds to b every piece of the body just split that the store
// lacks, with its bytes encoded. It asks the store once, about every
// piece neither the writer nor the batch knows: the turn before stored
// nearly all of them, and a piece the store has brings its whole subtree
// (a piece is stored only with its children), so no piece the store
// lacks hides under one it has.
func (w *pieceWriter) admit(ctx context.Context, b *pieceBatch) error {
	var ask []hash
	var askIdx []int32
	for i := range w.split.pieces {
		h := w.split.pieces[i].hash
		if _, ok := w.known[h]; ok {
			continue
		}
		if b.pending[h] != nil || b.known[h] {
			continue
		}
		ask = append(ask, h)
		askIdx = append(askIdx, int32(i))
	}
	if len(ask) == 0 {
		return nil
	}
	found, err := w.store.has(ctx, ask)
	if err != nil {
		return err
	}
	for j, h := range ask {
		if found[h] {
			b.known[h] = true
			continue
		}
		b.pending[h] = w.encode(&w.split.pieces[askIdx[j]])
	}
	return nil
}

// encode copies p's bytes for the batch, compressed when that pays.
func (w *pieceWriter) encode(p *piece) *newPiece {
	np := &newPiece{raw: len(p.data), codec: codecRaw}
	for _, c := range p.children {
		np.children = append(np.children, w.split.pieces[c].hash)
	}
	if len(p.data) >= minCompress {
		z := w.enc.EncodeAll(p.data, make([]byte, 0, len(p.data)/2))
		if len(z) < len(p.data)*9/10 {
			np.data, np.codec = z, codecZstd
			return np
		}
	}
	np.data = append([]byte(nil), p.data...)
	return np
}

// appendHash appends h to hs unless it is there.
func appendHash(hs []hash, h hash) []hash {
	for _, x := range hs {
		if x == h {
			return hs
		}
	}
	return append(hs, h)
}
