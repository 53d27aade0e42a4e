// Package jsonerr turns JSON decoding errors — from encoding/json and from
// github.com/goccy/go-json, which decodes request bodies ten times faster —
// into messages a client can act on: the field that was wrong and what was
// expected, in the style of the APIs' own 400s, without Go type names.
package jsonerr

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"
)

// Caps on what a message echoes of the client's input: an error that
// quoted a megabyte-long number back would cost as much as the request.
const (
	maxEchoValue = 64
	maxEchoField = 128
	maxMessage   = 512
)

// Describe returns the offending field ("" when the body as a whole is at
// fault) and a client-safe message that echoes at most a short prefix of
// the input.
func Describe(err error) (field, msg string) {
	field, msg = describe(err)
	return clip(field, maxEchoField), clip(msg, maxMessage)
}

func describe(err error) (field, msg string) {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field = typeErr.Field
		if field == "" {
			field = "body"
		}
		return field, fmt.Sprintf("%s: expected %s, got JSON %s", clip(field, maxEchoField), kindName(typeErr.Type.Kind().String()), clip(typeErr.Value, maxEchoValue))
	}
	var fastType *gojson.UnmarshalTypeError
	if errors.As(err, &fastType) {
		field = fastType.Field
		if field == "" {
			field = "body"
		}
		return field, fmt.Sprintf("%s: expected %s, got JSON %s", clip(field, maxEchoField), kindName(fastType.Type.Kind().String()), clip(fastType.Value, maxEchoValue))
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return "", fmt.Sprintf("invalid JSON at byte %d: %s", syntaxErr.Offset, syntaxErr.Error())
	}
	var fastSyntax *gojson.SyntaxError
	if errors.As(err, &fastSyntax) {
		return "", fmt.Sprintf("invalid JSON at byte %d: %s", fastSyntax.Offset, strings.TrimPrefix(fastSyntax.Error(), "json: "))
	}
	text := err.Error()
	if strings.Contains(text, "unexpected end of JSON input") {
		return "", "invalid JSON: unexpected end of input"
	}
	return "", "invalid request body: " + strings.TrimPrefix(text, "json: ")
}

// clip shortens s to at most n bytes (at a UTF-8 boundary) and says how
// long it was.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…(" + strconv.Itoa(len(s)) + " bytes)"
}

func kindName(kind string) string {
	switch kind {
	case "slice", "array":
		return "array"
	case "struct", "map":
		return "object"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "number"
	case "bool":
		return "boolean"
	}
	return kind
}
