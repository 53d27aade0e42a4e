package payload

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/kirobar/kirobar/canon"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const testModel = "claude-sonnet-4.5"

func decodeRequest(t testing.TB, js string) *canon.Request {
	t.Helper()
	var req canon.Request
	if err := json.Unmarshal([]byte(js), &req); err != nil {
		t.Fatalf("decode request: %v", err)
	}
	return &req
}

func loadRequest(t testing.TB, name string) *canon.Request {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "requests", name))
	if err != nil {
		t.Fatal(err)
	}
	return decodeRequest(t, string(data))
}

// build runs Build and checks the output against validate.
func build(t testing.TB, req *canon.Request, opt Options) (*Result, *kState) {
	t.Helper()
	if opt.ModelID == "" {
		opt.ModelID = testModel
	}
	res, err := Build(req, opt)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if err := validate(res.ConversationState); err != nil {
		t.Fatalf("invalid state: %v\n%s", err, res.ConversationState)
	}
	s, err := decodeState(res.ConversationState)
	if err != nil {
		t.Fatal(err)
	}
	return res, s
}

// checkGolden compares the state, pretty-printed and with its random
// agentContinuationId replaced, with testdata/<name>.json.
func checkGolden(t *testing.T, name string, state []byte, s *kState) {
	t.Helper()
	state = bytes.Replace(state, []byte(s.AgentContinuationID), []byte("AGENT-CONTINUATION-ID"), 1)
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, state, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\ngot:\n%s", path, pretty.Bytes())
	}
}

// toolNamesOf returns the declared tool names of the current message.
func toolNamesOf(s *kState) []string {
	var names []string
	if c := s.CurrentMessage.UserInputMessage.Context; c != nil {
		for _, tl := range c.Tools {
			names = append(names, tl.ToolSpecification.Name)
		}
	}
	return names
}

func resultsOf(u *kUser) []kResult {
	if u.Context == nil {
		return nil
	}
	return u.Context.ToolResults
}
