package payload

import (
	"bytes"
	"slices"

	"github.com/kirobar/kirobar/internal/jsonscan"
	"github.com/kirobar/kirobar/internal/jsonw"
)

// maxFlattenDepth bounds how deep variants that are themselves combinators
// are flattened.
const maxFlattenDepth = 8

// member is one key and value of a JSON object, both raw.
type member struct {
	key, val []byte
	name     string // the unquoted key
}

// members splits the compact JSON object v into its members, in order.
func members(v []byte) []member {
	var out []member
	if len(v) < 2 || v[0] != '{' {
		return nil
	}
	for i := 1; i < len(v) && v[i] != '}'; {
		ke := jsonscan.SkipString(v, i)
		rawKey := v[i:ke]
		vs := ke + 1
		i = jsonscan.SkipValue(v, vs)
		out = append(out, member{key: rawKey, val: v[vs:i], name: string(keyword(rawKey))})
		if i < len(v) && v[i] == ',' {
			i++
		}
	}
	return out
}

// elements splits the compact JSON array v into its elements.
func elements(v []byte) [][]byte {
	var out [][]byte
	if len(v) < 2 || v[0] != '[' {
		return nil
	}
	for i := 1; i < len(v) && v[i] != ']'; {
		vs := i
		i = jsonscan.SkipValue(v, vs)
		out = append(out, v[vs:i])
		if i < len(v) && v[i] == ',' {
			i++
		}
	}
	return out
}

func isCombinator(name string) bool {
	return name == "anyOf" || name == "oneOf" || name == "allOf"
}

// hasTopCombinator reports whether the compact object v has anyOf, oneOf or
// allOf among its own keys.
func hasTopCombinator(v []byte) bool {
	if !bytes.Contains(v, []byte("Of\"")) {
		return false // cheap exit for the schemas of nearly every tool
	}
	for _, m := range members(v) {
		if isCombinator(m.name) {
			return true
		}
	}
	return false
}

// flattened is an object schema's properties and required names.
type flattened struct {
	props    []member
	required []string
}

func (f *flattened) addProps(v []byte) {
	for _, p := range members(v) {
		if !slices.ContainsFunc(f.props, func(q member) bool { return q.name == p.name }) {
			f.props = append(f.props, p)
		}
	}
}

func addNames(dst []string, names ...string) []string {
	for _, n := range names {
		if !slices.Contains(dst, n) {
			dst = append(dst, n)
		}
	}
	return dst
}

// requiredNames returns the string elements of a "required" array.
func requiredNames(v []byte) []string {
	var out []string
	for _, el := range elements(v) {
		if len(el) >= 2 && el[0] == '"' {
			out = append(out, string(keyword(el)))
		}
	}
	return out
}

// collect gathers the properties and required names of the object schema
// v, flattening its own combinators: allOf variants all apply, so their
// properties and required names are all taken; anyOf and oneOf variants are
// alternatives, so their properties are all offered and only the names
// every variant requires stay required.
func collect(v []byte, depth int) flattened {
	var f flattened
	ms := members(v)
	for _, m := range ms {
		switch m.name {
		case "properties":
			f.addProps(m.val)
		case "required":
			f.required = addNames(f.required, requiredNames(m.val)...)
		}
	}
	if depth >= maxFlattenDepth {
		return f
	}
	for _, m := range ms {
		if !isCombinator(m.name) {
			continue
		}
		var common []string
		first := true
		for _, variant := range elements(m.val) {
			var sub flattened
			if len(variant) > 0 && variant[0] == '{' {
				sub = collect(variant, depth+1)
			}
			f.addProps(propsObject(sub.props))
			if m.name == "allOf" {
				f.required = addNames(f.required, sub.required...)
				continue
			}
			if first {
				common, first = slices.Clone(sub.required), false
				continue
			}
			common = slices.DeleteFunc(common, func(n string) bool { return !slices.Contains(sub.required, n) })
		}
		f.required = addNames(f.required, common...)
	}
	return f
}

// propsObject encodes members as a JSON object.
func propsObject(props []member) []byte {
	out := []byte{'{'}
	for i, p := range props {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, p.key...)
		out = append(out, ':')
		out = append(out, p.val...)
	}
	return append(out, '}')
}

// flattenCombinators rewrites a tool schema with anyOf, oneOf or allOf at
// its top level into one object schema, because Kiro refuses such schemas
// with TOOL_SCHEMA_INVALID (kiro-protocol.md §11.11). The result has the
// root's other keywords, the properties of the root and of every variant
// (first definition of a name wins), and as required the root's names,
// every allOf variant's, and those every anyOf/oneOf variant requires.
// kiro.rs lifts the first object variant only
// (R1ddle1337/kiro.rs:src/anthropic/converter.rs
// strip_top_level_combinators); taking every variant keeps every input the
// tool accepts visible to the model. v is compact JSON; the result is too.
func flattenCombinators(v []byte) []byte {
	f := collect(v, 0)
	out := []byte{'{'}
	sep := func() {
		if len(out) > 1 {
			out = append(out, ',')
		}
	}
	for _, m := range members(v) {
		if isCombinator(m.name) || m.name == "properties" || m.name == "required" {
			continue
		}
		sep()
		out = append(out, m.key...)
		out = append(out, ':')
		out = append(out, m.val...)
	}
	sep()
	out = append(out, `"properties":`...)
	out = append(out, propsObject(f.props)...)
	if len(f.required) > 0 {
		out = append(out, `,"required":[`...)
		for i, n := range f.required {
			if i > 0 {
				out = append(out, ',')
			}
			out = jsonw.String(out, n)
		}
		out = append(out, ']')
	}
	return append(out, '}')
}
