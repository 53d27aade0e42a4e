package flows

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"
)

// ErrNotFound is returned by Store.Get for an unknown flow id.
var ErrNotFound = errors.New("flow not found")

// ErrAmbiguous is returned by Store.Get for an id prefix that more than
// one flow starts with: the caller's mistake, not the store's.
var ErrAmbiguous = errors.New("flow id prefix is ambiguous")

// defaultLimit is how many flows List returns when no limit is given.
const defaultLimit = 50

// Store answers questions about recorded flows. It only reads, so the CLI
// can use it beside a running kirobar.
type Store struct {
	db       *gorm.DB
	home     string
	pieces   pieceStore
	instance string // see ForInstance
}

// ErrDetailsElsewhere means a flow's details are kept by another instance
// of a team: the index is shared, the detail files are each instance's.
var ErrDetailsElsewhere = errors.New("the flow's details are kept by the instance that served it")

// ForInstance returns the Store as seen by the named instance of a team:
// details of flows other instances served are in their homes, not here.
func (s *Store) ForInstance(name string) *Store {
	c := *s
	c.instance = name
	return &c
}

// NewStore returns a Store over the flow index in db and the details under
// home.
func NewStore(db *gorm.DB, home string) *Store {
	return &Store{db: db, home: home, pieces: newSQLPieces(db)}
}

// Filter selects flows for List. Empty fields match everything.
type Filter struct {
	Status  string
	Model   string // matches the client's or the Kiro model name
	Account string
	KeyName string
	Since   time.Time
	// Until, when set, keeps flows recorded before it.
	Until time.Time
	// Before, when set, keeps flows stored before the flow with this
	// Row.Seq: the cursor of the next page, which stays fast however many
	// flows the index holds (an offset would scan every skipped row).
	Before int64
	Limit  int // 0 means 50; negative means no limit
}

// List returns the flows matching f, newest first.
func (s *Store) List(ctx context.Context, f Filter) ([]Row, error) {
	q := s.db.WithContext(ctx).Model(&Row{})
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Model != "" {
		q = q.Where("client_model = ? OR kiro_model = ?", f.Model, f.Model)
	}
	if f.Account != "" {
		q = q.Where("account_id = ?", f.Account)
	}
	if f.KeyName != "" {
		q = q.Where("key_name = ?", f.KeyName)
	}
	if !f.Since.IsZero() {
		q = q.Where("time >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		q = q.Where("time < ?", f.Until.UTC())
	}
	if f.Before > 0 {
		q = q.Where("seq < ?", f.Before)
	}
	limit := f.Limit
	if limit == 0 {
		limit = defaultLimit
	}
	if limit > 0 {
		q = q.Limit(limit)
	}
	var rows []Row
	if err := q.Order("seq DESC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list flows: %w", err)
	}
	return rows, nil
}

// After returns up to limit flows stored after seq, oldest first: what
// `kirobar flows tail` prints next.
func (s *Store) After(ctx context.Context, seq int64, limit int) ([]Row, error) {
	var rows []Row
	err := s.db.WithContext(ctx).Where("seq > ?", seq).Order("seq ASC").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list new flows: %w", err)
	}
	return rows, nil
}

// LastSeq returns the sequence number of the newest flow, 0 if none.
func (s *Store) LastSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := s.db.WithContext(ctx).Model(&Row{}).Select("COALESCE(MAX(seq), 0)").Scan(&seq).Error
	if err != nil {
		return 0, fmt.Errorf("find newest flow: %w", err)
	}
	return seq, nil
}

// Get returns one flow and its details. id may be a unique prefix of the
// flow's id. A flow without details (see Row.DetailsLost) returns zero
// Details. Request bodies stored as pieces are rebuilt byte for byte and
// checked against their stored hash, so every reader (flows show, the
// dashboard, the bundle) sees the bodies as they were recorded, from
// files of any kirobar version.
func (s *Store) Get(ctx context.Context, id string) (Row, Details, error) {
	row, err := s.find(ctx, id)
	if err != nil {
		return Row{}, Details{}, err
	}
	if row.FilePath == "" {
		return row, Details{}, nil
	}
	var line []byte
	if s.instance != "" && row.Instance != "" && row.Instance != s.instance {
		// Another instance of the team served it: its line is in the
		// shared database, not in this home.
		line, err = s.sharedLine(ctx, row)
	} else {
		line, err = readLine(s.home, row.FilePath, row.FileOffset)
		if err != nil {
			err = fmt.Errorf("details of flow %s: %w", row.ID, err)
		}
	}
	if err != nil {
		return row, Details{}, err
	}
	var d Details
	if err := json.Unmarshal(line, &d); err != nil {
		return row, Details{}, fmt.Errorf("details of flow %s: %w", row.ID, err)
	}
	if d.ID != row.ID {
		return row, Details{}, fmt.Errorf("details of flow %s: line at %s:%d belongs to %q", row.ID, row.FilePath, row.FileOffset, d.ID)
	}
	if err := rebuildBodies(ctx, s.pieces, &d); err != nil {
		return row, Details{}, fmt.Errorf("details of flow %s: %w", row.ID, err)
	}
	return row, d, nil
}

// find looks a flow up by id, then by unique id prefix.
func (s *Store) find(ctx context.Context, id string) (Row, error) {
	if id == "" {
		return Row{}, ErrNotFound
	}
	var rows []Row
	if err := s.db.WithContext(ctx).Where("id = ?", id).Limit(1).Find(&rows).Error; err != nil {
		return Row{}, fmt.Errorf("find flow %s: %w", id, err)
	}
	if len(rows) == 1 {
		return rows[0], nil
	}
	esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(id)
	if err := s.db.WithContext(ctx).Where(`id LIKE ? ESCAPE '\'`, esc+"%").Limit(2).Find(&rows).Error; err != nil {
		return Row{}, fmt.Errorf("find flow %s: %w", id, err)
	}
	switch len(rows) {
	case 0:
		return Row{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	case 1:
		return rows[0], nil
	default:
		return Row{}, fmt.Errorf("%w: %s starts %s and %s; give more of the id", ErrAmbiguous, id, rows[0].ID, rows[1].ID)
	}
}

// Stats summarises flows since a point in time, overall and per account,
// model and client key.
type Stats struct {
	Since    time.Time `json:"since"`
	Total    Group     `json:"total"`
	Accounts []Group   `json:"accounts"`
	Models   []Group   `json:"models"`
	Keys     []Group   `json:"keys"`
}

// Group is the summary of one account, model or client key.
type Group struct {
	Name         string  `json:"name"`
	Requests     int64   `json:"requests"`
	Failures     int64   `json:"failures"`
	TTFBP50MS    int64   `json:"ttfb_p50_ms"`
	TTFBP95MS    int64   `json:"ttfb_p95_ms"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	Credits      float64 `json:"credits"`
}

// Stats computes the summary of flows recorded since since. SQLite does
// the sums and percentiles (see groupsSQL), so a busy day of flows costs a
// few index scans rather than reading every row into Go.
func (s *Store) Stats(ctx context.Context, since time.Time) (Stats, error) {
	out := Stats{Since: since.UTC(), Total: Group{Name: "all"}}
	for _, d := range []struct {
		dim string
		dst *[]Group
	}{{dimAccount, &out.Accounts}, {dimModel, &out.Models}, {dimKey, &out.Keys}} {
		gs, err := s.groups(ctx, d.dim, since)
		if err != nil {
			return Stats{}, fmt.Errorf("flow stats: %w", err)
		}
		*d.dst = sortGroups(gs)
	}
	total, err := s.Total(ctx, since)
	if err != nil {
		return Stats{}, fmt.Errorf("flow stats: %w", err)
	}
	out.Total = total
	return out, nil
}

// sortGroups orders groups most requests first, then by name, so output
// is stable; it never returns nil, which JSON would print as null.
func sortGroups(gs []Group) []Group {
	if gs == nil {
		return []Group{}
	}
	sort.Slice(gs, func(i, j int) bool {
		if gs[i].Requests != gs[j].Requests {
			return gs[i].Requests > gs[j].Requests
		}
		return gs[i].Name < gs[j].Name
	})
	return gs
}

// UsageTotal is usage summed over days for one account, client key and
// model.
type UsageTotal struct {
	AccountID    string  `json:"account_id"`
	KeyName      string  `json:"key_name"`
	Model        string  `json:"model"`
	Requests     int64   `json:"requests"`
	Failures     int64   `json:"failures"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	Credits      float64 `json:"credits"`
}

// Usage returns usage totals per account, client key and model from the
// daily usage table, counting whole days from since's day on. These totals
// survive restarts and retention.
func (s *Store) Usage(ctx context.Context, since time.Time) ([]UsageTotal, error) {
	var out []UsageTotal
	err := s.db.WithContext(ctx).Model(&Usage{}).
		Select("account_id, key_name, model, SUM(requests) AS requests, SUM(failures) AS failures, "+
			"SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens, SUM(credits) AS credits").
		Where("day >= ?", since.Local().Format(dayLayout)).
		Group("account_id, key_name, model").
		Order("account_id, key_name, model").
		Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("flow usage: %w", err)
	}
	return out, nil
}
