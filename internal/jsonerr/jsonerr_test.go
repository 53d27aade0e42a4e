package jsonerr

import (
	"encoding/json"
	"strings"
	"testing"

	gojson "github.com/goccy/go-json"
)

func TestDescribe(t *testing.T) {
	var v struct {
		Model     string `json:"model"`
		MaxTokens int    `json:"max_tokens"`
		Messages  []struct {
			Role string `json:"role"`
		} `json:"messages"`
	}
	for _, tc := range []struct {
		body, field, want string
	}{
		{`{"max_tokens":"x"}`, "max_tokens", "max_tokens: expected number, got JSON string"},
		{`{"messages":{}}`, "messages", "messages: expected array, got JSON object"},
		{`{"messages":[{"role":5}]}`, "messages.role", "messages.role: expected string, got JSON number"},
		{`{"model":`, "", "invalid JSON at byte 9: unexpected end of JSON input"},
		{`{"model" "x"}`, "", "invalid JSON at byte"},
	} {
		for name, unmarshal := range map[string]func([]byte, any) error{"encoding/json": json.Unmarshal, "goccy": gojson.Unmarshal} {
			field, msg := Describe(unmarshal([]byte(tc.body), &v))
			if name == "goccy" {
				// goccy also names the array index, as the APIs' errors do.
				field = strings.Replace(field, ".0.", ".", 1)
				msg = strings.Replace(msg, ".0.", ".", 1)
			}
			if field != tc.field || !strings.HasPrefix(msg, tc.want) {
				t.Errorf("%s %s: got (%q, %q), want (%q, %q…)", name, tc.body, field, msg, tc.field, tc.want)
			}
		}
	}
}
