package anthropic

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestDecodeDoesNotAliasBody: the server decodes straight from fasthttp's
// request buffer, which is reused once the handler returns, while a stream
// goes on using the decoded request. Nothing decoded may point into it.
func TestDecodeDoesNotAliasBody(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("..", "..", "kiro", "payload", "testdata", "requests", "claude_code_first.json"))
	if err != nil {
		t.Fatal(err)
	}
	req, err := Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	before, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	for i := range body {
		body[i] = 'x'
	}
	after, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Fatal("the decoded request changed when the body buffer was reused")
	}
}
