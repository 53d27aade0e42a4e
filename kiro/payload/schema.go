package payload

import (
	"bytes"
	json "github.com/goccy/go-json"
	"github.com/kirobar/kirobar/internal/jsonscan"
)

// defaultSchema is the input schema of tools that declare none and of
// placeholder tools: an object with any properties.
const defaultSchema = `{"type":"object","properties":{}}`

// appendSchema appends the tool input schema raw, rewritten into a shape
// Kiro accepts, to dst. It works on the raw bytes in one pass (no decoding
// into maps), because Claude Code sends a dozen schemas of a few KB each on
// every request.
//
// The rewrite is schema-aware: keywords are only touched where a schema is
// expected (not inside "enum", "default" or property names), recursively
// through properties, items, combinators and definitions. It
//   - drops "$schema", "$id" and "$comment", which Kiro rejects;
//   - turns "properties": null into {} and drops "required": null, a
//     "required" that is not an array of strings, and other null keywords
//     (MCP tools send them; Kiro answers 400);
//   - drops an empty "required": [] (kiro-gateway saw 400s for it) unless
//     fill is set;
//   - flattens anyOf, oneOf and allOf at the root into one object schema
//     (flattenCombinators), which Kiro otherwise refuses;
//   - makes the root "type" "object" (tool input is always an object) and
//     gives the root "properties" when missing;
//   - drops a "type" that is not a non-empty string or array of them;
//   - with fill (kiro.rs's normalisation), adds "properties":{},
//     "required":[] and "additionalProperties":true to every object schema
//     that lacks them.
//
// An input that is empty, not JSON or not an object becomes defaultSchema.
func appendSchema(dst []byte, raw json.RawMessage, fill bool, scratch *bytes.Buffer) []byte {
	scratch.Reset()
	if len(raw) == 0 || json.Compact(scratch, raw) != nil {
		return append(dst, defaultSchema...)
	}
	v := scratch.Bytes()
	if v[0] != '{' {
		return append(dst, defaultSchema...)
	}
	if hasTopCombinator(v) {
		v = flattenCombinators(v)
	}
	return rewriteSchema(dst, v, true, fill)
}

// rewriteSchema appends the schema v (compact, valid JSON) to dst.
func rewriteSchema(dst, v []byte, root, fill bool) []byte {
	if len(v) == 0 || v[0] != '{' {
		if bytes.Equal(v, []byte("null")) {
			return append(dst, "{}"...)
		}
		return append(dst, v...) // boolean schema
	}
	var seenType, seenProps, seenRequired, seenAdditional, objectLike bool
	objectLike = root
	first := true
	key := func(dst, rawKey []byte) []byte {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, rawKey...)
		return append(dst, ':')
	}
	dst = append(dst, '{')
	for i := 1; i < len(v) && v[i] != '}'; {
		ks := i
		ke := jsonscan.SkipString(v, i)
		rawKey := v[ks:ke]
		vs := ke + 1
		i = jsonscan.SkipValue(v, vs)
		val := v[vs:i]
		if i < len(v) && v[i] == ',' {
			i++
		}
		isNull := bytes.Equal(val, []byte("null"))
		name := keyword(rawKey)
		switch string(name) {
		case "$schema", "$id", "$comment":
		case "properties":
			seenProps, objectLike = true, true
			dst = key(dst, rawKey)
			dst = appendSchemaMap(dst, val, fill)
		case "patternProperties", "$defs", "definitions", "dependentSchemas":
			if val[0] == '{' {
				dst = key(dst, rawKey)
				dst = appendSchemaMap(dst, val, fill)
			}
		case "required":
			objectLike = true
			n := countStrings(val)
			if n == 0 && !fill {
				continue
			}
			seenRequired = true
			dst = key(dst, rawKey)
			dst = appendStrings(dst, val)
		case "additionalProperties", "unevaluatedProperties":
			objectLike = true
			if isNull {
				continue
			}
			seenAdditional = seenAdditional || string(name) == "additionalProperties"
			dst = key(dst, rawKey)
			dst = rewriteSchema(dst, val, false, fill)
		case "items", "additionalItems", "unevaluatedItems", "contains", "propertyNames",
			"not", "if", "then", "else":
			if isNull {
				continue
			}
			dst = key(dst, rawKey)
			if val[0] == '[' {
				dst = appendSchemaArray(dst, val, fill)
			} else {
				dst = rewriteSchema(dst, val, false, fill)
			}
		case "allOf", "anyOf", "oneOf", "prefixItems":
			if val[0] != '[' {
				continue
			}
			dst = key(dst, rawKey)
			dst = appendSchemaArray(dst, val, fill)
		case "type":
			if root {
				// Tool input is always an object, whatever the client says.
				seenType = true
				dst = key(dst, rawKey)
				dst = append(dst, `"object"`...)
				continue
			}
			if !validType(val) {
				continue
			}
			seenType = true
			if bytes.Equal(val, []byte(`"object"`)) || (val[0] == '[' && bytes.Contains(val, []byte(`"object"`))) {
				objectLike = true
			}
			dst = key(dst, rawKey)
			dst = append(dst, val...)
		case "default", "const":
			dst = key(dst, rawKey)
			dst = append(dst, val...)
		default:
			if isNull {
				continue
			}
			dst = key(dst, rawKey)
			dst = append(dst, val...)
		}
	}
	if root && !seenType {
		dst = key(dst, []byte(`"type"`))
		dst = append(dst, `"object"`...)
	}
	if (root || fill && objectLike) && !seenProps {
		dst = key(dst, []byte(`"properties"`))
		dst = append(dst, "{}"...)
	}
	if fill && objectLike {
		if !seenRequired {
			dst = key(dst, []byte(`"required"`))
			dst = append(dst, "[]"...)
		}
		if !seenAdditional {
			dst = key(dst, []byte(`"additionalProperties"`))
			dst = append(dst, "true"...)
		}
	}
	return append(dst, '}')
}

// appendSchemaMap appends an object whose values are schemas (properties,
// $defs). Anything but an object becomes {}.
func appendSchemaMap(dst, v []byte, fill bool) []byte {
	if len(v) == 0 || v[0] != '{' {
		return append(dst, "{}"...)
	}
	dst = append(dst, '{')
	for i := 1; i < len(v) && v[i] != '}'; {
		ke := jsonscan.SkipString(v, i)
		if i > 1 {
			dst = append(dst, ',')
		}
		dst = append(dst, v[i:ke+1]...) // key and colon
		vs := ke + 1
		i = jsonscan.SkipValue(v, vs)
		dst = rewriteSchema(dst, v[vs:i], false, fill)
		if i < len(v) && v[i] == ',' {
			i++
		}
	}
	return append(dst, '}')
}

// appendSchemaArray appends an array whose elements are schemas.
func appendSchemaArray(dst, v []byte, fill bool) []byte {
	dst = append(dst, '[')
	for i := 1; i < len(v) && v[i] != ']'; {
		if i > 1 {
			dst = append(dst, ',')
		}
		vs := i
		i = jsonscan.SkipValue(v, vs)
		dst = rewriteSchema(dst, v[vs:i], false, fill)
		if i < len(v) && v[i] == ',' {
			i++
		}
	}
	return append(dst, ']')
}

// validType reports whether a "type" value is a non-empty string or a
// non-empty array of non-empty strings (kiro.rs normalize_json_schema).
func validType(v []byte) bool {
	switch v[0] {
	case '"':
		return len(v) > 2
	case '[':
		n := 0
		for i := 1; i < len(v) && v[i] != ']'; {
			vs := i
			i = jsonscan.SkipValue(v, vs)
			if v[vs] != '"' || i-vs <= 2 {
				return false
			}
			n++
			if i < len(v) && v[i] == ',' {
				i++
			}
		}
		return n > 0
	}
	return false
}

// countStrings returns how many string elements the JSON array v holds, or
// 0 when v is not an array.
func countStrings(v []byte) int {
	if len(v) == 0 || v[0] != '[' {
		return 0
	}
	n := 0
	for i := 1; i < len(v) && v[i] != ']'; {
		if v[i] == '"' {
			n++
		}
		i = jsonscan.SkipValue(v, i)
		if i < len(v) && v[i] == ',' {
			i++
		}
	}
	return n
}

// appendStrings appends the string elements of the JSON array v as an
// array, dropping everything else.
func appendStrings(dst, v []byte) []byte {
	dst = append(dst, '[')
	first := true
	if len(v) > 0 && v[0] == '[' {
		for i := 1; i < len(v) && v[i] != ']'; {
			vs := i
			i = jsonscan.SkipValue(v, vs)
			if v[vs] == '"' {
				if !first {
					dst = append(dst, ',')
				}
				first = false
				dst = append(dst, v[vs:i]...)
			}
			if i < len(v) && v[i] == ',' {
				i++
			}
		}
	}
	return append(dst, ']')
}

// keyword returns the unquoted object key rawKey. Keys without escapes are
// returned as a view of rawKey's bytes, so the caller's switch on
// string(name) does not allocate.
func keyword(rawKey []byte) []byte {
	inner := rawKey[1 : len(rawKey)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner
	}
	var s string
	if json.Unmarshal(rawKey, &s) != nil {
		return nil
	}
	return []byte(s)
}
