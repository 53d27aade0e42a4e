package payload

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kirobar/kirobar/canon"
)

// agentSession returns a request with a system prompt, the Claude Code
// tools, a first prompt and rounds tool round trips of about resultSize
// bytes each; the last user message answers the last call.
func agentSession(t testing.TB, rounds, resultSize int, final string) *canon.Request {
	t.Helper()
	req := loadRequest(t, "claude_code_first.json")
	prompt := req.Messages[:1]
	msgs := append([]canon.Message{}, prompt...)
	body := strings.Repeat("line of file content\n", resultSize/21+1)[:resultSize]
	for i := range rounds {
		id := fmt.Sprintf("toolu_%02d", i)
		input, _ := json.Marshal(map[string]string{"file_path": fmt.Sprintf("/src/file%d.go", i)})
		msgs = append(msgs,
			canon.Message{Role: "assistant", Content: canon.Content{
				{Type: canon.BlockText, Text: fmt.Sprintf("Reading file %d.", i)},
				{Type: canon.BlockToolUse, ID: id, Name: "Read", Input: input},
			}},
			canon.Message{Role: "user", Content: canon.Content{
				{Type: canon.BlockToolResult, ToolUseID: id, Content: canon.Content{{Type: canon.BlockText, Text: body}}},
			}},
		)
	}
	if final != "" {
		last := &msgs[len(msgs)-1]
		last.Content = append(last.Content, canon.Block{Type: canon.BlockText, Text: final})
	}
	req.Messages = msgs
	return req
}

func TestSizeGuard(t *testing.T) {
	const rounds = 10
	full, fullState := build(t, agentSession(t, rounds, 2000, "next"), Options{})
	if full.Trimmed != 0 || len(fullState.History) != 2+2*rounds {
		t.Fatalf("untrimmed: %d trimmed, %d entries", full.Trimmed, len(fullState.History))
	}
	size := len(full.ConversationState)
	// The smallest possible states: the prompt and the system prompt only.
	bare, _ := build(t, agentSession(t, 0, 0, "next"), Options{})
	bareFirst, _ := build(t, agentSession(t, 0, 0, "next"), Options{SystemInFirstMessage: true})

	for _, tc := range []struct {
		name        string
		limit       int
		opt         Options
		wantTrimmed int // -1: some
		wantHistory int // -1: don't care
	}{
		{"exact fit", size, Options{}, 0, 2 + 2*rounds},
		{"one byte less drops one pair", size - 1, Options{}, 2, 2 * rounds},
		{"half", size / 2, Options{}, -1, -1},
		{"only the system pair is left", len(bare.ConversationState) + 100, Options{}, 2 * rounds, 2},
		{"system in first message", size / 2, Options{SystemInFirstMessage: true}, -1, -1},
		{"system in first message, history gone", len(bareFirst.ConversationState) + 100, Options{SystemInFirstMessage: true}, 2 * rounds, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt := tc.opt
			opt.MaxPayloadBytes = tc.limit
			res, s := build(t, agentSession(t, rounds, 2000, "next"), opt)
			if got := len(res.ConversationState); got > tc.limit {
				t.Errorf("state is %d bytes, limit %d", got, tc.limit)
			}
			if tc.wantTrimmed >= 0 && res.Trimmed != tc.wantTrimmed {
				t.Errorf("Trimmed = %d, want %d", res.Trimmed, tc.wantTrimmed)
			}
			if tc.wantTrimmed < 0 && res.Trimmed == 0 {
				t.Errorf("nothing trimmed")
			}
			if tc.wantHistory >= 0 && len(s.History) != tc.wantHistory {
				t.Errorf("history has %d entries, want %d", len(s.History), tc.wantHistory)
			}
			cur := s.CurrentMessage.UserInputMessage
			if !strings.HasSuffix(cur.Content, "next") {
				t.Errorf("current content = %q", cur.Content)
			}
			systemAt := cur.Content
			if len(s.History) > 0 {
				systemAt = s.History[0].User.Content
			}
			if !strings.Contains(systemAt, "You are Claude Code") {
				t.Errorf("the system prompt was trimmed away")
			}
			if !opt.SystemInFirstMessage && s.History[1].Assistant.Content != systemAck {
				t.Errorf("system pair is not first")
			}
			if res.Trimmed > 0 && res.InputEstimate >= full.InputEstimate {
				t.Errorf("estimate %d not below the untrimmed %d", res.InputEstimate, full.InputEstimate)
			}
		})
	}

	_, err := Build(agentSession(t, rounds, 2000, "next"), Options{ModelID: testModel, MaxPayloadBytes: 5000})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if !strings.Contains(err.Error(), "limit 5000") {
		t.Errorf("error %q does not say the limit", err)
	}
}
