package openai

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kirobar/kirobar/canon"
)

// TestDecodeDoesNotAliasBody: the server decodes straight from fasthttp's
// request buffer, which is reused once the handler returns, while a stream
// goes on using the decoded request. Nothing decoded may point into it.
func TestDecodeDoesNotAliasBody(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "requests", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no request fixtures: %v", err)
	}
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		decode := DecodeChat
		if strings.Contains(filepath.Base(file), "codex") || strings.Contains(filepath.Base(file), "responses") {
			decode = func(b []byte) (*canon.Request, ChatOptions, error) {
				req, _, err := DecodeResponses(b)
				return req, ChatOptions{}, err
			}
		}
		req, _, err := decode(body)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		before, _ := json.Marshal(req)
		for i := range body {
			body[i] = 'x'
		}
		if after, _ := json.Marshal(req); string(before) != string(after) {
			t.Fatalf("%s: the decoded request changed when the body buffer was reused", file)
		}
	}
}
