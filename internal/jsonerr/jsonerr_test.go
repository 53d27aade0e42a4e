package jsonerr

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

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

// TestDescribeCapsEcho: a megabyte-long value is echoed as a short prefix
// with its length, whichever decoder saw it.
func TestDescribeCapsEcho(t *testing.T) {
	var v struct {
		MaxTokens int    `json:"max_tokens"`
		Model     string `json:"model"`
	}
	huge := strings.Repeat("9", 1<<20)
	for _, body := range []string{
		`{"max_tokens":` + huge + `}`,
		`{"model":` + huge + `}`,
		`{"max_tokens":"` + strings.Repeat("é", 1<<19) + `"}`,
		`{"model":"x",` + strings.Repeat(" ", 1<<20) + `}`,
	} {
		for name, unmarshal := range map[string]func([]byte, any) error{"encoding/json": json.Unmarshal, "goccy": gojson.Unmarshal} {
			err := unmarshal([]byte(body), &v)
			if err == nil {
				t.Fatalf("%s accepted %.40s", name, body)
			}
			field, msg := Describe(err)
			if len(msg) > maxMessage+32 || len(field) > maxEchoField+32 || !utf8.ValidString(msg) {
				t.Errorf("%s: %d-byte message for a %d-byte body: %.120s", name, len(msg), len(body), msg)
			}
		}
	}
}
