package openai

import (
	"bytes"
	"fmt"
	json "github.com/goccy/go-json"
	"strings"

	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/internal/jsonerr"
)

// emptySchema is the input schema of a function declared without
// parameters: Kiro wants an object schema for every tool.
var emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

// firstByte is the first non-space byte of a raw JSON value, 0 if none. It
// tells a string from an array or an object before decoding.
func firstByte(raw json.RawMessage) byte {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

// isNull reports whether a raw value is absent or JSON null.
func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || bytes.Equal(raw, []byte("null"))
}

// imageFromURL turns an image URL into a canonical image block. Kiro cannot
// fetch URLs, so only data URLs (data:image/png;base64,...) are accepted;
// anything else is a 400 naming the field.
func imageFromURL(param, url string) (canon.Block, *RequestError) {
	rest, ok := strings.CutPrefix(url, "data:")
	if !ok {
		if url == "" {
			return canon.Block{}, badRequest(param, param+": image URL is empty")
		}
		return canon.Block{}, badRequest(param, param+": remote image URLs are not supported by Kiro; send the image inline as a data URL (data:image/png;base64,...)")
	}
	meta, data, ok := strings.Cut(rest, ",")
	if !ok {
		return canon.Block{}, badRequest(param, param+": malformed data URL: no comma before the data")
	}
	mediaType, isBase64 := strings.CutSuffix(meta, ";base64")
	if !isBase64 {
		return canon.Block{}, badRequest(param, param+": data URL must be base64-encoded (data:image/png;base64,...)")
	}
	if !strings.HasPrefix(mediaType, "image/") {
		return canon.Block{}, badRequest(param, fmt.Sprintf("%s: data URL media type %q is not an image", param, mediaType))
	}
	if data == "" {
		return canon.Block{}, badRequest(param, param+": data URL carries no image data")
	}
	return canon.Block{
		Type:   canon.BlockImage,
		Source: &canon.ImageSource{Type: "base64", MediaType: mediaType, Data: data},
	}, nil
}

// toolInput turns function-call arguments (a JSON string the model wrote)
// into a tool_use input object. Empty arguments mean no arguments. Clients
// resend whatever the model produced, so arguments that are not a JSON
// object are kept, as a string, under "raw_arguments" rather than refusing
// a conversation the client cannot repair.
func toolInput(args string) json.RawMessage {
	trimmed := strings.TrimSpace(args)
	if trimmed == "" {
		return json.RawMessage(`{}`)
	}
	if trimmed[0] == '{' && json.Valid([]byte(trimmed)) {
		return json.RawMessage(trimmed)
	}
	b, err := json.Marshal(map[string]string{"raw_arguments": args})
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return b
}

// thinkingFor maps an OpenAI reasoning effort to canonical adaptive
// thinking. Kiro knows low, medium and high; "minimal" rounds up to low,
// "xhigh" and the "max" and "ultra" Codex offers for its newest models
// round down to high, and "none" turns thinking off.
func thinkingFor(param, effort string) (*canon.Thinking, *canon.OutputConfig, *RequestError) {
	var level string
	switch effort {
	case "":
		return nil, nil, nil
	case "none":
		return nil, nil, nil
	case "minimal", "low":
		level = "low"
	case "medium":
		level = "medium"
	case "high", "xhigh", "max", "ultra":
		level = "high"
	default:
		return nil, nil, badRequest(param, fmt.Sprintf("%s: unknown reasoning effort %q (none, minimal, low, medium, high, xhigh, max, ultra)", param, effort))
	}
	return &canon.Thinking{Type: "adaptive"}, &canon.OutputConfig{Effort: level}, nil
}

// jsonFormatNote is the system instruction standing in for a structured
// output format, which Kiro cannot enforce. It returns "" for plain text.
func jsonFormatNote(param string, typ string, name string, schema json.RawMessage) (string, *RequestError) {
	switch typ {
	case "", "text":
		return "", nil
	case "json_object":
		return "Respond with a single valid JSON object and nothing else.", nil
	case "json_schema":
		if isNull(schema) {
			return "", badRequest(param, param+": json_schema format needs a schema")
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, schema); err != nil {
			return "", badRequest(param, param+": schema is not valid JSON")
		}
		note := "Respond with only a JSON value that matches this JSON Schema"
		if name != "" {
			note += " (" + name + ")"
		}
		return note + ", with no other text: " + compact.String(), nil
	}
	return "", badRequest(param, fmt.Sprintf("%s: unsupported format type %q (text, json_object, json_schema)", param, typ))
}

// jsonError turns a decoding error into a client-safe message naming the
// field, in the style of OpenAI's own 400s.
func jsonError(err error) *RequestError {
	field, msg := jsonerr.Describe(err)
	return badRequest(field, msg)
}

// textBlocks wraps a string as a content list, empty when the string is.
func textBlocks(s string) canon.Content {
	if s == "" {
		return nil
	}
	return canon.Content{{Type: canon.BlockText, Text: s}}
}
