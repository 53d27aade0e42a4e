package payload

import (
	"slices"

	"github.com/kirobar/kirobar/internal/jsonw"
)

// escSlack is room for n bytes of text once JSON-escaped: agents' text is
// full of newlines and quotes, each written as two bytes.
func escSlack(n int) int { return n + n/8 }

// The encoders below append Kiro JSON directly. Empty fields are omitted
// rather than sent as null or [] (AIClient: "API does not accept null
// values"; kiro-gateway strips empty toolUses).

// appendUser appends {"userInputMessage":{…}}: a history user entry, or the
// value of currentMessage when tools is non-nil or the turn is the last.
func appendUser(dst []byte, t *turn, content, modelID, origin string, tools []byte) []byte {
	size := escSlack(len(content)) + len(modelID) + len(origin) + len(tools) + 160
	for _, img := range t.images {
		size += len(img.format) + len(img.data) + 40
	}
	for _, r := range t.results {
		size += escSlack(len(r.text)) + 80
	}
	dst = slices.Grow(dst, size)
	dst = append(dst, `{"userInputMessage":{"content":`...)
	dst = jsonw.String(dst, content)
	dst = append(dst, `,"modelId":`...)
	dst = jsonw.String(dst, modelID)
	dst = append(dst, `,"origin":`...)
	dst = jsonw.String(dst, origin)
	if len(t.images) > 0 {
		dst = append(dst, `,"images":[`...)
		for i, img := range t.images {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"format":`...)
			dst = jsonw.String(dst, img.format)
			dst = append(dst, `,"source":{"bytes":`...)
			dst = jsonw.String(dst, img.data)
			dst = append(dst, "}}"...)
		}
		dst = append(dst, ']')
	}
	if len(tools) > 0 || len(t.results) > 0 {
		dst = append(dst, `,"userInputMessageContext":{`...)
		if len(tools) > 0 {
			dst = append(dst, `"tools":[`...)
			dst = append(dst, tools...)
			dst = append(dst, ']')
		}
		if len(t.results) > 0 {
			if len(tools) > 0 {
				dst = append(dst, ',')
			}
			dst = appendResults(dst, t.results)
		}
		dst = append(dst, '}')
	}
	return append(dst, "}}"...)
}

func appendResults(dst []byte, results []toolResult) []byte {
	dst = append(dst, `"toolResults":[`...)
	for i, r := range results {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"toolUseId":`...)
		dst = jsonw.String(dst, r.id)
		dst = append(dst, `,"content":[{"text":`...)
		dst = jsonw.String(dst, resultText(r.text))
		dst = append(dst, `}],"status":`...)
		if r.isError {
			dst = append(dst, `"error"}`...)
		} else {
			dst = append(dst, `"success"}`...)
		}
	}
	return append(dst, ']')
}

// resultText gives empty tool output a visible text: Kiro requires
// non-empty content, and the model should see that the tool printed nothing.
func resultText(s string) string {
	if s == "" {
		return "(no output)"
	}
	return s
}

// appendAssistant appends {"assistantResponseMessage":{…}}.
func appendAssistant(dst []byte, t *turn, content string) []byte {
	dst = append(dst, `{"assistantResponseMessage":{"content":`...)
	dst = jsonw.String(dst, content)
	if len(t.uses) > 0 {
		dst = append(dst, `,"toolUses":[`...)
		for i, u := range t.uses {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"toolUseId":`...)
			dst = jsonw.String(dst, u.id)
			dst = append(dst, `,"name":`...)
			dst = jsonw.String(dst, u.name)
			dst = append(dst, `,"input":`...)
			dst = append(dst, u.input...)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	return append(dst, "}}"...)
}
