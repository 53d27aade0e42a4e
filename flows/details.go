package flows

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/kirobar/kirobar/internal/jsonw"
	"math"
	"sort"
	"strconv"
	"time"
)

const (
	// maxEvents bounds the upstream events kept per flow.
	maxEvents = MaxEvents
	// maxCaptureBytes bounds the raw upstream bytes kept around a failure.
	maxCaptureBytes = 64 << 10
)

// Details is one flow's line in a flows-NNN.jsonl file. ID comes first so
// a line can be matched to its index row by its prefix.
type Details struct {
	ID              string            `json:"id"`
	Time            time.Time         `json:"time"`
	Headers         map[string]string `json:"headers,omitempty"`
	ClientRequest   *Body             `json:"client_request,omitempty"`
	UpstreamRequest *Body             `json:"upstream_request,omitempty"`
	Response        *Body             `json:"response,omitempty"`
	UpstreamEvents  []EventRecord     `json:"upstream_events,omitempty"`
	// EventsOmitted counts upstream events beyond the per-flow limit.
	EventsOmitted int            `json:"events_omitted,omitempty"`
	Capture       *CaptureRecord `json:"capture,omitempty"`
	// Notes are Flow.Notes: what kirobar changed or noticed.
	Notes []string `json:"notes,omitempty"`
	// Note explains details that were withheld.
	Note string `json:"note,omitempty"`
}

// EventRecord is one upstream event as stored.
type EventRecord struct {
	Type    string          `json:"type"`
	AtMS    float64         `json:"at_ms"`
	Payload json.RawMessage `json:"payload,omitempty"`
	Text    string          `json:"text,omitempty"`
	Note    string          `json:"note,omitempty"`
}

// CaptureRecord is the stored form of a Capture; Bytes appear base64
// encoded in the JSON line.
type CaptureRecord struct {
	Kind  string `json:"kind"`
	Size  int    `json:"size"`
	Bytes []byte `json:"bytes"`
	Note  string `json:"note,omitempty"`
}

// hasDetails reports whether f carries anything for a details line.
func hasDetails(f *Flow) bool {
	return len(f.Headers) > 0 || len(f.ClientRequest) > 0 || len(f.UpstreamRequest) > 0 ||
		len(f.Response) > 0 || len(f.UpstreamEvents) > 0 || f.Capture != nil || len(f.Notes) > 0
}

// stripDetails drops f's detail fields so a queued index row holds no
// large buffers.
func stripDetails(f *Flow) {
	f.Headers = nil
	f.ClientRequest = nil
	f.UpstreamRequest = nil
	f.Response = nil
	f.UpstreamEvents = nil
	f.Capture = nil
	f.Notes = nil
}

// maxRowText bounds each error text in an index row. Rows are read in
// pages and summed by the dashboard; an upstream error body quoted whole
// would make a row hundreds of times its usual size.
const maxRowText = 2 << 10

// rowText redacts s for an index row and cuts it to maxRowText.
func rowText(rd *redactor, s string) string {
	s = rd.text(s)
	if len(s) > maxRowText {
		s = cutUTF8(s, maxRowText) + "…"
	}
	return s
}

// buildRow turns f into its redacted index row.
func buildRow(f *Flow, rd *redactor) Row {
	r := Row{
		ID:           rd.text(f.ID),
		Time:         f.Time.UTC(),
		KeyName:      rd.text(f.KeyName),
		Surface:      f.Surface,
		Path:         rd.text(f.Path),
		ClientModel:  rd.text(f.ClientModel),
		KiroModel:    rd.text(f.KiroModel),
		Stream:       f.Stream,
		AccountID:    rd.text(f.AccountID),
		Status:       f.Status,
		HTTPStatus:   f.HTTPStatus,
		TTFBMS:       f.TTFB.Milliseconds(),
		DurationMS:   f.Duration.Milliseconds(),
		InputTokens:  f.InputTokens,
		OutputTokens: f.OutputTokens,
		Credits:      f.Credits,
		StopReason:   rd.text(f.StopReason),
		ErrorType:    rd.text(f.ErrorType),
		ErrorMessage: rowText(rd, f.ErrorMessage),
		Retryable:    f.Retryable,
	}
	for _, a := range f.Attempts {
		r.Attempts = append(r.Attempts, AttemptRow{
			AccountID:  rd.text(a.AccountID),
			Status:     a.Status,
			ErrorClass: rd.text(a.ErrorClass),
			DurationMS: a.Duration.Milliseconds(),
			Error:      rowText(rd, a.Error),
		})
	}
	return r
}

// scratch holds the writer's buffers from one flow to the next, so a
// steady stream of 50 KB bodies does not allocate 50 KB buffers per flow.
// What buildDetails returns points into it until the next flow.
type scratch struct {
	bodies [3][]byte
	events []byte
	line   []byte
}

// buildDetails turns f into its redacted, capped details line content,
// writing the redacted bodies into sc.
func buildDetails(id string, f *Flow, rd *redactor, limit int, sc *scratch) Details {
	body := func(i int, b []byte, size int) *Body {
		out := rd.body(sc.bodies[i][:0], b, size, limit)
		if out != nil && out.JSON != nil {
			sc.bodies[i] = out.JSON[:0]
		}
		return out
	}
	d := Details{
		ID:              id,
		Time:            f.Time.UTC(),
		Headers:         rd.headers(f.Headers),
		ClientRequest:   body(0, f.ClientRequest, f.sizes[0]),
		UpstreamRequest: body(1, f.UpstreamRequest, f.sizes[1]),
		Response:        body(2, f.Response, f.sizes[2]),
		EventsOmitted:   f.EventsOmitted,
	}
	for _, n := range f.Notes {
		d.Notes = append(d.Notes, rd.text(n))
	}
	events := f.UpstreamEvents
	if len(events) > maxEvents {
		d.EventsOmitted += len(events) - maxEvents
		events = events[:maxEvents]
	}
	if len(events) > 0 {
		d.UpstreamEvents = make([]EventRecord, 0, len(events))
	}
	// One buffer for every event payload, sized so each fits in place.
	room := 0
	for _, e := range events {
		room += len(e.Payload) + len(e.Payload)/16 + 1
	}
	if cap(sc.events) < room {
		sc.events = make([]byte, 0, room)
	}
	sc.events = sc.events[:0]
	for _, e := range events {
		rec := EventRecord{Type: rd.text(e.Type), AtMS: float64(e.At.Microseconds()) / 1000}
		free := sc.events[len(sc.events):]
		if b := rd.body(free, e.Payload, len(e.Payload), limit); b != nil {
			rec.Payload, rec.Text, rec.Note = b.JSON, b.Text, b.Note
			// Later events append after this one: in place while the
			// buffer has room, else in the new buffer the payload grew
			// into, leaving the earlier payloads where they are.
			if n := len(b.JSON); n > 0 && n <= cap(free) {
				sc.events = sc.events[:len(sc.events)+n]
			} else if n > 0 {
				sc.events = b.JSON
			}
		}
		d.UpstreamEvents = append(d.UpstreamEvents, rec)
	}
	if c := f.Capture; c != nil {
		raw := c.Bytes
		rec := &CaptureRecord{Kind: c.Kind, Size: len(raw), Note: rd.text(c.Note)}
		if len(raw) > maxCaptureBytes {
			raw = raw[len(raw)-maxCaptureBytes:]
			rec.Note = joinNote(rec.Note, fmt.Sprintf("kept the last %d of %d bytes", maxCaptureBytes, c.Size()))
		}
		rec.Bytes = rd.bytes(raw)
		d.Capture = rec
	}
	return d
}

// Size is the number of raw bytes the capture holds.
func (c *Capture) Size() int { return len(c.Bytes) }

// joinNote appends b to note a.
func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// appendDetailsLine appends d as one JSON line (with its newline) to dst.
// If a known secret survived redaction in a form the scan could not see,
// the line is replaced by a stub that keeps only the id and says why.
func appendDetailsLine(dst []byte, d *Details, rd *redactor) ([]byte, error) {
	start := len(dst)
	line, err := appendDetails(dst, d)
	if err != nil {
		return dst, fmt.Errorf("encode details of flow %s: %w", d.ID, err)
	}
	if rd.leaks(line[start:]) {
		stub := Details{ID: d.ID, Time: d.Time, Note: "details withheld: a known secret could not be redacted"}
		if line, err = appendDetails(line[:start], &stub); err != nil {
			return dst, fmt.Errorf("encode details of flow %s: %w", d.ID, err)
		}
	}
	return append(line, '\n'), nil
}

// appendDetails writes d as encoding/json would (same keys, omitempty,
// time and number formats) but copies the bodies' redacted JSON as it is:
// json.Marshal would validate and compact every json.RawMessage again.
func appendDetails(b []byte, d *Details) ([]byte, error) {
	if y := d.Time.Year(); y < 0 || y >= 10000 {
		return b, fmt.Errorf("time %v: year outside of range [0,9999]", d.Time)
	}
	b = append(b, `{"id":`...)
	b = jsonw.String(b, d.ID)
	b = append(b, `,"time":"`...)
	b = d.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	if len(d.Headers) > 0 {
		keys := make([]string, 0, len(d.Headers))
		for k := range d.Headers {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, `,"headers":{`...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(jsonw.String(b, k), ':')
			b = jsonw.String(b, d.Headers[k])
		}
		b = append(b, '}')
	}
	b = appendBody(b, "client_request", d.ClientRequest)
	b = appendBody(b, "upstream_request", d.UpstreamRequest)
	b = appendBody(b, "response", d.Response)
	if len(d.UpstreamEvents) > 0 {
		b = append(b, `,"upstream_events":[`...)
		for i, e := range d.UpstreamEvents {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"type":`...)
			b = jsonw.String(b, e.Type)
			b = append(b, `,"at_ms":`...)
			b = appendFloat(b, e.AtMS)
			if len(e.Payload) > 0 {
				b = append(append(b, `,"payload":`...), e.Payload...)
			}
			b = appendField(b, "text", e.Text)
			b = appendField(b, "note", e.Note)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if d.EventsOmitted != 0 {
		b = strconv.AppendInt(append(b, `,"events_omitted":`...), int64(d.EventsOmitted), 10)
	}
	if c := d.Capture; c != nil {
		b = append(b, `,"capture":{"kind":`...)
		b = jsonw.String(b, c.Kind)
		b = strconv.AppendInt(append(b, `,"size":`...), int64(c.Size), 10)
		b = append(b, `,"bytes":`...)
		if c.Bytes == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '"')
			b = base64.StdEncoding.AppendEncode(b, c.Bytes)
			b = append(b, '"')
		}
		b = appendField(b, "note", c.Note)
		b = append(b, '}')
	}
	if len(d.Notes) > 0 {
		b = append(b, `,"notes":[`...)
		for i, n := range d.Notes {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonw.String(b, n)
		}
		b = append(b, ']')
	}
	b = appendField(b, "note", d.Note)
	return append(b, '}'), nil
}

// appendBody writes `,"name":{…}` for a body that is there.
func appendBody(b []byte, name string, body *Body) []byte {
	if body == nil {
		return b
	}
	b = append(append(append(b, `,"`...), name...), `":{"size":`...)
	b = strconv.AppendInt(b, int64(body.Size), 10)
	if len(body.JSON) > 0 {
		b = append(append(b, `,"json":`...), body.JSON...)
	}
	b = appendField(b, "text", body.Text)
	b = appendField(b, "note", body.Note)
	if len(body.Skeleton) > 0 {
		b = append(append(b, `,"skeleton":`...), body.Skeleton...)
	}
	b = appendField(b, "root", body.Root)
	return append(b, '}')
}

// appendField writes `,"name":"value"` unless value is empty.
func appendField(b []byte, name, value string) []byte {
	if value == "" {
		return b
	}
	b = append(append(append(b, `,"`...), name...), `":`...)
	return jsonw.String(b, value)
}

// appendFloat writes f as encoding/json writes a float64.
func appendFloat(b []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return append(b, '0')
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
