// Package payload builds the conversationState of a Kiro
// generateAssistantResponse request from a canonical (Anthropic Messages)
// request, repairing the history into the shape Kiro accepts.
//
// Kiro is stricter than the Messages API: roles must alternate, the history
// must end with an assistant turn, every tool use needs its result in the
// next turn, every history tool must be declared, no content may be empty.
// Clients break each of these rules in practice. Build applies the repairs
// in the order of kiro-protocol.md §10: role normalisation, merging of
// consecutive same-role turns, dropping a trailing assistant prefill, tool
// pairing repair, images checked and scaled down to Kiro's limits,
// placeholder specs for history tools (and tool schemas flattened where Kiro
// refuses their shape), fillers for empty content, the system prompt pair,
// and the size guard. Effort goes in Kiro's native field where the model
// takes it (Result.Fields).
package payload

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/kirobar/kirobar/internal/jsonw"
	"strings"

	"github.com/google/uuid"
	"github.com/kirobar/kirobar/canon"
)

// Defaults for Options.
const (
	DefaultOrigin             = "AI_EDITOR"
	DefaultToolDescriptionMax = 10000
)

// systemAck is the assistant half of the synthetic system prompt pair
// (kiro.rs).
const systemAck = "I will follow these instructions."

// ErrTooLarge reports a conversation that stays above
// Options.MaxPayloadBytes after all old history that may go has gone. Its
// text is safe to show to clients.
var ErrTooLarge = errors.New("prompt is too long for Kiro: the request exceeds the upstream size limit even after dropping old history")

// Options controls one Build.
type Options struct {
	// ModelID is the resolved Kiro model id, sent on every user message.
	ModelID string
	// ConversationID is sent as conversationId. Empty: the session UUID in
	// metadata.user_id (kiro-protocol.md §2.2), else a fresh UUID.
	ConversationID string
	// Origin is sent on every user message; "" means AI_EDITOR.
	Origin string
	// MaxPayloadBytes bounds the encoded conversationState (the caller
	// leaves room for the envelope with profileArn). 0 disables the guard;
	// otherwise the oldest history pairs are dropped until it fits, keeping
	// the system prompt and valid tool pairing, or Build returns ErrTooLarge.
	MaxPayloadBytes int
	// ToolDescriptionMax caps tool descriptions in characters; 0 means
	// 10000.
	ToolDescriptionMax int
	// SystemInFirstMessage puts the system prompt in front of the first
	// user message (kiro-gateway, AIClient) instead of the default synthetic
	// history pair user:<system> / assistant:"I will follow these
	// instructions." (kiro.rs).
	SystemInFirstMessage bool
	// FillSchemaDefaults normalises tool schemas the kiro.rs way (every
	// object schema gets properties, required and additionalProperties)
	// instead of only removing what Kiro rejects; the two upstream-tested
	// proxies disagree on which Kiro prefers (kiro-protocol.md §2.6).
	FillSchemaDefaults bool
	// Images caches scaled-down images across requests, so a screenshot
	// in the history is scaled once; nil scales every time.
	Images *ImageCache
}

// Result is a built conversationState and what the response side needs.
type Result struct {
	// ConversationState is the JSON object for the "conversationState" field.
	ConversationState []byte
	// ToolNames maps Kiro tool names that differ from the client's back to
	// the client's names, for tool calls in the response. Nil when no name
	// was changed.
	ToolNames map[string]string
	// Thinking is set when thinking tags were injected: the stream converter
	// must split <thinking> out of the text.
	Thinking bool
	// InputEstimate is a cheap token estimate of everything sent.
	InputEstimate int
	// Trimmed counts history entries dropped by the size guard.
	Trimmed int
	// ConversationID is the conversationId sent, for the later requests
	// of a server-side tool loop to continue the same conversation.
	ConversationID string
	// Fields are the request body's top-level members other than
	// conversationState and profileArn, as one JSON object such as
	// {"additionalModelRequestFields":{"output_config":{"effort":"high"}}},
	// or nil when there are none.
	Fields []byte
	// Notes say what the builder changed beyond the usual repairs (an image
	// scaled down to Kiro's limits), for the flow record.
	Notes []string
}

// Build converts req into a Kiro conversationState. Its errors describe a
// problem with the client's request and are safe to return to the client as
// invalid_request_error.
func Build(req *canon.Request, opt Options) (*Result, error) {
	if req == nil {
		return nil, errors.New("request is empty")
	}
	if opt.ModelID == "" {
		return nil, errors.New("model: no Kiro model id")
	}
	if len(req.Messages) == 0 {
		return nil, errors.New("messages: at least one message is required")
	}
	if opt.Origin == "" {
		opt.Origin = DefaultOrigin
	}
	if opt.ToolDescriptionMax <= 0 {
		opt.ToolDescriptionMax = DefaultToolDescriptionMax
	}

	var names toolNames
	turns, notes, err := toTurns(req.Messages, &names)
	if err != nil {
		return nil, err
	}
	turns = mergeTurns(turns)
	if n := len(turns); n > 0 && turns[n-1].role == roleAssistant {
		turns = turns[:n-1] // prefill: Kiro cannot continue an assistant turn
	}
	if len(turns) == 0 {
		return nil, errors.New("messages: at least one user message is required")
	}
	if turns[0].role == roleAssistant {
		turns = append([]turn{{role: roleUser}}, turns...)
	}
	repairPairing(turns)
	ageImages(turns, keepImages)
	imageNotes, err := fitImages(turns, opt.MaxPayloadBytes, opt.Images)
	if err != nil {
		return nil, err
	}

	var scratch bytes.Buffer
	tools := declareTools(req.Tools, &names, &opt, &scratch)
	declarePlaceholders(&tools, turns[:len(turns)-1])

	effort := nativeEffort(req, opt.ModelID)
	prefix := thinkingPrefix(req, effort != "")
	convID := opt.ConversationID
	if convID == "" {
		if convID, err = conversationID(req.Metadata); err != nil {
			return nil, err
		}
	}
	contID, err := uuid.NewRandom()
	if err != nil {
		return nil, fmt.Errorf("agent continuation id: %w", err)
	}

	a := assembler{
		opt:    &opt,
		system: systemText(req.System.Text("\n"), append(notes, tools.docs...), prefix),
		body:   turns[:len(turns)-1],
		cur:    &turns[len(turns)-1],
		tools:  tools.json,
	}
	a.encode(contID.String(), convID)
	trimmed, err := a.fit()
	if err != nil {
		return nil, err
	}
	state := a.assemble()

	count := tools.count
	count.merge(a.count())
	return &Result{
		ConversationState: state,
		ToolNames:         names.back,
		Thinking:          prefix != "",
		InputEstimate:     count.tokens(),
		Trimmed:           trimmed,
		ConversationID:    convID,
		Fields:            effortFields(effort),
		Notes:             buildNotes(imageNotes, tools.notes, trimmed),
	}, nil
}

// buildNotes says, for the flow record, what the builder changed beyond
// the usual repairs.
func buildNotes(images, tools []string, trimmed int) []string {
	notes := append(append([]string(nil), images...), tools...)
	if trimmed > 0 {
		notes = append(notes, fmt.Sprintf("the %d oldest history entries were left out to fit server.max_payload_kb", trimmed))
	}
	return notes
}

// systemText joins the system prompt, the system-role messages and the
// thinking tags (which go first, as kiro.rs places them).
func systemText(system string, notes []string, prefix string) string {
	parts := make([]string, 0, len(notes)+2)
	if prefix != "" {
		parts = append(parts, prefix)
	}
	if strings.TrimSpace(system) != "" {
		parts = append(parts, system)
	}
	for _, n := range notes {
		if strings.TrimSpace(n) != "" {
			parts = append(parts, n)
		}
	}
	if len(parts) > 1 && prefix != "" {
		return prefix + "\n" + strings.Join(parts[1:], "\n\n")
	}
	return strings.Join(parts, "\n\n")
}

// assembler encodes the history entries and the current message, trims the
// history to the size limit and joins the conversationState.
type assembler struct {
	opt    *Options
	system string
	body   []turn // history turns: user, assistant, …, assistant
	cur    *turn
	tools  []byte

	head    []byte   // everything before the current message
	sysPair []byte   // encoded system pair "u,a" (pair placement only)
	entries [][]byte // encoded body[i]
	curJSON []byte
	start   int // first body turn still sent
}

// prefixed reports whether the system text goes in front of turn t.
func (a *assembler) prefixed(t *turn) bool {
	if !a.opt.SystemInFirstMessage || a.system == "" {
		return false
	}
	if a.start < len(a.body) {
		return t == &a.body[a.start]
	}
	return t == a.cur
}

func (a *assembler) userContent(t *turn) string {
	c := userContent(t)
	if a.prefixed(t) {
		if strings.TrimSpace(t.text) == "" && len(t.results) == 0 && len(t.images) == 0 {
			return a.system
		}
		return a.system + "\n\n" + c
	}
	return c
}

func (a *assembler) encodeTurn(dst []byte, t *turn) []byte {
	if t.role == roleAssistant {
		return appendAssistant(dst, t, assistantContent(t))
	}
	return appendUser(dst, t, a.userContent(t), a.opt.ModelID, a.opt.Origin, nil)
}

func (a *assembler) encodeCurrent() {
	a.curJSON = appendUser(a.curJSON[:0], a.cur, a.userContent(a.cur), a.opt.ModelID, a.opt.Origin, a.tools)
}

// encode encodes every entry once, into one buffer.
func (a *assembler) encode(contID, convID string) {
	a.head = append(a.head, `{"agentContinuationId":`...)
	a.head = jsonw.String(a.head, contID)
	a.head = append(a.head, `,"agentTaskType":"vibe","chatTriggerType":"MANUAL","conversationId":`...)
	a.head = jsonw.String(a.head, convID)
	a.head = append(a.head, `,"currentMessage":`...)
	if a.system != "" && !a.opt.SystemInFirstMessage {
		sys := turn{role: roleUser, text: a.system}
		ack := turn{role: roleAssistant, text: systemAck}
		a.sysPair = appendUser(nil, &sys, a.system, a.opt.ModelID, a.opt.Origin, nil)
		a.sysPair = append(a.sysPair, ',')
		a.sysPair = appendAssistant(a.sysPair, &ack, systemAck)
	}
	size := 0
	for i := range a.body {
		size += len(a.body[i].text) + 160
		for _, r := range a.body[i].results {
			size += len(r.text) + 80
		}
	}
	buf := make([]byte, 0, size)
	a.entries = make([][]byte, len(a.body))
	for i := range a.body {
		start := len(buf)
		buf = a.encodeTurn(buf, &a.body[i])
		a.entries[i] = buf[start:len(buf):len(buf)]
	}
	a.encodeCurrent()
}

// size returns the length of the assembled conversationState.
func (a *assembler) size() int {
	n := len(a.head) + len(a.curJSON) + 1 // "}"
	count := 0
	if len(a.sysPair) > 0 {
		n += len(a.sysPair)
		count++
	}
	for _, e := range a.entries[a.start:] {
		n += len(e)
		count++
	}
	if count > 0 {
		n += len(`,"history":[]`) + count - 1
	}
	return n
}

// fit drops the oldest user/assistant pairs of the history (never the
// system prompt, never the current message) until the state fits
// MaxPayloadBytes. The user turn that becomes the oldest loses its tool
// results, whose calls were just dropped, so the tool pairing stays valid.
func (a *assembler) fit() (int, error) {
	limit := a.opt.MaxPayloadBytes
	if limit <= 0 {
		return 0, nil
	}
	for a.size() > limit && a.start+2 <= len(a.body) {
		a.start += 2
		if a.start < len(a.body) {
			t := &a.body[a.start]
			t.results = nil
			a.entries[a.start] = a.encodeTurn(nil, t)
			continue
		}
		// The whole history went: the current message loses its results
		// and, with SystemInFirstMessage, now carries the system text.
		a.cur.results = nil
		a.encodeCurrent()
	}
	if n := a.size(); n > limit {
		return 0, fmt.Errorf("%w (%d bytes, limit %d)", ErrTooLarge, n, limit)
	}
	return a.start, nil
}

// assemble joins the state.
func (a *assembler) assemble() []byte {
	out := make([]byte, 0, a.size())
	out = append(out, a.head...)
	out = append(out, a.curJSON...)
	first := true
	sep := func() {
		if first {
			out = append(out, `,"history":[`...)
			first = false
			return
		}
		out = append(out, ',')
	}
	if len(a.sysPair) > 0 {
		sep()
		out = append(out, a.sysPair...)
	}
	for _, e := range a.entries[a.start:] {
		sep()
		out = append(out, e...)
	}
	if !first {
		out = append(out, ']')
	}
	return append(out, '}')
}

// count returns the estimate counter of everything assembled.
func (a *assembler) count() counter {
	var c counter
	if a.system != "" {
		c.add(a.system)
		c.add(systemAck)
	}
	for i := a.start; i < len(a.body); i++ {
		t := &a.body[i]
		if t.role == roleAssistant {
			c.merge(turnCount(t, assistantContent(t)))
		} else {
			c.merge(turnCount(t, userContent(t)))
		}
	}
	c.merge(turnCount(a.cur, userContent(a.cur)))
	return c
}
