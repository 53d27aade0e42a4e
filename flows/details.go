package flows

import (
	"encoding/json"
	"fmt"
	"time"
)

const (
	// maxEvents bounds the upstream events kept per flow.
	maxEvents = 2000
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
		len(f.Response) > 0 || len(f.UpstreamEvents) > 0 || f.Capture != nil
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
		ErrorMessage: rd.text(f.ErrorMessage),
		Retryable:    f.Retryable,
	}
	for _, a := range f.Attempts {
		r.Attempts = append(r.Attempts, AttemptRow{
			AccountID:  rd.text(a.AccountID),
			Status:     a.Status,
			ErrorClass: rd.text(a.ErrorClass),
			DurationMS: a.Duration.Milliseconds(),
			Error:      rd.text(a.Error),
		})
	}
	return r
}

// buildDetails turns f into its redacted, capped details line content.
func buildDetails(id string, f *Flow, rd *redactor, limit int) Details {
	d := Details{
		ID:              id,
		Time:            f.Time.UTC(),
		Headers:         rd.headers(f.Headers),
		ClientRequest:   rd.body(f.ClientRequest, limit),
		UpstreamRequest: rd.body(f.UpstreamRequest, limit),
		Response:        rd.body(f.Response, limit),
	}
	events := f.UpstreamEvents
	if len(events) > maxEvents {
		d.EventsOmitted = len(events) - maxEvents
		events = events[:maxEvents]
	}
	for _, e := range events {
		rec := EventRecord{Type: rd.text(e.Type), AtMS: float64(e.At.Microseconds()) / 1000}
		if b := rd.body(e.Payload, limit); b != nil {
			rec.Payload, rec.Text, rec.Note = b.JSON, b.Text, b.Note
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

// encodeDetails renders d as one JSON line (with its newline). If a known
// secret survived redaction in a form the walk could not see, the line is
// replaced by a stub that keeps only the id and says why.
func encodeDetails(d Details, rd *redactor) ([]byte, error) {
	line, err := marshalJSON(d)
	if err != nil {
		return nil, fmt.Errorf("encode details of flow %s: %w", d.ID, err)
	}
	if rd.leaks(line) {
		stub := Details{ID: d.ID, Time: d.Time, Note: "details withheld: a known secret could not be redacted"}
		if line, err = marshalJSON(stub); err != nil {
			return nil, fmt.Errorf("encode details of flow %s: %w", d.ID, err)
		}
	}
	return append(line, '\n'), nil
}
