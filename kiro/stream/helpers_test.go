package stream

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/kiro"
	"github.com/kirobar/kirobar/kiro/eventstream"
)

// testFrame is one upstream frame in a golden input file. Payload is any
// JSON value, sent compacted; Raw, when set, is sent as the exact payload
// bytes instead (for malformed payloads).
type testFrame struct {
	MessageType   string          `json:"message-type,omitempty"`
	EventType     string          `json:"event-type,omitempty"`
	ExceptionType string          `json:"exception-type,omitempty"`
	ErrorCode     string          `json:"error-code,omitempty"`
	Payload       json.RawMessage `json:"payload,omitempty"`
	Raw           *string         `json:"raw,omitempty"`
}

// testInput is a golden input file: options, frames and how the body ended.
type testInput struct {
	Options struct {
		Thinking      bool              `json:"thinking"`
		ToolNames     map[string]string `json:"toolNames"`
		InputEstimate int               `json:"inputEstimate"`
		ContextWindow int               `json:"contextWindow"`
	} `json:"options"`
	Frames []testFrame `json:"frames"`
	// Cause is how the upstream body ended: "" (cleanly), "timeout",
	// "eof" (cut mid-frame) or "corrupt" (a decode error).
	Cause string `json:"cause,omitempty"`
}

func (in testInput) options() Options {
	return Options{
		Thinking:      in.Options.Thinking,
		ToolNames:     in.Options.ToolNames,
		InputEstimate: in.Options.InputEstimate,
		ContextWindow: in.Options.ContextWindow,
	}
}

type timeoutError struct{}

func (timeoutError) Error() string { return "read body: i/o timeout" }
func (timeoutError) Timeout() bool { return true }

func causeError(s string) error {
	switch s {
	case "":
		return nil
	case "timeout":
		return fmt.Errorf("read upstream: %w", timeoutError{})
	case "eof":
		return fmt.Errorf("read upstream: %w", io.ErrUnexpectedEOF)
	case "corrupt":
		return errors.New("eventstream: message crc mismatch")
	}
	return errors.New(s)
}

func (f testFrame) message() eventstream.Message {
	mt := f.MessageType
	if mt == "" {
		mt = "event"
	}
	h := eventstream.Headers{{Name: eventstream.HeaderMessageType, Value: mt}}
	if f.EventType != "" {
		h = append(h, eventstream.Header{Name: eventstream.HeaderEventType, Value: f.EventType})
	}
	if f.ExceptionType != "" {
		h = append(h, eventstream.Header{Name: eventstream.HeaderExceptionType, Value: f.ExceptionType})
	}
	if f.ErrorCode != "" {
		h = append(h, eventstream.Header{Name: eventstream.HeaderErrorCode, Value: f.ErrorCode})
	}
	h = append(h, eventstream.Header{Name: eventstream.HeaderContentType, Value: "application/json"})
	var p []byte
	switch {
	case f.Raw != nil:
		p = []byte(*f.Raw)
	case len(f.Payload) > 0:
		p = compact(f.Payload)
	}
	return eventstream.Message{Headers: h, Payload: p}
}

func compact(b []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return b
	}
	return buf.Bytes()
}

// run converts frames and ends the stream.
func run(opt Options, frames []eventstream.Message, cause error) ([]canon.Event, *Converter) {
	c := New(opt)
	var evs []canon.Event
	for _, m := range frames {
		evs = c.Feed(evs, m)
	}
	return c.Finish(evs, cause), c
}

// eventJSON is the golden-file form of a canonical event.
type eventJSON struct {
	Kind       string       `json:"kind"`
	Index      *int         `json:"index,omitempty"`
	Block      string       `json:"block,omitempty"`
	ID         string       `json:"id,omitempty"`
	Name       string       `json:"name,omitempty"`
	Delta      string       `json:"delta,omitempty"`
	Signature  string       `json:"signature,omitempty"`
	StopReason string       `json:"stop_reason,omitempty"`
	Usage      *canon.Usage `json:"usage,omitempty"`
	Err        *errorJSON   `json:"error,omitempty"`
}

// errorJSON is an error event as the goldens keep it: the client-facing
// type and message, and the class of the upstream cause that the request
// path judges the account by ("" for a read or decode failure).
type errorJSON struct {
	Type    string `json:"Type"`
	Message string `json:"Message"`
	Class   string `json:"Class,omitempty"`
}

func errorOf(e *canon.StreamError) *errorJSON {
	if e == nil {
		return nil
	}
	j := &errorJSON{Type: e.Type, Message: e.Message}
	if ke, ok := kiro.AsError(e.Cause); ok {
		j.Class = string(ke.Class)
	}
	return j
}

var kindNames = map[canon.EventKind]string{
	canon.BlockStart: "block_start", canon.BlockDelta: "block_delta", canon.BlockStop: "block_stop",
	canon.MessageStop: "message_stop", canon.Error: "error",
}

var blockNames = map[canon.BlockKind]string{
	canon.TextBlock: "text", canon.ThinkingBlock: "thinking", canon.ToolUseBlock: "tool_use",
}

func toJSON(evs []canon.Event) []eventJSON {
	out := make([]eventJSON, 0, len(evs))
	for _, ev := range evs {
		j := eventJSON{Kind: kindNames[ev.Kind], Block: blockNames[ev.Block], ID: ev.ID, Name: ev.Name,
			Delta: ev.Delta, Signature: ev.Signature, StopReason: ev.StopReason, Err: errorOf(ev.Err)}
		switch ev.Kind {
		case canon.BlockStart, canon.BlockDelta, canon.BlockStop:
			i := ev.Index
			j.Index = &i
		case canon.MessageStop:
			u := ev.Usage
			j.Usage = &u
		}
		out = append(out, j)
	}
	return out
}

// wellFormed checks the canonical stream contract: block triples with
// contiguous indexes from 0, one block open at a time, deltas only inside
// their block, tool_use blocks with an id, a name and one valid JSON object
// as input, thinking stops with a signature, and exactly one terminal
// MessageStop or Error as the last event.
func wellFormed(evs []canon.Event) error {
	next, open := 0, -1
	var kind canon.BlockKind
	var input strings.Builder
	for i, ev := range evs {
		if i == len(evs)-1 {
			if ev.Kind != canon.MessageStop && ev.Kind != canon.Error {
				return fmt.Errorf("event %d: last event is kind %d, not a terminal", i, ev.Kind)
			}
			if open >= 0 {
				return fmt.Errorf("event %d: terminal with block %d open", i, open)
			}
			if ev.Kind == canon.Error && (ev.Err == nil || ev.Err.Type == "" || ev.Err.Message == "") {
				return fmt.Errorf("event %d: error without type and message", i)
			}
			if ev.Kind == canon.MessageStop && ev.StopReason == "" {
				return fmt.Errorf("event %d: message stop without a stop reason", i)
			}
			return nil
		}
		switch ev.Kind {
		case canon.BlockStart:
			if open >= 0 {
				return fmt.Errorf("event %d: start of %d while %d is open", i, ev.Index, open)
			}
			if ev.Index != next {
				return fmt.Errorf("event %d: start index %d, want %d", i, ev.Index, next)
			}
			if ev.Block == canon.ToolUseBlock && (ev.ID == "" || ev.Name == "") {
				return fmt.Errorf("event %d: tool_use without id or name", i)
			}
			open, kind = ev.Index, ev.Block
			next++
			input.Reset()
		case canon.BlockDelta:
			if ev.Index != open || ev.Block != kind {
				return fmt.Errorf("event %d: delta for %d/%d, open %d/%d", i, ev.Index, ev.Block, open, kind)
			}
			input.WriteString(ev.Delta)
		case canon.BlockStop:
			if ev.Index != open {
				return fmt.Errorf("event %d: stop of %d, open %d", i, ev.Index, open)
			}
			if kind == canon.ToolUseBlock {
				s := strings.TrimSpace(input.String())
				if !strings.HasPrefix(s, "{") || !json.Valid([]byte(s)) {
					return fmt.Errorf("event %d: tool_use input %q is not a JSON object", i, s)
				}
			}
			if kind == canon.ThinkingBlock && ev.Signature == "" {
				return fmt.Errorf("event %d: thinking block without signature", i)
			}
			open = -1
		default:
			return fmt.Errorf("event %d: terminal kind %d before the end", i, ev.Kind)
		}
	}
	return errors.New("no terminal event")
}

func readInput(path string) (testInput, error) {
	var in testInput
	b, err := os.ReadFile(path)
	if err != nil {
		return in, err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return in, fmt.Errorf("decode %s: %w", path, err)
	}
	return in, nil
}
