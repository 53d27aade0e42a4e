package flows

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/klauspost/compress/zstd"
	"gorm.io/gorm"
)

// hash is a piece's SHA-256, its key in the piece store.
type hash = [sha256.Size]byte

// Piece codecs: how a piece's bytes are stored.
const (
	codecRaw  = 0
	codecZstd = 1
)

// pieceRow is one stored piece in table flow_pieces; its bytes are in
// flow_piece_data, apart, because SQLite rewrites a whole row to change
// one column. Refs counts the references to the piece: one per detail
// file holding a flow that uses it (a fileRef row) and one per stored
// piece whose bytes reference it. References are per file because
// retention frees space a file at a time: a piece lives as long as the
// last file whose lines need it, and a conversation's next turn, written
// to the same file, adds no reference to what it shares with the turn
// before. A piece goes in the transaction that drops its last reference,
// so a stored piece always has a reference and every reference has its
// piece. Size is what its bytes take on disk, RawSize their length
// decoded.
type pieceRow struct {
	Hash     []byte `gorm:"primaryKey"`
	Refs     int64  `gorm:"not null"`
	Size     int64  `gorm:"not null"`
	RawSize  int64  `gorm:"not null"`
	Codec    int    `gorm:"not null"`
	Children []byte // the distinct hashes the bytes reference, concatenated
}

// TableName keeps the table name stable whatever GORM's naming does.
func (pieceRow) TableName() string { return "flow_pieces" }

// pieceData holds a stored piece's bytes (see pieceRow).
type pieceData struct {
	Hash []byte `gorm:"primaryKey"`
	Data []byte `gorm:"not null"`
}

// TableName keeps the table name stable whatever GORM's naming does.
func (pieceData) TableName() string { return "flow_piece_data" }

// fileRef says that a line of detail file File (relative to the home, as
// Row.FilePath) references piece Hash.
type fileRef struct {
	File string `gorm:"primaryKey"`
	Hash []byte `gorm:"primaryKey"`
}

// TableName keeps the table name stable whatever GORM's naming does.
func (fileRef) TableName() string { return "flow_file_pieces" }

// pieceStore keeps the shared pieces of recorded bodies, counted by
// reference. It is the seam for another database: the recorder and the
// Store only use these methods, each running inside the transaction of
// the index rows it belongs with where it changes anything, so a flow's
// row, its references and its pieces commit or vanish together.
// sqlPieces, over kirobar.db, is the default.
type pieceStore interface {
	// has returns which of hashes are stored.
	has(ctx context.Context, hashes []hash) (map[hash]bool, error)
	// fileRefs returns the pieces the lines of detail file file
	// reference.
	fileRefs(ctx context.Context, file string) ([]hash, error)
	// files returns every detail file that references pieces.
	files(ctx context.Context) ([]string, error)
	// commit, in the batch's transaction, adds b's new file references
	// and stores the new pieces they need.
	commit(ctx context.Context, tx *gorm.DB, b *pieceBatch) error
	// release, in the transaction that deletes the index rows of detail
	// files, drops the files' references and deletes every piece left
	// without one; it returns the bytes freed and the pieces deleted.
	release(ctx context.Context, tx *gorm.DB, files []string) (int64, []hash, error)
	// load returns the decoded bytes of the stored pieces among hashes.
	load(ctx context.Context, hashes []hash) (map[hash][]byte, error)
	// total returns the bytes all pieces take.
	total(ctx context.Context) (int64, error)
}

// sqlPieces is the pieceStore in the flow database's tables flow_pieces,
// flow_piece_data and flow_file_pieces. The statements are plain SQL that SQLite and PostgreSQL
// both run.
type sqlPieces struct {
	db *gorm.DB

	decOnce sync.Once // the decoder is made on the first read
	dec     *zstd.Decoder
	decErr  error
}

// newSQLPieces returns the piece store over db.
func newSQLPieces(db *gorm.DB) *sqlPieces {
	return &sqlPieces{db: db}
}

// inChunk bounds the hashes bound in one IN list, well inside every
// database's limit on parameters.
const inChunk = 500

// chunks calls fn with hs in pieces of at most inChunk.
func chunks(hs []hash, fn func(part [][]byte) error) error {
	part := make([][]byte, 0, min(len(hs), inChunk))
	for i := 0; i < len(hs); i += inChunk {
		part = part[:0]
		for j := i; j < min(i+inChunk, len(hs)); j++ {
			part = append(part, hs[j][:])
		}
		if err := fn(part); err != nil {
			return err
		}
	}
	return nil
}

func (p *sqlPieces) has(ctx context.Context, hashes []hash) (map[hash]bool, error) {
	out := make(map[hash]bool, len(hashes))
	err := chunks(hashes, func(part [][]byte) error {
		var found [][]byte
		if err := p.db.WithContext(ctx).Model(&pieceRow{}).Where("hash IN ?", part).Pluck("hash", &found).Error; err != nil {
			return fmt.Errorf("look up flow pieces: %w", err)
		}
		for _, f := range found {
			if len(f) == sha256.Size {
				out[hash(f)] = true
			}
		}
		return nil
	})
	return out, err
}

func (p *sqlPieces) fileRefs(ctx context.Context, file string) ([]hash, error) {
	var got [][]byte
	if err := p.db.WithContext(ctx).Model(&fileRef{}).Where("file = ?", file).Pluck("hash", &got).Error; err != nil {
		return nil, fmt.Errorf("read the piece references of %s: %w", file, err)
	}
	out := make([]hash, 0, len(got))
	for _, g := range got {
		if len(g) == sha256.Size {
			out = append(out, hash(g))
		}
	}
	return out, nil
}

func (p *sqlPieces) files(ctx context.Context) ([]string, error) {
	var out []string
	if err := p.db.WithContext(ctx).Model(&fileRef{}).Distinct().Pluck("file", &out).Error; err != nil {
		return nil, fmt.Errorf("list the files that reference pieces: %w", err)
	}
	return out, nil
}

func (p *sqlPieces) commit(ctx context.Context, tx *gorm.DB, b *pieceBatch) error {
	if b == nil || len(b.refs) == 0 {
		return nil
	}
	counts := make(map[hash]int64)
	needed := make(map[hash]bool)
	var visit func(h hash)
	visit = func(h hash) {
		np, ok := b.pending[h]
		if !ok || needed[h] {
			return
		}
		needed[h] = true
		for _, c := range np.children {
			counts[c]++
			visit(c)
		}
	}
	refs := make([]fileRef, 0, len(b.refs))
	for _, r := range b.refs {
		counts[r.hash]++
		visit(r.hash)
		refs = append(refs, fileRef{File: r.file, Hash: r.hash[:]})
	}
	byDelta := make(map[int64][]hash)
	for h, n := range counts {
		if !needed[h] {
			byDelta[n] = append(byDelta[n], h)
		}
	}
	for n, hs := range byDelta {
		err := chunks(hs, func(part [][]byte) error {
			res := tx.WithContext(ctx).Exec("UPDATE flow_pieces SET refs = refs + ? WHERE hash IN ?", n, part)
			if res.Error != nil {
				return fmt.Errorf("add flow piece references: %w", res.Error)
			}
			if res.RowsAffected != int64(len(part)) {
				return fmt.Errorf("add flow piece references: %d of %d pieces are gone", int64(len(part))-res.RowsAffected, len(part))
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	fresh := make([]pieceRow, 0, len(needed))
	data := make([]pieceData, 0, len(needed))
	for h := range needed {
		np := b.pending[h]
		np.stored = true
		fresh = append(fresh, pieceRow{Hash: h[:], Refs: counts[h], Size: int64(len(np.data)), RawSize: int64(np.raw),
			Codec: np.codec, Children: joinHashes(np.children)})
		data = append(data, pieceData{Hash: h[:], Data: np.data})
	}
	if len(fresh) > 0 {
		if err := tx.WithContext(ctx).CreateInBatches(fresh, 200).Error; err != nil {
			return fmt.Errorf("store %d flow pieces: %w", len(fresh), err)
		}
	}
	// Bound each INSERT of bytes by its size as well as its rows.
	for start := 0; start < len(data); {
		end, size := start, 0
		for end < len(data) && end-start < 100 && (end == start || size+len(data[end].Data) <= 4<<20) {
			size += len(data[end].Data)
			end++
		}
		if err := tx.WithContext(ctx).Create(data[start:end]).Error; err != nil {
			return fmt.Errorf("store %d flow pieces: %w", end-start, err)
		}
		start = end
	}
	if err := tx.WithContext(ctx).CreateInBatches(refs, 300).Error; err != nil {
		return fmt.Errorf("store flow piece references: %w", err)
	}
	return nil
}

func (p *sqlPieces) release(ctx context.Context, tx *gorm.DB, files []string) (int64, []hash, error) {
	if len(files) == 0 {
		return 0, nil, nil
	}
	var got [][]byte
	if err := tx.WithContext(ctx).Model(&fileRef{}).Where("file IN ?", files).Pluck("hash", &got).Error; err != nil {
		return 0, nil, fmt.Errorf("read flow piece references: %w", err)
	}
	if len(got) == 0 {
		return 0, nil, nil
	}
	if err := tx.WithContext(ctx).Where("file IN ?", files).Delete(&fileRef{}).Error; err != nil {
		return 0, nil, fmt.Errorf("drop flow piece references: %w", err)
	}
	dec := make(map[hash]int64)
	for _, g := range got {
		if len(g) == sha256.Size {
			dec[hash(g)]++
		}
	}
	var freed int64
	var deleted []hash
	for len(dec) > 0 {
		byDelta := make(map[int64][]hash)
		all := make([]hash, 0, len(dec))
		for h, n := range dec {
			byDelta[n] = append(byDelta[n], h)
			all = append(all, h)
		}
		for n, hs := range byDelta {
			err := chunks(hs, func(part [][]byte) error {
				if err := tx.WithContext(ctx).Exec("UPDATE flow_pieces SET refs = refs - ? WHERE hash IN ?", n, part).Error; err != nil {
					return fmt.Errorf("drop flow piece references: %w", err)
				}
				return nil
			})
			if err != nil {
				return freed, deleted, err
			}
		}
		next := make(map[hash]int64)
		err := chunks(all, func(part [][]byte) error {
			var dead []pieceRow
			if err := tx.WithContext(ctx).Model(&pieceRow{}).Select("hash", "size", "children").
				Where("hash IN ? AND refs <= 0", part).Find(&dead).Error; err != nil {
				return fmt.Errorf("find unused flow pieces: %w", err)
			}
			if len(dead) == 0 {
				return nil
			}
			gone := make([][]byte, len(dead))
			for i, d := range dead {
				gone[i] = d.Hash
				freed += d.Size
				if len(d.Hash) == sha256.Size {
					deleted = append(deleted, hash(d.Hash))
				}
				for _, c := range splitHashes(d.Children) {
					next[c]++
				}
			}
			if err := tx.WithContext(ctx).Exec("DELETE FROM flow_pieces WHERE hash IN ?", gone).Error; err != nil {
				return fmt.Errorf("delete unused flow pieces: %w", err)
			}
			if err := tx.WithContext(ctx).Exec("DELETE FROM flow_piece_data WHERE hash IN ?", gone).Error; err != nil {
				return fmt.Errorf("delete unused flow pieces: %w", err)
			}
			return nil
		})
		if err != nil {
			return freed, deleted, err
		}
		dec = next
	}
	return freed, deleted, nil
}

func (p *sqlPieces) load(ctx context.Context, hashes []hash) (map[hash][]byte, error) {
	out := make(map[hash][]byte, len(hashes))
	err := chunks(hashes, func(part [][]byte) error {
		var got []struct {
			Hash    []byte
			Codec   int
			RawSize int64
			Data    []byte
		}
		if err := p.db.WithContext(ctx).Raw("SELECT p.hash, p.codec, p.raw_size, d.data FROM flow_pieces p "+
			"JOIN flow_piece_data d ON d.hash = p.hash WHERE p.hash IN ?", part).Scan(&got).Error; err != nil {
			return fmt.Errorf("read flow pieces: %w", err)
		}
		for _, g := range got {
			if len(g.Hash) != sha256.Size {
				continue
			}
			data, err := p.decode(g.Codec, g.RawSize, g.Data)
			if err != nil {
				return fmt.Errorf("flow piece %x: %w", g.Hash[:6], err)
			}
			out[hash(g.Hash)] = data
		}
		return nil
	})
	return out, err
}

// decode returns a stored piece's bytes.
func (p *sqlPieces) decode(codec int, rawSize int64, data []byte) ([]byte, error) {
	switch codec {
	case codecRaw:
		return data, nil
	case codecZstd:
		p.decOnce.Do(func() {
			p.dec, p.decErr = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30))
		})
		if p.decErr != nil {
			return nil, fmt.Errorf("piece decoder: %w", p.decErr)
		}
		out, err := p.dec.DecodeAll(data, make([]byte, 0, rawSize))
		if err != nil {
			return nil, fmt.Errorf("decompress: %w", err)
		}
		if int64(len(out)) != rawSize {
			return nil, fmt.Errorf("decompressed %d bytes, want %d", len(out), rawSize)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("unknown codec %d", codec)
	}
}

func (p *sqlPieces) total(ctx context.Context) (int64, error) {
	var n int64
	if err := p.db.WithContext(ctx).Model(&pieceRow{}).Select("COALESCE(SUM(size), 0)").Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("sum flow pieces: %w", err)
	}
	return n, nil
}

// joinHashes concatenates hashes, sorted so the same set is always stored
// the same.
func joinHashes(hs []hash) []byte {
	sorted := append([]hash(nil), hs...)
	sort.Slice(sorted, func(i, j int) bool { return string(sorted[i][:]) < string(sorted[j][:]) })
	out := make([]byte, 0, len(sorted)*sha256.Size)
	for _, h := range sorted {
		out = append(out, h[:]...)
	}
	return out
}

// splitHashes is the inverse of joinHashes; a trailing partial hash (a
// damaged row) is ignored.
func splitHashes(b []byte) []hash {
	out := make([]hash, 0, len(b)/sha256.Size)
	for len(b) >= sha256.Size {
		out = append(out, hash(b[:sha256.Size]))
		b = b[sha256.Size:]
	}
	return out
}

// errPieceMissing means a body references a piece the store does not
// have: the details were damaged outside kirobar.
var errPieceMissing = errors.New("piece missing from the piece store")
