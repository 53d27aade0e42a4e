package flows

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
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
// decoded. The pieces a piece references are read from its bytes when it
// goes (a list beside them would take a sixth of the store again).
type pieceRow struct {
	Hash    []byte `gorm:"primaryKey"`
	Refs    int64  `gorm:"not null"`
	Size    int64  `gorm:"not null"`
	RawSize int64  `gorm:"not null"`
	Codec   int    `gorm:"not null"`
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
// flow_piece_data and flow_file_pieces, in kirobar.db or a team's shared
// PostgreSQL database. Its statements are plain SQL (IN lists); the
// writer's hot ones are written by hand through the connection, as
// insertFlows' are, with the driver's placeholders (dialect.rebind), and
// on PostgreSQL new pieces are upserts, since a team has several writers.
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

// inList returns "(?,?,…)" for n values. The writer's statements are
// written by hand, as insertFlows' are: GORM's reflection per statement
// cost more than the statements.
func inList(n int) string {
	return "(" + strings.TrimSuffix(strings.Repeat("?,", n), ",") + ")"
}

// hashArgs returns part as statement arguments after the leading ones.
func hashArgs(part [][]byte, lead ...any) []any {
	args := append(make([]any, 0, len(lead)+len(part)), lead...)
	for _, h := range part {
		args = append(args, h)
	}
	return args
}

func (p *sqlPieces) has(ctx context.Context, hashes []hash) (map[hash]bool, error) {
	out := make(map[hash]bool, len(hashes))
	err := chunks(hashes, func(part [][]byte) error {
		q := dialectOf(p.db).rebind("SELECT hash FROM flow_pieces WHERE hash IN " + inList(len(part)))
		rows, err := p.db.Statement.ConnPool.QueryContext(ctx, q, hashArgs(part)...)
		if err != nil {
			return fmt.Errorf("look up flow pieces: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var f []byte
			if err := rows.Scan(&f); err != nil {
				return fmt.Errorf("look up flow pieces: %w", err)
			}
			if len(f) == sha256.Size {
				out[hash(f)] = true
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("look up flow pieces: %w", err)
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
	conn := tx.Statement.ConnPool
	d := dialectOf(tx)
	for n, hs := range byDelta {
		err := chunks(hs, func(part [][]byte) error {
			res, err := conn.ExecContext(ctx, d.rebind("UPDATE flow_pieces SET refs = refs + ? WHERE hash IN "+inList(len(part))), hashArgs(part, n)...)
			if err != nil {
				return fmt.Errorf("add flow piece references: %w", err)
			}
			if got, err := res.RowsAffected(); err != nil || got != int64(len(part)) {
				return fmt.Errorf("add flow piece references: %d of %d pieces are gone (%v)", int64(len(part))-got, len(part), err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	order := make([]hash, 0, len(needed))
	for h := range needed {
		order = append(order, h)
		b.pending[h].stored = true
	}
	// Rows bounded by count, bytes by size as well, per INSERT.
	const perInsert = 100
	for start := 0; start < len(order); {
		end, size := start, 0
		for end < len(order) && end-start < perInsert && (end == start || size+len(b.pending[order[end]].data) <= 4<<20) {
			size += len(b.pending[order[end]].data)
			end++
		}
		meta := make([]any, 0, 5*(end-start))
		data := make([]any, 0, 2*(end-start))
		for _, h := range order[start:end] {
			np := b.pending[h]
			meta = append(meta, h[:], counts[h], len(np.data), np.raw, np.codec)
			data = append(data, h[:], np.data)
		}
		if _, err := conn.ExecContext(ctx, d.insertSQL("flow_pieces", pieceColumns, end-start)+d.pieceUpsert(), meta...); err != nil {
			return fmt.Errorf("store %d flow pieces: %w", end-start, err)
		}
		if _, err := conn.ExecContext(ctx, d.insertSQL("flow_piece_data", []string{"hash", "data"}, end-start)+d.pieceDataUpsert(), data...); err != nil {
			return fmt.Errorf("store %d flow pieces: %w", end-start, err)
		}
		start = end
	}
	for start := 0; start < len(refs); start += 2 * perInsert {
		part := refs[start:min(start+2*perInsert, len(refs))]
		args := make([]any, 0, 2*len(part))
		for _, r := range part {
			args = append(args, r.File, r.Hash)
		}
		if _, err := conn.ExecContext(ctx, d.insertSQL("flow_file_pieces", []string{"file", "hash"}, len(part)), args...); err != nil {
			return fmt.Errorf("store flow piece references: %w", err)
		}
	}
	return nil
}

// pieceColumns are the flow_pieces columns commit writes, in order.
var pieceColumns = []string{"hash", "refs", "size", "raw_size", "codec"}

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
			var dead []storedPiece
			if err := tx.WithContext(ctx).Raw(selectPieces+" AND p.refs <= 0", part).Scan(&dead).Error; err != nil {
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
				kids, err := p.children(d)
				if err != nil {
					return fmt.Errorf("flow piece %x: %w", d.Hash[:min(6, len(d.Hash))], err)
				}
				for _, c := range kids {
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
		var got []storedPiece
		if err := p.db.WithContext(ctx).Raw(selectPieces, part).Scan(&got).Error; err != nil {
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

// storedPiece is a piece as read back: its row and its bytes.
type storedPiece struct {
	Hash    []byte
	Size    int64
	Codec   int
	RawSize int64
	Data    []byte
}

// selectPieces reads the pieces whose hashes are bound to its IN list.
const selectPieces = "SELECT p.hash, p.size, p.codec, p.raw_size, d.data FROM flow_pieces p " +
	"JOIN flow_piece_data d ON d.hash = p.hash WHERE p.hash IN ?"

// children returns the distinct pieces a stored piece references.
func (p *sqlPieces) children(g storedPiece) ([]hash, error) {
	data, err := p.decode(g.Codec, g.RawSize, g.Data)
	if err != nil {
		return nil, err
	}
	return refsIn(data, nil, nil)
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

// errPieceMissing means a body references a piece the store does not
// have: the details were damaged outside kirobar.
var errPieceMissing = errors.New("piece missing from the piece store")
