package stream

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/kirobar/kirobar/internal/canon"
)

// toolCall is a tool call being buffered until its stop:true frame.
type toolCall struct {
	id    string // upstream toolUseId ("" when the upstream sent none)
	name  string // Kiro's name, mapped back on delivery
	input []byte
}

// toolPayload is a toolUseEvent payload. Input is a fragment of the
// arguments' JSON text, normally a JSON string; some deployments send an
// object instead, and a first frame may carry {} meaning "nothing yet".
type toolPayload struct {
	Name      string    `json:"name"`
	ToolUseID string    `json:"toolUseId"`
	Input     toolInput `json:"input"`
	Stop      bool      `json:"stop"`
}

// toolInput holds the input field of one toolUseEvent as the bytes to append
// to the call's buffered arguments.
type toolInput struct {
	frag []byte
}

// UnmarshalJSON accepts a string fragment or an object. An empty object adds
// nothing: appending "{}" before the string fragments that follow would make
// the arguments invalid JSON.
func (t *toolInput) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || b[0] == 'n': // null
		t.frag = nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		t.frag = []byte(s)
	case b[0] == '{':
		if isEmptyObject(b) {
			t.frag = nil
			return nil
		}
		t.frag = append([]byte(nil), b...)
	default:
		// Numbers, booleans or arrays are not arguments; kept so that
		// validation rejects them visibly instead of dropping them.
		t.frag = append([]byte(nil), b...)
	}
	return nil
}

func isEmptyObject(b []byte) bool {
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return false
	}
	return len(bytes.TrimSpace(b[1:len(b)-1])) == 0
}

func (c *Converter) toolUse(dst []canon.Event, payload []byte) []canon.Event {
	var p toolPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return dst
	}
	if _, dup := c.finished[p.ToolUseID]; dup && p.ToolUseID != "" {
		return dst // the upstream repeated a call already delivered
	}
	tc := c.pendingTool(p.ToolUseID)
	if tc == nil {
		// Kiro streams one tool call at a time: a new id means the previous
		// call ended, with or without its stop frame.
		dst = c.settleTools(dst, true)
		tc = &toolCall{id: p.ToolUseID}
		c.tools = append(c.tools, tc)
	}
	if tc.name == "" {
		tc.name = p.Name
	}
	tc.input = append(tc.input, p.Input.frag...)
	if !p.Stop {
		return dst
	}
	c.removeTool(tc)
	return c.deliverTool(dst, tc, true)
}

func (c *Converter) pendingTool(id string) *toolCall {
	for _, tc := range c.tools {
		if tc.id == id {
			return tc
		}
	}
	return nil
}

func (c *Converter) removeTool(tc *toolCall) {
	for i, t := range c.tools {
		if t == tc {
			c.tools = append(c.tools[:i], c.tools[i+1:]...)
			return
		}
	}
}

// settleTools ends every buffered call that never got stop:true. With
// notify, calls whose input is not a complete JSON object become a
// truncation notice; without it (the stream failed and an Error follows)
// they are dropped.
func (c *Converter) settleTools(dst []canon.Event, notify bool) []canon.Event {
	for _, tc := range c.tools {
		if notify || len(bytes.TrimSpace(tc.input)) > 0 && validInput(tc.input) {
			dst = c.deliverTool(dst, tc, false)
			continue
		}
		c.markFinished(tc.id)
	}
	c.tools = c.tools[:0]
	return dst
}

// deliverTool emits a complete tool call as one block, or, when its input is
// not a valid JSON object, a text notice and stop reason max_tokens. Without
// stop:true, empty input counts as cut off: the arguments never came.
func (c *Converter) deliverTool(dst []canon.Event, tc *toolCall, stopped bool) []canon.Event {
	c.markFinished(tc.id)
	dst = c.flushThinking(dst, false)
	name := tc.name
	if orig, ok := c.opt.ToolNames[name]; ok && orig != "" {
		name = orig
	}
	args := bytes.TrimSpace(tc.input)
	complete := validInput(args) && (stopped || len(args) > 0)
	if len(args) == 0 {
		args = []byte("{}")
	}
	if name == "" || !complete {
		c.stopOverride = canon.StopMaxTokens
		return c.notice(dst, truncationNotice(name, len(tc.input), stopped))
	}
	id := tc.id
	if id == "" {
		c.nAnon++
		id = "tooluse_kirobar_" + strconv.Itoa(c.nAnon)
	}
	c.nTools++
	c.est.addTool(len(args))
	dst = c.openBlock(dst, canon.ToolUseBlock, id, name)
	dst = append(dst, canon.Event{Kind: canon.BlockDelta, Index: c.openIndex, Block: canon.ToolUseBlock, Delta: string(args)})
	return c.closeBlock(dst)
}

func (c *Converter) markFinished(id string) {
	if c.finished == nil {
		c.finished = make(map[string]struct{}, 4)
	}
	c.finished[id] = struct{}{}
}

// validInput reports whether b (after trimming) is empty or one complete JSON
// object, the only shape a tool_use input may have.
func validInput(b []byte) bool {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return true
	}
	return b[0] == '{' && json.Valid(b)
}

// truncationNotice tells the user and the model, in plain words, that a tool
// call did not run and how to avoid the cut.
func truncationNotice(name string, n int, stopped bool) string {
	tool := "a tool"
	if name != "" {
		tool = "the tool " + strconv.Quote(name)
	}
	if stopped {
		return "[kirobar] The upstream sent malformed arguments (" + strconv.Itoa(n) +
			" bytes) for the call to " + tool + ", so it was not run. Please retry the call."
	}
	return "[kirobar] The upstream cut off the call to " + tool + " after " + strconv.Itoa(n) +
		" bytes of arguments, so it was not run. Retry it in smaller pieces, for example write a" +
		" large file in several smaller parts."
}

// notice appends kirobar's own text to the answer, as its own paragraph when
// a text block is already open. It does not count toward output tokens.
func (c *Converter) notice(dst []canon.Event, s string) []canon.Event {
	if c.open && c.openKind == canon.TextBlock {
		s = "\n\n" + s
	}
	return c.emitPlain(dst, canon.TextBlock, s)
}
