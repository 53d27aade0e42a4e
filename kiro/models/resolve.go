package models

import (
	"strconv"
	"strings"
)

// maxAliasDepth bounds alias chains so a configuration loop (a → b → a)
// ends instead of recursing forever.
const maxAliasDepth = 8

// DefaultAliases returns the built-in client-name aliases: OpenAI model names
// that SDK users and Codex send, mapped to the Kiro model of matching size.
// The config layer offers them as defaults for its [models] table; a
// Resolver also consults them beneath the configured aliases.
func DefaultAliases() map[string]string {
	return map[string]string{
		"gpt-4o":        newest("sonnet"),
		"gpt-4":         newest("sonnet"),
		"gpt-4o-mini":   newest("haiku"),
		"gpt-3.5-turbo": newest("haiku"),
		"o1":            newest("opus"),
		"o1-preview":    newest("opus"),
	}
}

// Resolver turns client model names into Kiro model ids. It is immutable
// after construction and safe for concurrent use.
type Resolver struct {
	aliases    map[string]string // lower-cased client name → target
	configured map[string]bool   // names the operator aliased
}

// NewResolver returns a resolver that applies aliases (client name → Kiro id
// or another client name, matched case-insensitively) before the built-in
// rules. DefaultAliases apply beneath them, so a configured alias overrides a
// default one of the same name.
func NewResolver(aliases map[string]string) *Resolver {
	merged := DefaultAliases()
	configured := map[string]bool{}
	for k, v := range aliases {
		key := strings.ToLower(strings.TrimSpace(k))
		merged[key] = strings.TrimSpace(v)
		configured[key] = true
	}
	return &Resolver{aliases: merged, configured: configured}
}

// Resolve returns the Kiro model id for a client model name. Order: aliases;
// the known Anthropic names (snapshots, dated, [1m], -thinking and -latest
// variants, dotted ids); family rules (any opus → newest opus, sonnet →
// newest sonnet, haiku → haiku); OpenAI family rules. ok is false only when
// the name has no family at all; the caller then uses its configured default
// (see Default).
func (r *Resolver) Resolve(name string) (id string, ok bool) {
	return r.resolve(name, 0)
}

func (r *Resolver) resolve(name string, depth int) (string, bool) {
	key := strings.ToLower(strings.TrimSpace(name))
	target, isAlias := r.aliases[key]
	if !isAlias || depth >= maxAliasDepth {
		return resolveName(key)
	}
	if target == "" {
		return resolveName(key)
	}
	lt := strings.ToLower(target)
	if _, chained := r.aliases[lt]; chained && lt != key {
		return r.resolve(lt, depth+1)
	}
	if _, known := Lookup(lt); known {
		return lt, true
	}
	// A dotted target is a Kiro id, possibly one newer than this table
	// (the operator configured it on purpose): pass it through unchanged.
	if strings.Contains(target, ".") {
		return target, true
	}
	if id, ok := resolveName(lt); ok {
		return id, true
	}
	return target, true
}

// resolveName applies the built-in rules to a lower-cased name.
func resolveName(name string) (string, bool) {
	n := normalize(name)
	if n == "" {
		return "", false
	}
	if _, known := Lookup(n); known {
		return n, true
	}
	if family, v, ok := parseClaude(n); ok {
		return pickVersion(family, v), true
	}
	for _, family := range families {
		if strings.Contains(n, family) {
			return newest(family), true
		}
	}
	return resolveOpenAI(n)
}

// families are the Claude model lines Kiro serves.
var families = []string{"opus", "sonnet", "haiku", "fable"}

// resolveOpenAI maps OpenAI names by size: small models to haiku, the
// current large and coding models to sonnet.
// gptFiveOrLater reports gpt-5 and every later major version (Codex's
// default model is gpt-6.1-sol), which map to sonnet like gpt-5.
func gptFiveOrLater(n string) bool {
	rest, ok := strings.CutPrefix(n, "gpt-")
	if !ok {
		return false
	}
	major := 0
	for i := 0; i < len(rest) && rest[i] >= '0' && rest[i] <= '9'; i++ {
		major = major*10 + int(rest[i]-'0')
		if major > 1000 {
			break
		}
	}
	return major >= 5
}

func resolveOpenAI(n string) (string, bool) {
	switch {
	case strings.Contains(n, "mini"), strings.Contains(n, "nano"):
		return newest("haiku"), true
	case gptFiveOrLater(n), strings.Contains(n, "codex"), strings.HasPrefix(n, "o3"):
		return newest("sonnet"), true
	}
	return "", false
}

// normalize strips provider prefixes and the suffixes clients add to a base
// model name: "[1m]" context markers, Vertex "@date", Bedrock ":0" and
// "-v1", "-thinking", "-latest" and "-YYYYMMDD" snapshot dates.
func normalize(n string) string {
	n = strings.ToLower(strings.TrimSpace(n))
	if i := strings.LastIndexByte(n, '/'); i >= 0 {
		n = n[i+1:]
	}
	if i := strings.Index(n, "anthropic."); i >= 0 {
		n = n[i+len("anthropic."):]
	}
	for _, sep := range []byte{'[', '@', ':'} {
		if i := strings.IndexByte(n, sep); i >= 0 {
			n = n[:i]
		}
	}
	for {
		before := n
		for _, suffix := range []string{"-thinking", "-latest", "-agentic"} {
			n = strings.TrimSuffix(n, suffix)
		}
		n = trimNumericSuffix(n, "-", 8) // date
		n = trimVersionSuffix(n)         // Bedrock -v1, -v2
		if n == before {
			return strings.TrimSpace(n)
		}
	}
}

// trimNumericSuffix removes sep followed by exactly digits digits.
func trimNumericSuffix(n, sep string, digits int) string {
	i := strings.LastIndex(n, sep)
	if i < 0 || len(n)-i-len(sep) != digits || !allDigits(n[i+len(sep):]) {
		return n
	}
	return n[:i]
}

// trimVersionSuffix removes a Bedrock "-v<N>" suffix.
func trimVersionSuffix(n string) string {
	i := strings.LastIndex(n, "-v")
	if i < 0 || i+2 == len(n) || !allDigits(n[i+2:]) {
		return n
	}
	return n[:i]
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// version is a model version; minor is 0 for "claude-sonnet-4".
type version struct {
	major, minor int
	set          bool
}

func (v version) less(o version) bool {
	if v.major != o.major {
		return v.major < o.major
	}
	return v.minor < o.minor
}

// parseClaude reads "claude-<family>-<major>[-<minor>]" (current naming),
// "claude-<major>[-<minor>]-<family>" (Claude 3 naming) and their dotted
// variants ("claude-3.7-sonnet", "claude-opus-4.5").
func parseClaude(n string) (family string, v version, ok bool) {
	tokens := strings.Split(n, "-")
	if len(tokens) < 2 || tokens[0] != "claude" {
		return "", version{}, false
	}
	fi := -1
	for i, t := range tokens {
		if t == "opus" || t == "sonnet" || t == "haiku" || t == "fable" {
			fi = i
			break
		}
	}
	if fi < 0 {
		return "", version{}, false
	}
	var nums []string
	if fi == 1 {
		nums = tokens[2:]
	} else {
		nums = tokens[1:fi]
	}
	return tokens[fi], parseVersion(nums), true
}

// parseVersion reads up to two leading numeric tokens ("4", "5" or "4.5").
func parseVersion(tokens []string) version {
	var parts []int
	for _, t := range tokens {
		for _, p := range strings.Split(t, ".") {
			if len(p) > 2 || !allDigits(p) {
				return toVersion(parts)
			}
			x, err := strconv.Atoi(p)
			if err != nil {
				return toVersion(parts)
			}
			parts = append(parts, x)
			if len(parts) == 2 {
				return toVersion(parts)
			}
		}
	}
	return toVersion(parts)
}

func toVersion(parts []int) version {
	switch len(parts) {
	case 0:
		return version{}
	case 1:
		return version{major: parts[0], set: true}
	default:
		return version{major: parts[0], minor: parts[1], set: true}
	}
}

// pickVersion returns the Kiro model of family for a requested version: the
// exact one when Kiro serves it, else the oldest known model not older than
// the request (claude-opus-4-1 → claude-opus-4.5), else the newest (a
// future name such as Claude Code's claude-opus-5-5 gets the best opus).
// Claude 3.x sonnets go to claude-sonnet-4.5 as kiro.rs does: Kiro no longer
// serves them and sonnet-4 is the legacy id.
func pickVersion(family string, want version) string {
	if !want.set {
		return newest(family)
	}
	if family == "sonnet" && want.major < 4 {
		return "claude-sonnet-4.5"
	}
	var exact string
	var stable []string
	for _, m := range Known() {
		if m.Family != family {
			continue
		}
		if _, v, ok := parseClaude(m.ID); ok && v == want {
			exact = m.ID
		}
		if m.Stable {
			stable = append(stable, m.ID)
		}
	}
	if exact != "" {
		return exact
	}
	if best := pickFrom(family, want, stable); best != "" {
		return best
	}
	return newest(family)
}

// pickFrom chooses among ids the model of family for a requested version:
// the exact one, else the oldest not older than the request, else the
// newest; "" when ids hold none of family.
func pickFrom(family string, want version, ids []string) string {
	var best, newestID string
	var bestV, newestV version
	for _, id := range ids {
		f, v, ok := parseClaude(id)
		if !ok || f != family {
			continue
		}
		if want.set && v == want {
			return id
		}
		if newestID == "" || newestV.less(v) {
			newestID, newestV = id, v
		}
		if !want.set || v.less(want) {
			continue
		}
		if best == "" || v.less(bestV) {
			best, bestV = id, v
		}
	}
	if best != "" {
		return best
	}
	return newestID
}

// ResolveServed resolves name as Resolve does, then fits the result to
// served, the models the pool's accounts were offered (ListAvailableModels,
// the truth about what an account serves; kiro-protocol.md §11.9): a
// served id the client named exactly is used as is, also when it is newer
// than the table; a resolved id no account is offered becomes the best
// served model of its family (for a name newer than every served one, the
// newest). A configured alias is taken as written. With served empty (no
// account listed yet) it is Resolve: the static table is the fallback.
func (r *Resolver) ResolveServed(name string, served []string) (string, bool) {
	id, ok := r.Resolve(name)
	if len(served) == 0 {
		return id, ok
	}
	key := strings.ToLower(strings.TrimSpace(name))
	if r.configured[key] {
		return id, ok
	}
	n := normalize(key)
	if contains(served, n) {
		return n, true
	}
	if !ok || contains(served, id) {
		return id, ok
	}
	family, want, parsed := parseClaude(id)
	if !parsed {
		if m, known := Lookup(id); known {
			family = m.Family
		}
	}
	if nf, nv, named := parseClaude(n); named && nf == family && want.less(nv) {
		want = nv // the client asked for a version newer than the table knows
	}
	if best := pickFrom(family, want, served); best != "" {
		return best, true
	}
	return id, true
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// Aliases returns a copy of the alias table (built-in and configured), for
// listing the names kirobar answers to.
func (r *Resolver) Aliases() map[string]string {
	out := make(map[string]string, len(r.aliases))
	for k, v := range r.aliases {
		out[k] = v
	}
	return out
}
