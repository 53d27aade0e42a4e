package models

import (
	"strings"
	"testing"
)

func TestResolveBuiltin(t *testing.T) {
	r := NewResolver(nil)
	for _, tc := range []struct {
		name string
		want string
		ok   bool
	}{
		// Claude Code's default name, unknown to every table: best opus.
		{"claude-opus-5-5", "claude-opus-4.7", true},
		{"claude-opus-5-5[1m]", "claude-opus-4.7", true},
		// Known client names (kiro-protocol.md §3).
		{"claude-sonnet-4-5", "claude-sonnet-4.5", true},
		{"claude-sonnet-4-5-20250929", "claude-sonnet-4.5", true},
		{"claude-sonnet-4-20250514", "claude-sonnet-4", true},
		{"claude-sonnet-4-6", "claude-sonnet-4.6", true},
		{"claude-3-7-sonnet-20250219", "claude-sonnet-4.5", true},
		{"claude-3-5-sonnet-latest", "claude-sonnet-4.5", true},
		{"claude-haiku-4-5-20251001", "claude-haiku-4.5", true},
		{"claude-3-5-haiku-20241022", "claude-haiku-4.5", true},
		{"claude-3-5-haiku-latest", "claude-haiku-4.5", true},
		{"claude-opus-4-1", "claude-opus-4.5", true},
		{"claude-opus-4-1-20250805", "claude-opus-4.5", true},
		{"claude-opus-4-5-20251101", "claude-opus-4.5", true},
		{"claude-opus-4-6", "claude-opus-4.6", true},
		{"claude-opus-4-7", "claude-opus-4.7", true},
		{"claude-opus-4-6-thinking", "claude-opus-4.6", true},
		{"claude-sonnet-4-5[1m]", "claude-sonnet-4.5", true},
		{"claude-4.5-opus-high", "claude-opus-4.5", true},
		{"anthropic/claude-sonnet-4.5", "claude-sonnet-4.5", true},
		{"us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4.5", true},
		{"claude-3-5-sonnet-v2@20241022", "claude-sonnet-4.5", true},
		// Dotted ids pass through, case-insensitively.
		{"claude-sonnet-4.5", "claude-sonnet-4.5", true},
		{"Claude-Opus-4.6", "claude-opus-4.6", true},
		{"auto", "auto", true},
		// Family rules.
		{"claude-sonnet-9", "claude-sonnet-4.6", true},
		{"claude-opus", "claude-opus-4.7", true},
		{"my-haiku-model", "claude-haiku-4.5", true},
		{"SONNET", "claude-sonnet-4.6", true},
		// OpenAI names.
		{"gpt-4o", "claude-sonnet-4.6", true},
		{"GPT-4", "claude-sonnet-4.6", true},
		{"gpt-4o-mini", "claude-haiku-4.5", true},
		{"gpt-3.5-turbo", "claude-haiku-4.5", true},
		{"o1", "claude-opus-4.7", true},
		{"o1-preview", "claude-opus-4.7", true},
		{"gpt-5", "claude-sonnet-4.6", true},
		{"gpt-6.1-sol", "claude-sonnet-4.6", true},
		{"gpt-10", "claude-sonnet-4.6", true},
		{"gpt-5.1-codex", "claude-sonnet-4.6", true},
		{"gpt-5-mini", "claude-haiku-4.5", true},
		{"codex-large", "claude-sonnet-4.6", true},
		{"o3", "claude-sonnet-4.6", true},
		{"o4-mini", "claude-haiku-4.5", true},
		{"gpt-4.1-nano", "claude-haiku-4.5", true},
		// No family at all.
		{"llama-3", "", false},
		{"", "", false},
		{"claude", "", false},
	} {
		got, ok := r.Resolve(tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Resolve(%q) = %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestResolveAliases(t *testing.T) {
	r := NewResolver(map[string]string{
		"Fast":            "claude-haiku-4.5",
		"big":             "claude-opus-4-6",  // another client name
		"team-default":    "big",              // alias of an alias
		"future":          "claude-opus-4.9",  // a Kiro id newer than the table
		"deep":            "qwen3-coder-next", // a non-Claude Kiro id
		"gpt-4o":          "claude-sonnet-4",  // overrides a default alias
		"loop-a":          "loop-b",
		"loop-b":          "loop-a",
		"claude-opus-5-5": "claude-sonnet-4.5",
	})
	for _, tc := range []struct {
		name string
		want string
		ok   bool
	}{
		{"fast", "claude-haiku-4.5", true},
		{"FAST", "claude-haiku-4.5", true},
		{"big", "claude-opus-4.6", true},
		{"team-default", "claude-opus-4.6", true},
		{"future", "claude-opus-4.9", true},
		{"deep", "qwen3-coder-next", true},
		{"gpt-4o", "claude-sonnet-4", true},
		{"gpt-4o-mini", "claude-haiku-4.5", true},
		{"loop-a", "", false},
		{"claude-opus-5-5", "claude-sonnet-4.5", true},
	} {
		got, ok := r.Resolve(tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Resolve(%q) = %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestKnownTable(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range Known() {
		if seen[m.ID] {
			t.Errorf("duplicate id %q", m.ID)
		}
		seen[m.ID] = true
		if m.ContextWindow <= 0 || m.MaxOutput <= 0 || m.Display == "" {
			t.Errorf("incomplete model %+v", m)
		}
		if m.Family != "auto" && !strings.HasPrefix(m.ID, "claude-"+m.Family+"-") {
			t.Errorf("id %q does not match family %q", m.ID, m.Family)
		}
		// Every known id resolves to itself.
		if got, ok := NewResolver(nil).Resolve(m.ID); !ok || got != m.ID {
			t.Errorf("Resolve(%q) = %q, %v", m.ID, got, ok)
		}
	}
	for _, id := range []string{"claude-sonnet-4", "claude-sonnet-4.5", "claude-sonnet-4.6", "claude-haiku-4.5", "claude-opus-4.5", "claude-opus-4.6", "claude-opus-4.7", "auto"} {
		if !seen[id] {
			t.Errorf("missing %q", id)
		}
	}
	if !seen[Default] {
		t.Errorf("Default %q not in the table", Default)
	}
	for alias, id := range DefaultAliases() {
		if !seen[id] {
			t.Errorf("default alias %q → unknown id %q", alias, id)
		}
	}
	// Known returns a copy: changing it does not change the table.
	k := Known()
	k[0].ID = "changed"
	if Known()[0].ID == "changed" {
		t.Error("Known returned shared state")
	}
}

func TestContextWindow(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want int
	}{
		{"claude-sonnet-4.5", 200_000},
		{"claude-sonnet-4.6", 1_000_000},
		{"claude-opus-4.5", 200_000},
		{"claude-opus-4.6", 1_000_000},
		{"claude-opus-4.7", 1_000_000},
		{"claude-haiku-4.5", 200_000},
		{"something-new", 200_000},
	} {
		if got := ContextWindow(tc.id); got != tc.want {
			t.Errorf("ContextWindow(%q) = %d, want %d", tc.id, got, tc.want)
		}
	}
}

// TestResolveServed fits client names to the models the pool's accounts
// were offered (kiro-protocol.md §11.9): what is served is used, an unknown
// or unserved name becomes the best served model of its family, and the
// static table is the fallback when nothing was discovered.
func TestResolveServed(t *testing.T) {
	r := NewResolver(map[string]string{"pinned": "claude-opus-4.6"})
	served := []string{"auto", "claude-haiku-4.5", "claude-opus-4.8", "claude-opus-5", "claude-sonnet-4.5", "claude-sonnet-5", "qwen3-coder-next"}
	for _, tc := range []struct {
		name   string
		served []string
		want   string
		ok     bool
	}{
		{"claude-opus-5-5", served, "claude-opus-5", true},   // Claude Code's name, newer than all: the best opus served
		{"claude-opus-4-7", served, "claude-opus-4.8", true}, // not served: the next served one
		{"claude-opus-4-8", served, "claude-opus-4.8", true},
		{"claude-opus-4-1", served, "claude-opus-4.8", true},
		{"claude-sonnet-4-6", served, "claude-sonnet-5", true},
		{"claude-sonnet-4-5-20250929", served, "claude-sonnet-4.5", true},
		{"claude-sonnet-9", served, "claude-sonnet-5", true},
		{"gpt-4o", served, "claude-sonnet-5", true},
		{"gpt-4o-mini", served, "claude-haiku-4.5", true},
		{"qwen3-coder-next", served, "qwen3-coder-next", true}, // a discovered non-Claude id
		{"pinned", served, "claude-opus-4.6", true},            // the operator's alias as written
		{"claude-fable-5", served, "claude-fable-5", true},     // in the table, served by no account: tried as named
		{"llama-3", served, "", false},
		// Nothing discovered: the static table.
		{"claude-opus-5-5", nil, "claude-opus-4.7", true},
		{"claude-sonnet-5", nil, "claude-sonnet-5", true},
		{"claude-opus-4-8", nil, "claude-opus-4.8", true},
		{"claude-fable-5-1", nil, "claude-fable-5", true},
		{"simple-task", nil, "simple-task", true},
		{"gpt-4o", nil, "claude-sonnet-4.6", true},
	} {
		got, ok := r.ResolveServed(tc.name, tc.served)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ResolveServed(%q, %d served) = %q, %v; want %q, %v", tc.name, len(tc.served), got, ok, tc.want, tc.ok)
		}
	}
}
