package flows

import (
	"context"
	"strings"

	"gorm.io/gorm"
)

// scopedPieces is the piece store of one instance of a team. The pieces
// are shared — a system prompt or a tool list every instance sees is kept
// once — but references are held by detail files, and every instance
// keeps its files in its own home under the same relative names. So
// within the store a file is named by its instance too ("gw1:flows/…"),
// and an instance's repair and retention see and release its own files'
// references only.
type scopedPieces struct {
	inner    pieceStore
	instance string
}

func (s scopedPieces) key(file string) string { return s.instance + ":" + file }

func (s scopedPieces) has(ctx context.Context, hashes []hash) (map[hash]bool, error) {
	return s.inner.has(ctx, hashes)
}

func (s scopedPieces) fileRefs(ctx context.Context, file string) ([]hash, error) {
	return s.inner.fileRefs(ctx, s.key(file))
}

func (s scopedPieces) files(ctx context.Context) ([]string, error) {
	all, err := s.inner.files(ctx)
	if err != nil {
		return nil, err
	}
	prefix := s.key("")
	var own []string
	for _, f := range all {
		if rest, ok := strings.CutPrefix(f, prefix); ok {
			own = append(own, rest)
		}
	}
	return own, nil
}

func (s scopedPieces) commit(ctx context.Context, tx *gorm.DB, b *pieceBatch) error {
	if b == nil || len(b.refs) == 0 {
		return s.inner.commit(ctx, tx, b)
	}
	scoped := *b
	scoped.refs = make([]newRef, len(b.refs))
	for i, r := range b.refs {
		scoped.refs[i] = newRef{file: s.key(r.file), hash: r.hash}
	}
	return s.inner.commit(ctx, tx, &scoped)
}

func (s scopedPieces) release(ctx context.Context, tx *gorm.DB, files []string) (int64, []hash, error) {
	keys := make([]string, len(files))
	for i, f := range files {
		keys[i] = s.key(f)
	}
	return s.inner.release(ctx, tx, keys)
}

func (s scopedPieces) load(ctx context.Context, hashes []hash) (map[hash][]byte, error) {
	return s.inner.load(ctx, hashes)
}

func (s scopedPieces) total(ctx context.Context) (int64, error) { return s.inner.total(ctx) }
