package flows

import (
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// dialect holds the few spellings where the flow index's hand-written SQL
// differs between SQLite (kirobar.db) and PostgreSQL (a team's shared
// store). Everything else is written once in SQL both accept.
type dialect struct {
	pg bool
}

func dialectOf(db *gorm.DB) dialect { return dialect{pg: db.Dialector.Name() == "postgres"} }

// statsIndex pins SQLite to the covering index the sums read; PostgreSQL's
// planner chooses by itself and has no such clause.
func (d dialect) statsIndex() string {
	if d.pg {
		return ""
	}
	return " INDEXED BY idx_flows_stats"
}

// unixSeconds is the whole seconds since the epoch of a time column.
func (d dialect) unixSeconds(col string) string {
	if d.pg {
		return "CAST(FLOOR(EXTRACT(EPOCH FROM " + col + ")) AS BIGINT)"
	}
	return "unixepoch(" + col + ")"
}

// insertSQL builds "INSERT INTO table (cols) VALUES (…),…" for n rows with
// the driver's placeholders: ? for SQLite, $1, $2, … for PostgreSQL.
func (d dialect) insertSQL(table string, cols []string, n int) string {
	var b strings.Builder
	b.Grow(32 + 16*len(cols) + n*(4*len(cols)+2))
	b.WriteString("INSERT INTO ")
	b.WriteString(table)
	b.WriteString(" (")
	b.WriteString(strings.Join(cols, ", "))
	b.WriteString(") VALUES ")
	arg := 0
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for j := range cols {
			if j > 0 {
				b.WriteByte(',')
			}
			arg++
			if d.pg {
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(arg))
			} else {
				b.WriteByte('?')
			}
		}
		b.WriteByte(')')
	}
	return b.String()
}

// rebind writes a statement with ? placeholders for the driver: as it is
// for SQLite, with $1, $2, … for PostgreSQL. The statements it is given
// hold no ? of their own.
func (d dialect) rebind(q string) string {
	if !d.pg {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] != '?' {
			b.WriteByte(q[i])
			continue
		}
		n++
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// pieceUpsert completes the INSERT of new pieces. Instances of a team may
// store the same new piece at once (every agent sends the same system
// prompt): then the second adds its references to the stored one. One
// kirobar is the only writer of its kirobar.db, so there it stays a plain
// INSERT.
func (d dialect) pieceUpsert() string {
	if !d.pg {
		return ""
	}
	return " ON CONFLICT (hash) DO UPDATE SET refs = flow_pieces.refs + excluded.refs"
}

// pieceDataUpsert completes the INSERT of new pieces' bytes: bytes under
// one hash are the same bytes, so a second copy is dropped.
func (d dialect) pieceDataUpsert() string {
	if !d.pg {
		return ""
	}
	return " ON CONFLICT (hash) DO NOTHING"
}
