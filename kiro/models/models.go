// Package models maps the model names clients send (Anthropic snapshots,
// Claude Code defaults, OpenAI names) to the dotted model ids Kiro accepts,
// and knows each Kiro model's context window for token arithmetic.
package models

// Default is the Kiro model used when a client name has no recognisable
// family. It is the model every Kiro plan serves.
const Default = "claude-sonnet-4.5"

// defaultContextWindow is assumed for ids outside the known table.
const defaultContextWindow = 200_000

// Model describes one Kiro model. ID is the dotted id sent upstream as
// modelId, e.g. "claude-sonnet-4.5"; Family is opus, sonnet, haiku, fable
// or auto.
type Model struct {
	ID            string
	Family        string
	Display       string
	ContextWindow int
	MaxOutput     int
	// Stable models are the ones every paid plan has been seen to serve;
	// the family rules fall back to them. A newer id is used when a client
	// names it, or when an account's ListAvailableModels lists it
	// (Resolver.ResolveServed), but never guessed.
	Stable bool
}

// Known returns the Kiro models kirobar knows, newest first within each
// family, as a fresh slice the caller may modify.
//
// Context windows follow kiro.rs (Kiro upgraded sonnet-4.6 and opus-4.6 to
// 1M tokens on 2026-03-24; opus-4.7 shares it; everything else 200k) rather
// than AIClient (1M for opus-4.5 too): kiro.rs is the newer source and the
// smaller window for opus-4.5 errs towards reporting more context used.
// MaxOutput is Anthropic's published output limit for the model; Kiro does
// not publish one on the hosts kirobar uses.
//
// The newer ids (claude-opus-4.8, claude-opus-5, claude-sonnet-5,
// claude-fable-5, simple-task; kiro-protocol.md §11.9: mikeyobrien/pi-provider-kiro
// src/models.ts v0.9.3, lidge-jun/opencodex#993) are not Stable: their
// windows are not published, so the smallest is assumed (more context
// reported used, never less), and the discovered list is the truth.
func Known() []Model {
	return []Model{
		{ID: "auto", Family: "auto", Display: "Auto (Kiro chooses)", ContextWindow: 200_000, MaxOutput: 64_000, Stable: true},
		{ID: "claude-opus-5", Family: "opus", Display: "Claude Opus 5", ContextWindow: 200_000, MaxOutput: 128_000},
		{ID: "claude-opus-4.8", Family: "opus", Display: "Claude Opus 4.8", ContextWindow: 200_000, MaxOutput: 128_000},
		{ID: "claude-opus-4.7", Family: "opus", Display: "Claude Opus 4.7", ContextWindow: 1_000_000, MaxOutput: 128_000, Stable: true},
		{ID: "claude-opus-4.6", Family: "opus", Display: "Claude Opus 4.6", ContextWindow: 1_000_000, MaxOutput: 128_000, Stable: true},
		{ID: "claude-opus-4.5", Family: "opus", Display: "Claude Opus 4.5", ContextWindow: 200_000, MaxOutput: 64_000, Stable: true},
		{ID: "claude-sonnet-5", Family: "sonnet", Display: "Claude Sonnet 5", ContextWindow: 200_000, MaxOutput: 64_000},
		{ID: "claude-sonnet-4.6", Family: "sonnet", Display: "Claude Sonnet 4.6", ContextWindow: 1_000_000, MaxOutput: 64_000, Stable: true},
		{ID: "claude-sonnet-4.5", Family: "sonnet", Display: "Claude Sonnet 4.5", ContextWindow: 200_000, MaxOutput: 64_000, Stable: true},
		{ID: "claude-sonnet-4", Family: "sonnet", Display: "Claude Sonnet 4", ContextWindow: 200_000, MaxOutput: 64_000, Stable: true},
		{ID: "claude-haiku-4.5", Family: "haiku", Display: "Claude Haiku 4.5", ContextWindow: 200_000, MaxOutput: 64_000, Stable: true},
		{ID: "claude-fable-5", Family: "fable", Display: "Claude Fable 5", ContextWindow: 200_000, MaxOutput: 64_000},
		// The Kiro IDE's id for small background tasks (decolua/9router
		// PR #3149): Kiro picks the model, as for auto.
		{ID: "simple-task", Family: "auto", Display: "Simple task (Kiro chooses a small model)", ContextWindow: 200_000, MaxOutput: 64_000},
	}
}

// Lookup returns the known model with the given Kiro id.
func Lookup(id string) (Model, bool) {
	for _, m := range Known() {
		if m.ID == id {
			return m, true
		}
	}
	return Model{}, false
}

// ContextWindow returns the context window in tokens of the Kiro model id,
// or 200k for ids kirobar does not know (Kiro's smallest window).
func ContextWindow(id string) int {
	if m, ok := Lookup(id); ok {
		return m.ContextWindow
	}
	return defaultContextWindow
}

// newest returns the id of the newest stable model of family, else of the
// newest model of family at all.
func newest(family string) string {
	first := ""
	for _, m := range Known() {
		if m.Family != family {
			continue
		}
		if m.Stable {
			return m.ID
		}
		if first == "" {
			first = m.ID
		}
	}
	if first != "" {
		return first
	}
	return Default
}
