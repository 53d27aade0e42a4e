package flows

import (
	"encoding/json"
)

// value walks a decoded JSON value: credential keys lose their values,
// images and documents are replaced by their type and size, and every
// other string (and key) is scrubbed. The diagnostic bundle uses it for
// its small sections; bodies go through redactJSON instead.
func (rd *redactor) value(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return rd.object(x)
	case []any:
		for i := range x {
			x[i] = rd.value(x[i])
		}
		return x
	case string:
		if note, ok := dataURLNote(x); ok {
			return note
		}
		return rd.text(x)
	default:
		return v
	}
}

// object redacts one JSON object in place and returns it.
func (rd *redactor) object(m map[string]any) map[string]any {
	// Anthropic image/document source: {"type":"base64","media_type":..,"data":..}.
	if mt, ok := m["media_type"].(string); ok {
		if data, ok := m["data"].(string); ok {
			m["data"] = binaryNote(mt, data)
		}
	}
	// Kiro image: {"format":"png","source":{"bytes":..}}.
	if format, ok := m["format"].(string); ok {
		if src, ok := m["source"].(map[string]any); ok {
			if data, ok := src["bytes"].(string); ok {
				src["bytes"] = binaryNote("image/"+format, data)
			}
		}
	}
	out := make(map[string]any, len(m))
	for k, val := range m {
		key := rd.text(k)
		if secretKey(k) {
			if _, isString := val.(string); isString {
				out[key] = redacted
				continue
			}
			if _, isNumber := val.(json.Number); isNumber {
				out[key] = redacted
				continue
			}
		}
		out[key] = rd.value(val)
	}
	return out
}
