package flows

import (
	"encoding/json"
	"time"
)

// MaxEvents is the most upstream events a flow's details keep; the
// server stops copying events there and counts the rest in
// Flow.EventsOmitted, so a long answer holds no copies that are never
// written.
const MaxEvents = 2000

// MaxEventBytes bounds the upstream event payload bytes the server copies
// for one flow, for the same reason.
const MaxEventBytes = 1 << 20

// Flow statuses.
const (
	StatusCompleted = "completed"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// Capture kinds: why the upstream stream could not be read to its end.
const (
	CaptureDecode  = "decode"
	CaptureTimeout = "timeout"
	CaptureReset   = "reset"
)

// Flow is everything kirobar knows about one client request. The server
// fills one per request and hands it to Recorder.Record; from then on the
// recorder owns it. The index fields go to the database, the detail fields
// (headers, bodies, events, capture) only to the JSON-lines file.
type Flow struct {
	ID          string
	Time        time.Time
	KeyName     string // name of the client key, never the key itself
	Surface     string // anthropic | openai | responses
	Path        string
	ClientModel string
	KiroModel   string
	Stream      bool
	AccountID   string
	Attempts    []Attempt

	Status       string // completed | failed | cancelled
	HTTPStatus   int
	TTFB         time.Duration
	Duration     time.Duration
	InputTokens  int
	OutputTokens int
	Credits      float64
	StopReason   string
	ErrorType    string
	ErrorMessage string
	Retryable    bool

	// Headers are the client's request headers; credentials among them are
	// redacted when the flow is written.
	Headers map[string]string
	// ClientRequest is the raw JSON body as received.
	ClientRequest []byte
	// UpstreamRequest is the JSON body sent to Kiro.
	UpstreamRequest []byte
	// Response is what the client saw (SSE text or JSON).
	Response []byte
	// UpstreamEvents are the decoded upstream events in order.
	UpstreamEvents []Event
	// EventsOmitted counts upstream events not kept in UpstreamEvents
	// (beyond MaxEvents or MaxEventBytes).
	EventsOmitted int
	// Capture holds raw upstream bytes when the stream could not be decoded.
	Capture *Capture
	// Notes say what kirobar changed or noticed beyond the bodies and
	// events: an image it scaled down, a stream the upstream cut.
	Notes []string

	// sizes are the lengths of ClientRequest, UpstreamRequest and Response
	// as kirobar saw them, set when Record cut them to the body cap.
	sizes [3]int
}

// Attempt is one upstream attempt within a flow.
type Attempt struct {
	AccountID  string
	Status     int
	ErrorClass string
	Duration   time.Duration
	Error      string
}

// Event is one decoded upstream event; At is its time since the request
// started.
type Event struct {
	Type    string
	Payload json.RawMessage
	At      time.Duration
}

// Capture keeps the raw upstream bytes around a stream failure so the cause
// is visible rather than guessed.
type Capture struct {
	Kind  string // decode | timeout | reset
	Bytes []byte
	Note  string
}
