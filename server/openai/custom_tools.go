package openai

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	json "github.com/goccy/go-json"

	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/internal/jsonw"
)

// Custom (free-form) tools take one string instead of a JSON object: Codex
// declares its code-mode tool "exec" this way (the model writes JavaScript
// that Codex runs) and its apply_patch tool (the model writes a patch).
// Kiro only knows JSON tools, so a custom tool is offered to the model as a
// function with a single string parameter, "input", whose description
// carries the tool's grammar; a call the model makes is unwrapped and
// reported to the client as the custom tool call it declared.

// customSchema is the input schema Kiro sees for every custom tool.
var customSchema = json.RawMessage(`{"type":"object","properties":{"input":{"type":"string","description":"The tool's raw input text, exactly as the tool takes it."}},"required":["input"]}`)

// maxGrammar bounds the grammar definition copied into a custom tool's
// description, so one oversized grammar cannot crowd the description out
// (Kiro cuts descriptions at 10000 characters).
const maxGrammar = 4 << 10

// customFormat is a custom tool's input format: {"type":"text"} or
// {"type":"grammar","syntax":"lark"|"regex","definition":"..."}. Chat
// Completions first nested the grammar as {"type":"grammar","grammar":
// {"syntax","definition"}}; both shapes are read.
type customFormat struct {
	Type       string `json:"type"`
	Syntax     string `json:"syntax"`
	Definition string `json:"definition"`
	Grammar    *struct {
		Syntax     string `json:"syntax"`
		Definition string `json:"definition"`
	} `json:"grammar"`
}

// grammar returns the format's syntax and definition, or a 400 for a
// format kirobar cannot describe to the model.
func (f *customFormat) grammar(param string) (syntax, definition string, err *RequestError) {
	if f == nil {
		return "", "", nil
	}
	switch f.Type {
	case "", "text":
		return "", "", nil
	case "grammar":
	default:
		return "", "", badRequest(param+".type", fmt.Sprintf("%s.type: unknown custom tool format %q (text, grammar)", param, f.Type))
	}
	syntax, definition = f.Syntax, f.Definition
	if f.Grammar != nil {
		if syntax == "" {
			syntax = f.Grammar.Syntax
		}
		if definition == "" {
			definition = f.Grammar.Definition
		}
	}
	if strings.TrimSpace(definition) == "" {
		return "", "", badRequest(param+".definition", param+".definition: a grammar format needs a definition")
	}
	return syntax, definition, nil
}

// customTool is the canonical tool standing for a custom tool: one string
// parameter, and a description that says so before the client's own text
// and quotes the grammar the input must follow. The note comes first so
// that cutting a long description never loses it.
func customTool(param, name, description string, format *customFormat) (canon.Tool, *RequestError) {
	syntax, definition, err := format.grammar(param + ".format")
	if err != nil {
		return canon.Tool{}, err
	}
	var b strings.Builder
	b.WriteString("Free-form tool: its input is plain text, not JSON. Put the whole text, exactly as the tool should receive it, in the string field \"input\".")
	if definition != "" {
		switch syntax {
		case "lark":
			b.WriteString(" The text must match this Lark grammar:")
		case "regex":
			b.WriteString(" The text must match this regular expression:")
		case "":
			b.WriteString(" The text must match this grammar:")
		default:
			fmt.Fprintf(&b, " The text must match this %s grammar:", syntax)
		}
		b.WriteString("\n```\n")
		b.WriteString(boundGrammar(strings.Trim(definition, "\r\n")))
		b.WriteString("\n```")
	}
	if description != "" {
		b.WriteString("\n\n")
		b.WriteString(description)
	}
	return canon.Tool{Name: name, Description: b.String(), InputSchema: customSchema}, nil
}

// boundGrammar cuts a grammar longer than maxGrammar bytes at a character
// boundary and says so, so the model knows it sees only a part.
func boundGrammar(def string) string {
	if len(def) <= maxGrammar {
		return def
	}
	cut := maxGrammar
	for cut > 0 && !utf8.RuneStart(def[cut]) {
		cut--
	}
	return def[:cut] + fmt.Sprintf("\n… (grammar cut at %d of %d bytes)", cut, len(def))
}

// customText is the free-form input of a call the model made to a custom
// tool, from the JSON it wrote: the "input" string, or the only string
// field when the model named it otherwise. Input that is not such an
// object is passed on as written, so the client sees what the model meant
// rather than nothing.
func customText(raw []byte) string {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return ""
	}
	var obj map[string]json.RawMessage
	if trimmed[0] != '{' || json.Unmarshal(trimmed, &obj) != nil {
		return string(trimmed)
	}
	v, ok := obj["input"]
	if !ok && len(obj) == 1 {
		for _, only := range obj {
			v, ok = only, true
		}
	}
	if !ok {
		return string(trimmed)
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(bytes.TrimSpace(v))
}

// customInput is the tool input standing for a custom (free-form) tool
// call's text in history, the shape customSchema declares.
func customInput(s string) json.RawMessage {
	b, err := json.Marshal(map[string]string{"input": s})
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return b
}

// appendCustomCall appends a custom_tool_call item as the Responses API
// shows it (openai-python ResponseCustomToolCall): its input empty until
// the call is complete, its namespace when the tool was declared in one.
func appendCustomCall(dst []byte, it *outItem) []byte {
	dst = append(dst, `,"type":"custom_tool_call","status":`...)
	dst = jsonw.String(dst, itemStatus(it))
	dst = appendCallRef(dst, it)
	dst = append(dst, `,"input":`...)
	if it.done {
		dst = jsonw.String(dst, customText(it.text))
	} else {
		dst = append(dst, `""`...)
	}
	return append(dst, '}')
}

// customInputDone appends the input events of a finished custom tool
// call: response.custom_tool_call_input.delta with the whole input (Kiro
// delivers a tool call complete, so there is nothing to gain from cutting
// it up) and response.custom_tool_call_input.done.
func (s *ResponsesStream) customInputDone(dst []byte, it *outItem, pos int) []byte {
	input := customText(it.text)
	if input != "" {
		dst = s.itemHead(dst, "response.custom_tool_call_input.delta", it, pos)
		dst = append(dst, `,"delta":`...)
		dst = jsonw.String(dst, input)
		dst = s.tail(dst)
	}
	dst = s.itemHead(dst, "response.custom_tool_call_input.done", it, pos)
	dst = append(dst, `,"input":`...)
	dst = jsonw.String(dst, input)
	return s.tail(dst)
}
