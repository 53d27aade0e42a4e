package payload

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestAppendSchema(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want string
		fill string // expected with FillSchemaDefaults; "" = same as want
	}{
		{
			name: "claude code schema loses $schema only",
			in:   `{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": false}`,
			want: `{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false}`,
		},
		{
			name: "MCP nulls",
			in:   `{"type": "object", "properties": null, "required": null, "description": null}`,
			want: `{"type":"object","properties":{}}`,
			fill: `{"type":"object","properties":{},"required":[],"additionalProperties":true}`,
		},
		{
			name: "nested keywords, property names untouched",
			in: `{"type": "object", "$id": "x", "$comment": "c", "properties": {
			  "$schema": {"type": "string", "$schema": "inner"},
			  "list": {"type": "array", "items": {"$schema": "s", "type": "object", "properties": {"x": {"type": "number"}}, "required": []}},
			  "choice": {"anyOf": [{"type": "string", "$schema": "s"}, {"type": "null"}]},
			  "e": {"enum": ["$schema", null], "default": null}}}`,
			want: `{"type":"object","properties":{"$schema":{"type":"string"},"list":{"type":"array","items":{"type":"object","properties":{"x":{"type":"number"}}}},"choice":{"anyOf":[{"type":"string"},{"type":"null"}]},"e":{"enum":["$schema",null],"default":null}}}`,
			fill: `{"type":"object","properties":{"$schema":{"type":"string"},"list":{"type":"array","items":{"type":"object","properties":{"x":{"type":"number"}},"required":[],"additionalProperties":true}},"choice":{"anyOf":[{"type":"string"},{"type":"null"}]},"e":{"enum":["$schema",null],"default":null}},"required":[],"additionalProperties":true}`,
		},
		{
			name: "definitions and refs",
			in:   `{"type": "object", "$defs": {"n": {"$schema": "s", "type": "integer"}}, "properties": {"v": {"$ref": "#/$defs/n"}}, "required": ["v", 3]}`,
			want: `{"type":"object","$defs":{"n":{"type":"integer"}},"properties":{"v":{"$ref":"#/$defs/n"}},"required":["v"]}`,
			fill: `{"type":"object","$defs":{"n":{"type":"integer"}},"properties":{"v":{"$ref":"#/$defs/n"}},"required":["v"],"additionalProperties":true}`,
		},
		{
			name: "top-level anyOf: every variant's properties, required only what all require",
			in:   `{"type": "object", "description": "d", "anyOf": [{"type": "object", "properties": {"path": {"type": "string"}, "mode": {"type": "string"}}, "required": ["path", "mode"]}, {"properties": {"url": {"type": "string"}, "mode": {"type": "integer"}}, "required": ["url", "mode"]}]}`,
			want: `{"type":"object","description":"d","properties":{"path":{"type":"string"},"mode":{"type":"string"},"url":{"type":"string"}},"required":["mode"]}`,
			fill: `{"type":"object","description":"d","properties":{"path":{"type":"string"},"mode":{"type":"string"},"url":{"type":"string"}},"required":["mode"],"additionalProperties":true}`,
		},
		{
			name: "top-level oneOf of required sets keeps the root's properties",
			in:   `{"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}, "required": ["x"], "oneOf": [{"required": ["a"]}, {"required": ["b"]}]}`,
			want: `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"required":["x"]}`,
			fill: `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"required":["x"],"additionalProperties":true}`,
		},
		{
			name: "top-level allOf merges properties and required, nested variants flattened",
			in:   `{"allOf": [{"properties": {"a": {"type": "string", "$schema": "s"}}, "required": ["a"]}, {"anyOf": [{"properties": {"b": {"type": "number"}}, "required": ["b"]}, {"type": "null"}]}, true]}`,
			want: `{"properties":{"a":{"type":"string"},"b":{"type":"number"}},"required":["a"],"type":"object"}`,
			fill: `{"properties":{"a":{"type":"string"},"b":{"type":"number"}},"required":["a"],"type":"object","additionalProperties":true}`,
		},
		{
			name: "combinator without object variants",
			in:   `{"oneOf": [{"type": "string"}, {"type": "number"}]}`,
			want: `{"properties":{},"type":"object"}`,
			fill: `{"properties":{},"type":"object","required":[],"additionalProperties":true}`,
		},
		{
			name: "root without type or properties",
			in:   `{"description": "free form"}`,
			want: `{"description":"free form","type":"object","properties":{}}`,
			fill: `{"description":"free form","type":"object","properties":{},"required":[],"additionalProperties":true}`,
		},
		{
			name: "escaped keyword is still $schema",
			in:   `{"\u0024schema": "s", "type": "object", "properties": {}}`,
			want: `{"type":"object","properties":{}}`,
			fill: `{"type":"object","properties":{},"required":[],"additionalProperties":true}`,
		},
		{
			name: "boolean and tuple sub-schemas",
			in:   `{"type": "object", "properties": {"t": {"type": "array", "items": [{"type": "string"}, true], "additionalItems": false}}, "additionalProperties": {"type": "string", "$schema": "s"}}`,
			want: `{"type":"object","properties":{"t":{"type":"array","items":[{"type":"string"},true],"additionalItems":false}},"additionalProperties":{"type":"string"}}`,
			fill: `{"type":"object","properties":{"t":{"type":"array","items":[{"type":"string"},true],"additionalItems":false}},"additionalProperties":{"type":"string"},"required":[]}`,
		},
		{
			name: "types",
			in:   `{"type": "string", "properties": {"a": {"type": ""}, "b": {"type": []}, "c": {"type": ["string", "null"]}, "d": {"type": 3}}}`,
			want: `{"type":"object","properties":{"a":{},"b":{},"c":{"type":["string","null"]},"d":{}}}`,
			fill: `{"type":"object","properties":{"a":{},"b":{},"c":{"type":["string","null"]},"d":{}},"required":[],"additionalProperties":true}`,
		},
		{name: "not an object", in: `[1, 2]`, want: defaultSchema},
		{name: "null", in: `null`, want: defaultSchema},
		{name: "empty", in: ``, want: defaultSchema},
		{name: "invalid JSON", in: `{"type":`, want: defaultSchema},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var scratch bytes.Buffer
			for _, fill := range []bool{false, true} {
				want := tc.want
				if fill && tc.fill != "" {
					want = tc.fill
				}
				got := string(appendSchema(nil, json.RawMessage(tc.in), fill, &scratch))
				if got != want {
					t.Errorf("fill=%v\n got %s\nwant %s", fill, got, want)
				}
				if !json.Valid([]byte(got)) {
					t.Errorf("fill=%v: invalid JSON %s", fill, got)
				}
			}
		})
	}
}

func TestFillSchemaDefaultsOption(t *testing.T) {
	req := decodeRequest(t, `{"messages": [{"role": "user", "content": "q"}], "tools": [{"name": "A", "description": "a", "input_schema": {"type": "object"}}]}`)
	_, s := build(t, req, Options{FillSchemaDefaults: true})
	got := string(s.CurrentMessage.UserInputMessage.Context.Tools[0].ToolSpecification.InputSchema.JSON)
	if want := `{"type":"object","properties":{},"required":[],"additionalProperties":true}`; got != want {
		t.Errorf("schema = %s, want %s", got, want)
	}
}
