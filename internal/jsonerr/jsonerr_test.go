package jsonerr

import (
	"encoding/json"
	"strings"
	"testing"
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
		field, msg := Describe(json.Unmarshal([]byte(tc.body), &v))
		if field != tc.field || !strings.HasPrefix(msg, tc.want) {
			t.Errorf("%s: got (%q, %q), want (%q, %q…)", tc.body, field, msg, tc.field, tc.want)
		}
	}
}
