package payload

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/internal/jsonw"
)

// Tool description texts.
const (
	placeholderDescription = "Tool used in conversation history" // kiro.rs create_placeholder_tool
	truncatedMarker        = "…"
)

// toolNames maps client tool names to names Kiro accepts and remembers the
// renamed ones so responses can be mapped back.
type toolNames struct {
	back map[string]string // Kiro name → client name, renamed only
}

// kiro returns the Kiro name for a client tool name: unchanged when it
// matches [a-zA-Z0-9_-]{1,64}, else shortened (MCP tools often exceed 64
// characters: mcp__plugin_…).
func (n *toolNames) kiro(name string) string {
	if validName(name) {
		return name
	}
	short := shorten(name, "tool")
	if n.back == nil {
		n.back = make(map[string]string)
	}
	n.back[short] = name
	return short
}

// toolSet is the tool specifications of the current message, already
// encoded as comma-separated JSON objects.
type toolSet struct {
	json     []byte
	declared map[string]struct{} // lower-cased Kiro names
	count    counter             // text the model sees in the specs
	// docs are the whole descriptions too long for a tool specification,
	// for the system prompt; notes say so for the flow record.
	docs, notes []string
}

func (s *toolSet) has(name string) bool {
	_, ok := s.declared[strings.ToLower(name)]
	return ok
}

func (s *toolSet) add(name, description string, schema func([]byte) []byte) {
	if s.declared == nil {
		s.declared = make(map[string]struct{})
	}
	s.declared[strings.ToLower(name)] = struct{}{}
	if len(s.json) > 0 {
		s.json = append(s.json, ',')
	}
	s.json = append(s.json, `{"toolSpecification":{"name":`...)
	s.json = jsonw.String(s.json, name)
	s.json = append(s.json, `,"description":`...)
	s.json = jsonw.String(s.json, description)
	s.json = append(s.json, `,"inputSchema":{"json":`...)
	start := len(s.json)
	s.json = schema(s.json)
	s.count.addBytes(s.json[start:])
	s.json = append(s.json, "}}}"...)
	s.count.add(name)
	s.count.add(description)
}

// declareTools encodes the client's tools. The web search server tool
// becomes a web_search tool the model can call (websearch.go); other server
// tools (a Type other than "" or "custom") are skipped: Kiro cannot run
// them. defer_loading is ignored: Kiro has no deferred tool loading, so
// every tool is declared. Duplicate names (case-insensitive, as Kiro
// matches them) keep the first declaration.
func declareTools(tools []canon.Tool, names *toolNames, opt *Options, scratch *bytes.Buffer) toolSet {
	var set toolSet
	// One allocation for the specs: Claude Code's 30 KB of tools grew
	// the buffer a dozen times (a twentieth of kirobar's CPU at load).
	size := 0
	for i := range tools {
		t := &tools[i]
		size += len(t.Name) + escSlack(len(t.Description)) + escSlack(len(t.InputSchema)) + 64
	}
	set.json = make([]byte, 0, size)
	for i := range tools {
		t := &tools[i]
		if t.IsWebSearch() {
			declareWebSearch(&set, t)
			continue
		}
		if t.Type != "" && t.Type != "custom" {
			continue
		}
		name := names.kiro(t.Name)
		if set.has(name) {
			continue
		}
		desc, whole := describe(t.Description, name, opt.ToolDescriptionMax)
		if whole != "" {
			set.docs = append(set.docs, docHeading(name)+"\n"+whole)
			set.notes = append(set.notes, fmt.Sprintf("the description of tool %s (%d characters) is longer than Kiro accepts in a tool (%d); its whole text went to the system prompt", name, utf8.RuneCountInString(whole), opt.ToolDescriptionMax))
		}
		set.add(name, desc, func(dst []byte) []byte {
			return appendSchema(dst, t.InputSchema, opt.FillSchemaDefaults, scratch)
		})
	}
	return set
}

// declarePlaceholders declares every tool the history calls that the
// request does not declare (Kiro rejects history tool uses of undeclared
// tools, and tool results in a request without tools).
func declarePlaceholders(set *toolSet, turns []turn) {
	for i := range turns {
		for _, u := range turns[i].uses {
			if set.has(u.name) {
				continue
			}
			set.add(u.name, placeholderDescription, func(dst []byte) []byte {
				return append(dst, defaultSchema...)
			})
		}
	}
}

// minMovedDescription is the shortest description limit at which a long
// description keeps a head and moves its whole text to the system prompt;
// below it the head alone would say too little, and the text is only cut.
const minMovedDescription = 1000

// describe returns the tool description Kiro gets: a placeholder when
// empty (Kiro rejects empty descriptions), else at most max characters;
// 10000 is kiro.rs's and kiro2api's limit, beyond which Kiro answers
// "Improperly formed request". A longer description is cut at a character
// boundary, and — so that nothing the client documented is lost (Codex's
// exec tool documents every nested tool in 13 KB) — its whole text is
// returned as whole for the system prompt, the cut head pointing there.
func describe(d, name string, max int) (desc, whole string) {
	if strings.TrimSpace(d) == "" {
		return "Tool " + name, ""
	}
	if len(d) <= max || utf8.RuneCountInString(d) <= max {
		return d, ""
	}
	if max < minMovedDescription {
		return cut(d, max-1) + truncatedMarker, ""
	}
	pointer := truncatedMarker + " (continued: the whole description is in the system prompt under \"" + docHeading(name) + "\")"
	return cut(d, max-utf8.RuneCountInString(pointer)) + pointer, d
}

// docHeading titles a tool's whole description in the system prompt.
func docHeading(name string) string { return "Documentation of the tool " + name }

// cut returns the first n characters of d.
func cut(d string, n int) string {
	i := 0
	for j := range d {
		if i == n {
			return d[:j]
		}
		i++
	}
	return d
}
