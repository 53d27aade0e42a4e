//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/kirobar/kirobar/internal/testkit/fixtures"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
	"github.com/kirobar/kirobar/kiro/models"
	"github.com/kirobar/kirobar/kiro/payload"
	"github.com/kirobar/kirobar/server/anthropic"
)

// maxPayloadBytes is kirobar's default server.max_payload_kb, in bytes, as
// the server passes it to payload.Build.
const maxPayloadBytes = 600 * 1000

// workload is one request shape: the Anthropic body a client posts to
// kirobar and the Kiro body kirobar sends for it, which the direct path
// posts straight to the fake.
type workload struct {
	name      string
	anthropic []byte
	kiro      []byte
}

// smallRequest is a one-line question, the smallest realistic request.
func smallRequest() []byte {
	return []byte(`{"model":"claude-sonnet-4-5","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"Write a haiku about loopback proxies."}]}`)
}

// longConversation returns Claude Code's request continued for many turns
// of reading source files, about size bytes: each turn is an assistant
// Read tool call and a user tool_result holding a file.
func longConversation(size int) ([]byte, error) {
	var req map[string]any
	if err := json.Unmarshal(fixtures.ClaudeCodeFirst(), &req); err != nil {
		return nil, fmt.Errorf("claude code fixture: %w", err)
	}
	msgs, _ := req["messages"].([]any)
	first := msgs[0]
	turns := []any{first}
	file := sourceFile(8000)
	b, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("claude code fixture: %w", err)
	}
	total := len(b)
	for i := 0; total < size-12000; i++ {
		id := fmt.Sprintf("toolu_bench_%04d", i)
		turns = append(turns,
			map[string]any{"role": "assistant", "content": []any{
				map[string]any{"type": "text", "text": "Let me read the next file."},
				map[string]any{"type": "tool_use", "id": id, "name": "Read", "input": map[string]any{"file_path": fmt.Sprintf("/src/app/part%03d.go", i)}},
			}},
			map[string]any{"role": "user", "content": []any{
				map[string]any{"type": "tool_result", "tool_use_id": id, "content": file},
			}},
		)
		total += len(file) + 420
	}
	turns = append(turns,
		map[string]any{"role": "assistant", "content": "I have read the files."},
		map[string]any{"role": "user", "content": "Now summarise what the code does."})
	req["messages"] = turns
	out, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("long conversation: %w", err)
	}
	return out, nil
}

// sourceFile is n bytes of Go-like source with line numbers, tabs and
// quotes, as Claude Code's Read tool returns it.
func sourceFile(n int) string {
	var b strings.Builder
	for i := 1; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%6d\t\tif err := s.store.Put(ctx, \"key-%d\", value); err != nil {\n", i, i)
	}
	return b.String()[:n]
}

// kiroBody builds the body kirobar sends for an Anthropic request, with
// the same builder, model resolution and size guard as the server, so the
// direct path posts exactly the request kirobar would.
func kiroBody(anthropicBody []byte, profileARN string) ([]byte, error) {
	req, err := anthropic.Decode(anthropicBody)
	if err != nil {
		return nil, fmt.Errorf("decode workload: %w", err)
	}
	id, ok := models.NewResolver(models.DefaultAliases()).Resolve(req.Model)
	if !ok {
		id = models.Default
	}
	built, err := payload.Build(req, payload.Options{ModelID: id, MaxPayloadBytes: maxPayloadBytes})
	if err != nil {
		return nil, fmt.Errorf("build workload: %w", err)
	}
	arn, err := json.Marshal(profileARN)
	if err != nil {
		return nil, fmt.Errorf("encode profile arn: %w", err)
	}
	b := append([]byte(`{"conversationState":`), built.ConversationState...)
	b = append(b, `,"profileArn":`...)
	b = append(b, arn...)
	return append(b, '}'), nil
}

// workloads builds the three request shapes of the issue: a small
// request, a 50 KB Claude Code request with 12 tools, and a 600 KB one.
func workloads() (small, claude, large workload, err error) {
	cc, err := fixtures.ClaudeCode(50 << 10)
	if err != nil {
		return small, claude, large, err
	}
	long, err := longConversation(600 << 10)
	if err != nil {
		return small, claude, large, err
	}
	small = workload{name: "small", anthropic: smallRequest()}
	claude = workload{name: "claude-code-50kb", anthropic: cc}
	large = workload{name: "600kb", anthropic: long}
	for _, w := range []*workload{&small, &claude, &large} {
		if w.kiro, err = kiroBody(w.anthropic, kirofake.DefaultProfileARN); err != nil {
			return small, claude, large, fmt.Errorf("%s: %w", w.name, err)
		}
	}
	return small, claude, large, nil
}

// answerText is the model's answer in the standard reply: about 1 KB of
// text streamed in 30 frames, a typical short turn.
var answerText = strings.Repeat("kirobar forwards every frame as soon as it arrives. ", 20)

// standardReply is what the fake answers to closed-loop and sequential
// requests: a request with tools gets a short text and a Bash tool call,
// one without gets the text answer, both ending like a complete turn.
func standardReply(r *kirofake.Request) kirofake.Reply {
	events := kirofake.Text(answerText, 30)
	if len(r.Tools) > 0 {
		events = append(kirofake.Text("I'll check the repository state first.", 3),
			kirofake.ToolCall("tooluse_bench", "Bash", `{"command":"git status --short","description":"Show changed files"}`, 6)...)
	}
	return kirofake.Reply{Events: append(events, kirofake.Metering(0.01), kirofake.ContextUsage(2))}
}

// longReply holds a stream open for d: a first text frame at once, one
// more per interval, then the end of the turn.
func longReply(d, interval time.Duration) func(*kirofake.Request) kirofake.Reply {
	n := max(1, int(d/interval)) + 1
	return func(*kirofake.Request) kirofake.Reply {
		events := kirofake.Text(strings.Repeat("tick ", n), n)
		for i := range events {
			events[i].Delay = interval
		}
		events[0].Delay = 0
		return kirofake.Reply{Events: append(events, kirofake.Metering(0.01), kirofake.ContextUsage(2))}
	}
}
