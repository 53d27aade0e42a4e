package kirofake

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want []string
	}{
		{"abcdef", 3, []string{"ab", "cd", "ef"}},
		{"abcdefg", 3, []string{"abc", "de", "fg"}},
		{"ab", 5, []string{"a", "b"}},
		{"", 3, []string{""}},
		{"héllo wörld", 0, []string{"héllo wörld"}},
		{"日本語テキスト", 2, []string{"日本語テ", "キスト"}},
	} {
		got := split(tc.s, tc.n)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("split(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
		for _, p := range got {
			if !utf8.ValidString(p) {
				t.Errorf("split(%q, %d): piece %q is not valid UTF-8", tc.s, tc.n, p)
			}
		}
	}
}

// payloads returns the JSON payloads of events, as maps.
func payloads(t *testing.T, events []Event) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, ev := range events {
		b, err := json.Marshal(ev.Payload)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func TestToolCallShape(t *testing.T) {
	events := ToolCall("tooluse_Ab12", "Read", `{"file_path":"/src/main.go"}`, 2)
	ps := payloads(t, events)
	if len(ps) != 4 {
		t.Fatalf("got %d events, want first + 2 fragments + stop", len(ps))
	}
	if in, ok := ps[0]["input"]; !ok || in != "" {
		t.Errorf("first frame input = %v, want \"\"", ps[0]["input"])
	}
	var input string
	for _, p := range ps[1:3] {
		if p["name"] != "Read" || p["toolUseId"] != "tooluse_Ab12" {
			t.Errorf("fragment lacks name/toolUseId: %v", p)
		}
		input += p["input"].(string)
	}
	if input != `{"file_path":"/src/main.go"}` {
		t.Errorf("fragments join to %q", input)
	}
	if ps[3]["stop"] != true {
		t.Errorf("last frame = %v, want stop:true", ps[3])
	}
	for _, ev := range events {
		if ev.Type != "toolUseEvent" {
			t.Errorf("event type %q", ev.Type)
		}
	}

	trunc := payloads(t, TruncatedToolCall("tooluse_Ab12", "Write", `{"content":"abc`, 3))
	for _, p := range trunc {
		if _, ok := p["stop"]; ok {
			t.Fatalf("truncated call has a stop frame: %v", p)
		}
	}
}

func TestThinkingText(t *testing.T) {
	events := Thinking("I should greet.", "Hello!")
	var text string
	for _, p := range payloads(t, events) {
		text += p["content"].(string)
	}
	if text != "<thinking>I should greet.</thinking>\n\nHello!" {
		t.Fatalf("thinking text = %q", text)
	}
	if len(events) < 4 {
		t.Fatalf("thinking arrives in %d frames, want the tags split across several", len(events))
	}
}
