package server

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/flows"
	"github.com/kirobar/kirobar/kiro"
	"github.com/kirobar/kirobar/kiro/eventstream"
	"github.com/kirobar/kirobar/kiro/stream"
)

// upstream is one open Kiro response: frames in, canonical events out.
type upstream struct {
	lease   *accounts.Lease
	resp    *kiro.Response
	dec     *eventstream.Decoder
	conv    *stream.Converter
	start   time.Time
	pending []canon.Event
	done    bool
	cause   error // the read or decode error that ended the stream, if any
	failure error // the classified cause of an in-stream error event, if any
	stop    string

	// search runs the web search loop when the request declares the web
	// search tool (websearch.go); nil otherwise.
	search *searchLoop

	capture  bool
	events   []flows.Event
	omitted  int    // events past flows.MaxEvents or flows.MaxEventBytes
	slab     []byte // holds the copied payloads, a few KB per allocation
	captured int    // payload bytes copied
}

func newUpstream(lease *accounts.Lease, resp *kiro.Response, opt stream.Options, capture bool) *upstream {
	return &upstream{
		lease:   lease,
		resp:    resp,
		dec:     eventstream.NewDecoder(resp.Body),
		conv:    stream.New(opt),
		start:   time.Now(),
		capture: capture,
	}
}

// next returns the next non-empty batch of canonical events; more is false
// once the stream has ended (the batch then holds its last events). With a
// web search loop the stream spans every upstream response of the loop.
func (u *upstream) next() (evs []canon.Event, more bool) {
	if u.search != nil {
		return u.search.next()
	}
	return u.read()
}

// read is next for the current upstream response alone.
func (u *upstream) read() (evs []canon.Event, more bool) {
	if len(u.pending) > 0 {
		evs, u.pending = u.pending, nil
		return evs, !u.done
	}
	if u.done {
		return nil, false
	}
	for {
		msg, err := u.dec.Next()
		if n := u.dec.Skipped(); n > 0 {
			if _, transport := kiro.AsError(err); !transport {
				// The decoder resynchronised past a damaged frame or
				// garbage: part of the answer is missing, so it must not
				// be delivered as if it were whole.
				err = fmt.Errorf("%w: %d damaged frame(s) or run(s) of garbage in the upstream stream; the answer would be incomplete", eventstream.ErrCorrupt, n)
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			u.cause = err
			u.done = true
			evs = u.conv.Finish(nil, err)
			u.noteStop(evs)
			return evs, false
		}
		u.record(msg)
		evs = u.conv.Feed(nil, msg)
		if len(evs) > 0 {
			u.noteStop(evs)
			return evs, true
		}
	}
}

// peek reads until the first content block starts (or the stream fails or
// ends), so the caller can decide whether the attempt succeeded before
// committing a status to the client. It returns an error when the stream
// failed before producing content; the events read stay pending.
func (u *upstream) peek() error {
	for {
		evs, more := u.read()
		u.pending = append(u.pending, evs...)
		for _, ev := range evs {
			switch ev.Kind {
			case canon.BlockStart:
				return nil
			case canon.Error:
				// An exception frame is judged by what it says, through the
				// same policy as an HTTP error (a throttle is a throttle);
				// a read or decode failure by its transport class.
				if ke, ok := kiro.AsError(ev.Err.Cause); ok {
					return ke
				}
				if ke, ok := kiro.AsError(u.cause); ok {
					return ke
				}
				if u.cause != nil {
					return &kiro.Error{Class: kiro.ClassServer, Op: kiro.OpGenerate, Message: "the upstream stream was unusable before any content", Err: u.cause}
				}
				return &kiro.Error{Class: kiro.ClassServer, Op: kiro.OpGenerate, Message: ev.Err.Message}
			}
		}
		if !more {
			break
		}
	}
	// The stream ended without content. A clean end is a (possibly empty)
	// answer; a failure lets the next account try.
	if u.cause != nil {
		if ke, ok := kiro.AsError(u.cause); ok {
			return ke
		}
		return &kiro.Error{Class: kiro.ClassNetwork, Op: kiro.OpGenerate, Message: "the upstream stream failed before any content", Err: u.cause}
	}
	return nil
}

// record copies one upstream event for the flow, up to what the flow's
// details keep (flows.MaxEvents, flows.MaxEventBytes); later ones are only
// counted. Payloads share slab allocations instead of one each.
func (u *upstream) record(msg eventstream.Message) {
	if !u.capture {
		return
	}
	if len(u.events) >= flows.MaxEvents || u.captured+len(msg.Payload) > flows.MaxEventBytes {
		u.omitted++
		return
	}
	typ := msg.Headers.Get(eventstream.HeaderEventType)
	if typ == "" {
		typ = msg.Headers.Get(eventstream.HeaderMessageType) + ":" + msg.Headers.Get(eventstream.HeaderExceptionType)
	}
	if cap(u.slab)-len(u.slab) < len(msg.Payload) {
		u.slab = make([]byte, 0, max(4<<10, len(msg.Payload)))
	}
	start := len(u.slab)
	u.slab = append(u.slab, msg.Payload...)
	u.captured += len(msg.Payload)
	u.events = append(u.events, flows.Event{Type: typ, Payload: u.slab[start:len(u.slab):len(u.slab)], At: time.Since(u.start)})
}

// rawCapture describes an undecodable stream for the flow record.
func (u *upstream) rawCapture() *flows.Capture {
	if u.cause == nil {
		return nil
	}
	// decode: the bytes were wrong (damaged frames, garbage, a frame the
	// upstream cut short and then ended cleanly); timeout: the upstream
	// went silent; reset: the connection failed under the stream.
	kind := flows.CaptureDecode
	if ke, ok := kiro.AsError(u.cause); ok && !errors.Is(u.cause, eventstream.ErrCorrupt) && u.dec.Skipped() == 0 {
		kind = flows.CaptureReset
		if ke.Class == kiro.ClassTimeout {
			kind = flows.CaptureTimeout
		}
	}
	return &flows.Capture{Kind: kind, Bytes: u.dec.LastBad(), Note: u.cause.Error()}
}

func (u *upstream) close() {
	if u.resp != nil && u.resp.Body != nil {
		_ = u.resp.Body.Close()
	}
}

// noteStop remembers the stop reason for the flow record, and the cause
// of an error event for judging the account.
func (u *upstream) noteStop(evs []canon.Event) {
	for _, ev := range evs {
		switch ev.Kind {
		case canon.MessageStop:
			u.stop = ev.StopReason
		case canon.Error:
			if ev.Err != nil && ev.Err.Cause != nil {
				u.failure = ev.Err.Cause
			}
		}
	}
}

// outcomeErr is what the account is judged by once the stream ended: the
// transport failure, else an exception the upstream sent mid-stream that
// is news about the account (a throttle, the quota, a suspension). A server
// failure in the middle of an answer the account was serving does not
// count towards its breaker.
func (u *upstream) outcomeErr() error {
	if u.cause != nil {
		return u.cause
	}
	if ke, ok := kiro.AsError(u.failure); ok && ke.Policy().Account != kiro.ActStrike {
		return ke
	}
	return nil
}
