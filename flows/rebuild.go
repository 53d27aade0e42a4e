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
		b.JSON, b.Skeleton, b.SHA256 = out, nil, ""
	}
	return nil
}

// rebuild loads the pieces b's skeleton needs, level by level, expands
// it and checks the result against b.SHA256.
func rebuild(ctx context.Context, ps pieceStore, b *Body) ([]byte, error) {
	want, err := hex.DecodeString(b.SHA256)
	if err != nil || len(want) != sha256.Size {
		return nil, fmt.Errorf("bad hash %q", b.SHA256)
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
	out, err := expand(make([]byte, 0, b.Size), b.Skeleton, got, 0, limit)
	if err != nil {
		return nil, err
	}
	if sum := sha256.Sum256(out); string(sum[:]) != string(want) {
		return nil, errors.New("rebuilt bytes do not match the stored hash")
	}
	return out, nil
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
		var err error
		if dst, err = expand(dst, pieces[h], pieces, depth+1, limit); err != nil {
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
