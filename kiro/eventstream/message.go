// Package eventstream encodes and decodes the AWS event-stream binary
// framing (application/vnd.amazon.eventstream) that Kiro streams responses in.
package eventstream

// Message is one decoded frame: its headers in wire order and its payload.
type Message struct {
	Headers Headers
	Payload []byte
}

// Headers is the ordered header list of a frame.
type Headers []Header

// Header is one frame header. Value holds the typed value: bool, int8,
// int16, int32, int64, []byte, string, time.Time or [16]byte (uuid).
type Header struct {
	Name  string
	Value any
}

// Get returns the value of the string header name, or "" when it is absent
// or not a string.
func (h Headers) Get(name string) string {
	for _, hd := range h {
		if hd.Name == name {
			s, _ := hd.Value.(string)
			return s
		}
	}
	return ""
}

// Well-known header names used by Kiro.
const (
	HeaderMessageType   = ":message-type"
	HeaderEventType     = ":event-type"
	HeaderContentType   = ":content-type"
	HeaderExceptionType = ":exception-type"
	HeaderErrorCode     = ":error-code"
	HeaderErrorMessage  = ":error-message"
)
