package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/kirobar/kirobar/flows"
)

// tailPoll is how often `flows tail` looks for new flows.
const tailPoll = 500 * time.Millisecond

const flowsUsage = `usage: kirobar flows <command> [flags]

commands:
  list   [--status S] [--model M] [--account A] [--key K] [--since 1h] [--limit N] [--json]
  show   ID [--json]                 the index row and its details
  tail   [-n N] [--json]             follow new flows
  stats  [--since 24h] [--json]      requests, failures, TTFB p50/p95, tokens, credits
  usage  [--since 30d] [--json]      usage per account, client key and model (kept past retention)
  bundle ID [--out FILE]             a redacted diagnostic archive for a bug report
`

// Flows runs `kirobar flows ...` with args after "flows" and returns the
// process exit code.
func Flows(ctx context.Context, db *gorm.DB, home string, args []string, env Env, extra flows.BundleExtras) int {
	env = env.withDefaults()
	stdout, stderr := SafeWriter(env.Stdout), SafeWriter(env.Stderr)
	if len(args) == 0 || helpArg(args) {
		fmt.Fprint(stderr, flowsUsage)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	if err := flows.Migrate(db); err != nil {
		fmt.Fprintf(stderr, "kirobar flows: %v\n", err)
		return ExitFailure
	}
	store := flows.NewStore(db, home)
	if env.Instance != "" {
		store = store.ForInstance(env.Instance)
	}
	c := &flowsCLI{store: store, stdout: stdout, raw: env.Stdout, now: env.Now}
	var err error
	switch args[0] {
	case "list":
		err = c.list(ctx, args[1:])
	case "show":
		err = c.show(ctx, args[1:])
	case "tail":
		err = c.tail(ctx, args[1:])
	case "stats":
		err = c.stats(ctx, args[1:])
	case "usage":
		err = c.usage(ctx, args[1:])
	case "bundle":
		err = c.bundle(ctx, args[1:], extra)
	default:
		err = usageError(fmt.Sprintf("unknown command %q", args[0]))
	}
	var ue usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "kirobar flows: %v\n\n%s", err, flowsUsage)
		return ExitUsage
	default:
		fmt.Fprintf(stderr, "kirobar flows: %v\n", err)
		return ExitFailure
	}
}

// usageError is a mistake in the command line.
type usageError string

func (e usageError) Error() string { return string(e) }

// flowsCLI carries what the flows subcommands share. stdout is behind
// SafeWriter; raw is the same output for the bundle's bytes.
type flowsCLI struct {
	store       *flows.Store
	stdout, raw io.Writer
	now         func() time.Time
}

// newFlags returns a flag set whose errors become the command's usage
// error.
func (c *flowsCLI) newFlags(name string) *flag.FlagSet {
	return newFlagSet("flows "+name, io.Discard)
}

// parse is parseArgs with its errors as usage errors.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, usageError(err.Error())
	}
	return pos, nil
}

// parseSince reads "1h", "90m", "7d", "2026-01-02" or an RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, usageError(fmt.Sprintf("--since %q: use a duration like 1h or 7d, a date, or an RFC 3339 time", s))
}

func (c *flowsCLI) list(ctx context.Context, args []string) error {
	fs := c.newFlags("list")
	var f flows.Filter
	var since string
	var asJSON bool
	fs.StringVar(&f.Status, "status", "", "completed, failed or cancelled")
	fs.StringVar(&f.Model, "model", "", "client or Kiro model")
	fs.StringVar(&f.Account, "account", "", "account id")
	fs.StringVar(&f.KeyName, "key", "", "client key name")
	fs.StringVar(&since, "since", "", "how far back")
	fs.IntVar(&f.Limit, "limit", 50, "most flows to show")
	fs.BoolVar(&asJSON, "json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("list takes no arguments")
	}
	if f.Since, err = parseSince(since, c.now()); err != nil {
		return err
	}
	rows, err := c.store.List(ctx, f)
	if err != nil {
		return err
	}
	if asJSON {
		if rows == nil {
			rows = []flows.Row{}
		}
		return writeJSON(c.stdout, rows)
	}
	t := newTable(c.stdout, flowColumns...)
	for i := range rows {
		writeRow(t, &rows[i])
	}
	return t.flush()
}

// flowColumns are the column titles of the flow table.
var flowColumns = []string{"TIME", "ID", "STATUS", "HTTP", "MODEL", "ACCOUNT", "KEY", "TTFB", "DURATION", "TOKENS IN/OUT", "CREDITS", "ERROR"}

// writeRow writes one flow as a table line.
func writeRow(t *table, r *flows.Row) {
	model := r.ClientModel
	if r.KiroModel != "" && r.KiroModel != r.ClientModel {
		model += " -> " + r.KiroModel
	}
	errText := r.ErrorType
	if r.ErrorMessage != "" {
		errText = strings.TrimSpace(errText + " " + r.ErrorMessage)
	}
	t.row(r.Time.Local().Format("2006-01-02 15:04:05"), r.ID, r.Status, r.HTTPStatus, dash(model),
		dash(r.AccountID), dash(r.KeyName), ms(r.TTFBMS), ms(r.DurationMS),
		fmt.Sprintf("%d/%d", r.InputTokens, r.OutputTokens), fmt.Sprintf("%.2f", r.Credits), oneLine(errText, 80))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func ms(v int64) string {
	return (time.Duration(v) * time.Millisecond).String()
}

// oneLine flattens s to one line of at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// showJSON is the --json form of `flows show`.
type showJSON struct {
	Flow    flows.Row      `json:"flow"`
	Details *flows.Details `json:"details,omitempty"`
}

func (c *flowsCLI) show(ctx context.Context, args []string) error {
	fs := c.newFlags("show")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("show takes one flow id")
	}
	row, d, err := c.store.Get(ctx, pos[0])
	// Another instance of the team may have served it: then show the
	// index fields, and say where the rest is.
	elsewhere := errors.Is(err, flows.ErrDetailsElsewhere)
	if err != nil && !elsewhere {
		return err
	}
	if elsewhere && !*asJSON {
		fmt.Fprintf(c.stdout, "(instance %s served this flow and keeps its bodies and events: run `kirobar flows show` there for them)\n", row.Instance)
	}
	if *asJSON {
		out := showJSON{Flow: row}
		if d.ID != "" {
			out.Details = &d
		}
		return writeJSON(c.stdout, out)
	}
	return writeShow(c.stdout, &row, &d)
}

// writeShow prints a flow for people: the index fields, the attempts, then
// the details.
func writeShow(w io.Writer, r *flows.Row, d *flows.Details) error {
	t := newTable(w)
	line := func(k, v string) { t.row(k+":", v) }
	line("id", r.ID)
	line("time", r.Time.Local().Format(time.RFC3339Nano))
	line("status", fmt.Sprintf("%s (HTTP %d)", r.Status, r.HTTPStatus))
	line("client key", dash(r.KeyName))
	line("request", fmt.Sprintf("%s %s (stream %t)", dash(r.Surface), dash(r.Path), r.Stream))
	line("model", fmt.Sprintf("%s -> %s", dash(r.ClientModel), dash(r.KiroModel)))
	if r.Instance != "" {
		line("served by", r.Instance)
	}
	line("account", dash(r.AccountID))
	line("ttfb / duration", fmt.Sprintf("%s / %s", ms(r.TTFBMS), ms(r.DurationMS)))
	line("tokens in / out", fmt.Sprintf("%d / %d", r.InputTokens, r.OutputTokens))
	line("credits", strconv.FormatFloat(r.Credits, 'f', -1, 64))
	line("stop reason", dash(r.StopReason))
	if r.ErrorType != "" || r.ErrorMessage != "" {
		line("error", fmt.Sprintf("%s: %s (retryable %t)", dash(r.ErrorType), r.ErrorMessage, r.Retryable))
	}
	for i, a := range r.Attempts {
		line(fmt.Sprintf("attempt %d", i+1), strings.TrimSpace(fmt.Sprintf("account %s, status %d, %s, %s %s",
			dash(a.AccountID), a.Status, dash(a.ErrorClass), ms(a.DurationMS), a.Error)))
	}
	switch {
	case r.FilePath != "":
		line("details", fmt.Sprintf("%s at byte %d", r.FilePath, r.FileOffset))
	case r.DetailsLost != "":
		line("details", "not recorded: "+r.DetailsLost)
	default:
		line("details", "none")
	}
	if err := t.flush(); err != nil {
		return fmt.Errorf("write flow: %w", err)
	}
	if d.ID == "" {
		return nil
	}
	fmt.Fprintln(w)
	return writeJSON(w, d)
}

func (c *flowsCLI) tail(ctx context.Context, args []string) error {
	fs := c.newFlags("tail")
	n := fs.Int("n", 10, "flows to show before following")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("tail takes no arguments")
	}
	last, err := c.store.LastSeq(ctx)
	if err != nil {
		return err
	}
	var recent []flows.Row
	if *n > 0 {
		if recent, err = c.store.List(ctx, flows.Filter{Limit: *n}); err != nil {
			return err
		}
	}
	if !*asJSON {
		t := newTable(c.stdout, flowColumns...)
		if err := t.flush(); err != nil {
			return err
		}
	}
	for i := len(recent) - 1; i >= 0; i-- {
		if err := c.tailRow(&recent[i], *asJSON); err != nil {
			return err
		}
	}
	ticker := time.NewTicker(tailPoll)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		rows, err := c.store.After(ctx, last, 500)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for i := range rows {
			if err := c.tailRow(&rows[i], *asJSON); err != nil {
				return err
			}
			last = rows[i].Seq
		}
	}
}

// tailRow prints one followed flow.
func (c *flowsCLI) tailRow(r *flows.Row, asJSON bool) error {
	if asJSON {
		line, err := compactJSON(r)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(c.stdout, "%s\n", line)
		return err
	}
	t := newTable(c.stdout)
	writeRow(t, r)
	return t.flush()
}

func (c *flowsCLI) stats(ctx context.Context, args []string) error {
	fs := c.newFlags("stats")
	since := fs.String("since", "24h", "how far back")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("stats takes no arguments")
	}
	from, err := parseSince(*since, c.now())
	if err != nil {
		return err
	}
	st, err := c.store.Stats(ctx, from)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(c.stdout, st)
	}
	fmt.Fprintf(c.stdout, "flows since %s\n\n", st.Since.Local().Format("2006-01-02 15:04:05"))
	sections := []struct {
		title  string
		groups []flows.Group
	}{
		{"TOTAL", []flows.Group{st.Total}},
		{"ACCOUNT", st.Accounts},
		{"MODEL", st.Models},
		{"CLIENT KEY", st.Keys},
	}
	t := newTable(c.stdout)
	for i, s := range sections {
		if i > 0 {
			t.row("", "", "", "", "", "", "", "")
		}
		t.row(s.title, "REQUESTS", "FAILURES", "TTFB P50", "TTFB P95", "TOKENS IN", "TOKENS OUT", "CREDITS")
		for _, g := range s.groups {
			t.row(dash(g.Name), g.Requests, g.Failures, ms(g.TTFBP50MS), ms(g.TTFBP95MS), g.InputTokens, g.OutputTokens,
				fmt.Sprintf("%.2f", g.Credits))
		}
	}
	return t.flush()
}

func (c *flowsCLI) usage(ctx context.Context, args []string) error {
	fs := c.newFlags("usage")
	since := fs.String("since", "30d", "how far back (whole days)")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("usage takes no arguments")
	}
	from, err := parseSince(*since, c.now())
	if err != nil {
		return err
	}
	totals, err := c.store.Usage(ctx, from)
	if err != nil {
		return err
	}
	if *asJSON {
		if totals == nil {
			totals = []flows.UsageTotal{}
		}
		return writeJSON(c.stdout, totals)
	}
	t := newTable(c.stdout, "ACCOUNT", "CLIENT KEY", "MODEL", "REQUESTS", "FAILURES", "TOKENS IN", "TOKENS OUT", "CREDITS")
	for _, u := range totals {
		t.row(dash(u.AccountID), dash(u.KeyName), dash(u.Model), u.Requests, u.Failures, u.InputTokens, u.OutputTokens,
			fmt.Sprintf("%.2f", u.Credits))
	}
	return t.flush()
}

// compactJSON encodes v on one line without HTML escaping.
func compactJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode json: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

func (c *flowsCLI) bundle(ctx context.Context, args []string, extra flows.BundleExtras) error {
	fs := c.newFlags("bundle")
	out := fs.String("out", "", "archive path (default kirobar-flow-ID.zip; - for stdout)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("bundle takes one flow id")
	}
	archive, row, err := flows.Bundle(ctx, c.store, pos[0], extra, c.now())
	if err != nil {
		return err
	}
	if *out == "-" {
		_, err := c.raw.Write(archive) // a zip, not text
		return err
	}
	path := *out
	if path == "" {
		path = "kirobar-flow-" + safeName(row.ID) + ".zip"
	}
	if err := os.WriteFile(path, archive, 0o600); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	fmt.Fprintf(c.stdout, "wrote %s (flow %s); check it before attaching it to a report\n", Safe(path), Safe(row.ID))
	return nil
}

// safeName keeps the characters of s that are safe in a file name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return -1
	}, s)
}
