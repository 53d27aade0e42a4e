package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// table prints aligned columns. Every cell passes through Safe, so a value
// can neither break out of its cell with a tab or newline nor send the
// terminal an escape sequence.
type table struct {
	tw    *tabwriter.Writer
	cells []string
}

// newTable starts a table on w; header, when given, is its first row.
func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	if len(header) > 0 {
		t.row(toAny(header)...)
	}
	return t
}

// row adds one line; each cell is printed as by fmt.Sprint.
func (t *table) row(cells ...any) {
	t.cells = t.cells[:0]
	for _, c := range cells {
		t.cells = append(t.cells, Safe(fmt.Sprint(c)))
	}
	fmt.Fprintln(t.tw, strings.Join(t.cells, "\t"))
}

// flush writes the aligned table.
func (t *table) flush() error {
	if err := t.tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
