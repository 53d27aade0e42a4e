package payload

import (
	"bytes"
	"github.com/kirobar/kirobar/internal/jsonw"
	"strings"
	"unicode/utf8"

	"github.com/kirobar/kirobar/canon"
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
		set.add(name, description(t.Description, name, opt.ToolDescriptionMax), func(dst []byte) []byte {
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

// description returns the tool description Kiro gets: a placeholder when
// empty (Kiro rejects empty descriptions), else at most max characters.
// Longer descriptions are cut at a character boundary and end in "…" so the
// model can tell; 10000 is kiro.rs's and kiro2api's limit, beyond which Kiro
// answers "Improperly formed request".
func description(d, name string, max int) string {
	if strings.TrimSpace(d) == "" {
		return "Tool " + name
	}
	if len(d) <= max {
		return d
	}
	if utf8.RuneCountInString(d) <= max {
		return d
	}
	n := 0
	for i := range d {
		if n == max-1 {
			return d[:i] + truncatedMarker
		}
		n++
	}
	return d
}
