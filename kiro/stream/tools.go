package stream

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/kirobar/kirobar/canon"
)

// toolCall is a tool call being buffered until its stop:true frame.
type toolCall struct {
	id    string // upstream toolUseId ("" when the upstream sent none)
	name  string // Kiro's name, mapped back on delivery
	input []byte
}

func isEmptyObject(b []byte) bool {
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return false
	}
	return len(bytes.TrimSpace(b[1:len(b)-1])) == 0
}

// toolUse buffers one toolUseEvent: {"name","toolUseId","input","stop"}.
// input is a fragment of the arguments' JSON text, normally a JSON string;
// some deployments send an object instead, and a first frame may carry {}
// meaning "nothing yet" (appending "{}" before the string fragments that
// follow would make the arguments invalid JSON).
func (c *Converter) toolUse(dst []canon.Event, payload []byte) []canon.Event {
	it, ok := newFieldIter(payload)
	if !ok {
		return dst
	}
	var name, id, input []byte
	stop := false
	for k, v, ok := it.next(); ok; k, v, ok = it.next() {
		switch string(k) {
		case "name":
			name = v
		case "toolUseId":
			id = v
		case "input":
			input = v
		case "stop":
			stop = string(v) == "true"
		}
	}
	c.sawContent, c.toolEnded = true, stop
	c.idBuf, _ = appendString(c.idBuf[:0], id)
	if _, dup := c.finished[string(c.idBuf)]; dup && len(c.idBuf) > 0 {
		return dst // the upstream repeated a call already delivered
	}
	tc := c.pendingTool(string(c.idBuf))
	if tc == nil {
		// Kiro streams one tool call at a time: a new id means the previous
		// call ended, with or without its stop frame.
		dst = c.settleTools(dst, true)
		tc = &toolCall{id: string(c.idBuf)}
		c.tools = append(c.tools, tc)
	}
	if tc.name == "" && name != nil {
		if b, ok := appendString(c.scratch[:0], name); ok {
			c.scratch = b
			tc.name = string(b)
		}
	}
	tc.input = appendInput(tc.input, input)
	if !stop {
		return dst
	}
	c.removeTool(tc)
	return c.deliverTool(dst, tc, true)
}

// appendInput appends one input field's fragment to the buffered arguments.
func appendInput(buf, v []byte) []byte {
	switch {
	case len(v) == 0 || isNull(v):
		return buf
	case v[0] == '"':
		out, _ := appendString(buf, v) // v is a valid JSON string: json.Valid passed
		return out
	case isEmptyObject(v):
		return buf
	}
	// A non-empty object is the whole input; numbers, booleans or arrays are
	// kept so that validation rejects them visibly instead of dropping them.
	return append(buf, v...)
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
