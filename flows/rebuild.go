package flows

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// maxRebuildDepth bounds how deep references nest when a body is rebuilt:
// far more than splitting makes (objects nest strings and runs of runs),
// and a guard against a damaged store that references in a circle.
const maxRebuildDepth = 256

// rebuildBodies turns every body of d stored as a skeleton back into its
// JSON, byte for byte as the recorder redacted it. A body that cannot be
// rebuilt (a piece missing or damaged, the hash not matching) keeps no
// JSON and says why in its note; the rest of the details still read.
func rebuildBodies(ctx context.Context, ps pieceStore, d *Details) error {
	for _, b := range []*Body{d.ClientRequest, d.UpstreamRequest, d.Response} {
		if b == nil || len(b.Skeleton) == 0 {
			continue
		}
		out, err := rebuild(ctx, ps, b)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			b.Note = joinNote(b.Note, "body could not be rebuilt from its pieces: "+err.Error())
		}
		b.JSON, b.Skeleton, b.Root = out, nil, ""
	}
	return nil
}

// rebuild loads the pieces b's skeleton needs, level by level, checking
// the skeleton against b.Root and each piece against the hash it is
// referenced by, and expands it: bytes that pass are the body's bytes.
func rebuild(ctx context.Context, ps pieceStore, b *Body) ([]byte, error) {
	want, err := hex.DecodeString(b.Root)
	if err != nil || len(want) != sha256.Size {
		return nil, fmt.Errorf("bad hash %q", b.Root)
	}
	if sum := sha256.Sum256(b.Skeleton); string(sum[:]) != string(want) {
		return nil, errors.New("skeleton does not match the stored hash")
	}
	got := make(map[hash][]byte)
	need, err := refsIn(b.Skeleton, got, nil)
	if err != nil {
		return nil, err
	}
	for len(need) > 0 {
		loaded, err := ps.load(ctx, need)
		if err != nil {
			return nil, err
		}
		var next []hash
		for _, h := range need {
			data, ok := loaded[h]
			if !ok {
				return nil, fmt.Errorf("%w: %x", errPieceMissing, h[:6])
			}
			if sha256.Sum256(data) != h {
				return nil, fmt.Errorf("piece %x does not match its hash", h[:6])
			}
			got[h] = data
		}
		for _, h := range need {
			if next, err = refsIn(got[h], got, next); err != nil {
				return nil, err
			}
		}
		need = next
	}
	// The rebuilt body is never longer than what kirobar kept of it.
	limit := max(4*b.Size, 1<<20)
	return expand(make([]byte, 0, b.Size), b.Skeleton, got, 0, limit)
}

// refsIn appends to dst the references in b that are neither in have nor
// in dst already.
func refsIn(b []byte, have map[hash][]byte, dst []hash) ([]hash, error) {
	for from := 0; ; {
		at, h, ok := nextRef(b, from)
		if !ok {
			return dst, errors.New("malformed piece reference")
		}
		if at < 0 {
			return dst, nil
		}
		if _, seen := have[h]; !seen {
			dst = appendHash(dst, h)
		}
		from = at + refLen
	}
}

// expand appends b to dst with every reference replaced by its piece,
// recursively.
func expand(dst, b []byte, pieces map[hash][]byte, depth, limit int) ([]byte, error) {
	if depth > maxRebuildDepth {
		return dst, errors.New("pieces nest too deep")
	}
	for from := 0; ; {
		at, h, ok := nextRef(b, from)
		if !ok {
			return dst, errors.New("malformed piece reference")
		}
		if at < 0 {
			dst = append(dst, b[from:]...)
			break
		}
		dst = append(dst, b[from:at]...)
		data, ok := pieces[h]
		if !ok {
			return dst, fmt.Errorf("%w: %x", errPieceMissing, h[:6])
		}
		var err error
		if dst, err = expand(dst, data, pieces, depth+1, limit); err != nil {
			return dst, err
		}
		if len(dst) > limit {
			return dst, errors.New("rebuilt body is larger than the body recorded")
		}
		from = at + refLen
	}
	if len(dst) > limit {
		return dst, errors.New("rebuilt body is larger than the body recorded")
	}
	return dst, nil
}
