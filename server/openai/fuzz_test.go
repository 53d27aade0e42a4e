package openai

import (
	stdjson "encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzSeeds adds the request fixtures whose name starts with prefix, plus
// small bodies that reach the edges of the decoder.
func fuzzSeeds(f *testing.F, prefix string, extra ...string) {
	files, err := filepath.Glob(filepath.Join("testdata", "requests", prefix+"*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
}

// checkDecoded holds for every decoder result: an error is a client-safe
// 400, and a request that decoded is one the upstream may be sent.
func checkDecoded(t *testing.T, err error, validate func() error) {
	t.Helper()
	if err != nil {
		re := asRequestError(t, err)
		if re.Status != http.StatusBadRequest || strings.TrimSpace(re.Message) == "" {
			t.Fatalf("bad request error %+v", re)
		}
		return
	}
	if verr := validate(); verr != nil {
		t.Fatalf("decoded request fails validation: %v", verr)
	}
}

func FuzzDecodeChat(f *testing.F) {
	fuzzSeeds(f, "chat_",
		`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","messages":[{"role":"tool","tool_call_id":"a","content":null},{"role":"tool","tool_call_id":"b","content":[]}]}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":"data:image/png;base64,"}]}]}`,
		`{"model":"m","stop":[],"tool_choice":{"type":"allowed_tools","allowed_tools":{"mode":"required"}},"messages":[{"role":"assistant","content":""}]}`,
		`{"model":"m","tools":[{"type":"custom","custom":{"name":"p","format":{"type":"grammar","grammar":{"syntax":"lark","definition":"start: x"}}}}],"tool_choice":{"type":"custom","custom":{"name":"p"}},"messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"custom","custom":{"name":"p","input":"x"}}]}]}`,
		`null`, `[]`, `{}`, `{"messages":null,"model":1}`,
	)
	f.Fuzz(func(t *testing.T, body []byte) {
		req, _, err := DecodeChat(body)
		if err == nil && !stdjson.Valid(body) {
			t.Fatalf("the fast decoder accepted a body encoding/json calls invalid: %q", body)
		}
		checkDecoded(t, err, func() error {
			if len(req.Messages) == 0 {
				t.Fatal("no messages")
			}
			return req.Validate()
		})
	})
}

func FuzzDecodeResponses(f *testing.F) {
	fuzzSeeds(f, "responses_",
		`{"model":"m","input":"hi"}`,
		`{"model":"m","input":[{"type":"function_call_output","call_id":"c","output":{"content":"x"}}]}`,
		`{"model":"m","input":[{"type":"reasoning"},{"type":"custom_tool_call","call_id":"c","name":"apply_patch","input":"*** Begin"}]}`,
		`{"model":"m","input":"x","tools":[{"type":"namespace","name":"ns_","tools":[{"type":"function","name":"a"},{"type":"mcp"}]}],"tool_choice":{"type":"allowed_tools","mode":"auto"}}`,
		`{"model":"m","tools":[{"type":"custom","name":"a"}],"tool_choice":{"type":"custom","name":"e","namespace":"f"},"input":[{"type":"additional_tools","tools":[{"type":"namespace","name":"f","tools":[{"type":"custom","name":"e","format":{"type":"grammar","syntax":"regex","definition":".+"}},{"type":"function","name":"a"}]}]},{"type":"custom_tool_call","call_id":"c","namespace":"f","name":"e","input":"1"},{"type":"custom_tool_call_output","call_id":"c","output":[{"type":"input_text","text":"ok"}]}]}`,
		`null`, `[]`, `{}`, `{"model":"m","input":{}}`,
	)
	f.Fuzz(func(t *testing.T, body []byte) {
		req, _, err := DecodeResponses(body)
		if err == nil && !stdjson.Valid(body) {
			t.Fatalf("the fast decoder accepted a body encoding/json calls invalid: %q", body)
		}
		checkDecoded(t, err, func() error {
			if len(req.Messages) == 0 {
				t.Fatal("no messages")
			}
			return req.Validate()
		})
	})
}
