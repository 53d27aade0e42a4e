package payload

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Fillers for turns that would otherwise be empty: Kiro requires non-empty
// content on every message.
const (
	fillUser        = "Continue"
	fillToolResults = "Tool results provided."
	fillImage       = "Please analyze the attached image."
	fillAssistant   = "OK"
	fillToolUses    = " " // kiro.rs: an assistant turn with only tool uses
)

// keepImages is how many of the last turns keep their images (AIClient);
// older images become a text note to bound the payload.
const keepImages = 5

// maxIDLen is Kiro's limit for tool use ids and tool names.
const maxIDLen = 64

// validName reports whether s matches [a-zA-Z0-9_-]{1,64}, what Kiro
// accepts for tool use ids and tool names.
func validName(s string) bool {
	if s == "" || len(s) > maxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !nameByte(s[i]) {
			return false
		}
	}
	return true
}

func nameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// shorten maps s to a valid name: the first up to 55 bytes with invalid
// characters replaced by "_", then "_" and 8 hex digits of sha256(s). It is a
// pure function, so the same input always gives the same output across the
// history, the current message and later requests.
func shorten(s, fallback string) string {
	sum := sha256.Sum256([]byte(s))
	const prefixMax = maxIDLen - 1 - 8
	var b strings.Builder
	b.Grow(maxIDLen)
	for i := 0; i < len(s) && b.Len() < prefixMax; i++ {
		if nameByte(s[i]) {
			b.WriteByte(s[i])
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		b.WriteString(fallback)
	}
	b.WriteByte('_')
	b.WriteString(hex.EncodeToString(sum[:4]))
	return b.String()
}

// sanitizeID returns a tool use id Kiro accepts (zhujunsan/kiro-gateway
// sanitises the same way). Valid ids pass unchanged.
func sanitizeID(id string) string {
	if validName(id) {
		return id
	}
	return shorten(id, "tooluse")
}

// repairPairing enforces Kiro's tool pairing on strictly alternating turns
// that start with a user turn: a tool result survives only if the assistant
// turn right before it made that call and it is the first answer to it;
// tool uses that get no answer in the following user turn, and repeated
// tool use ids, are removed (kiro.rs validate_tool_pairing,
// remove_orphaned_tool_uses; AIClient's dedupe). The last turn is the
// current message, so calls it answers stay in the history.
func repairPairing(turns []turn) {
	var seen map[string]struct{}
	for i := range turns {
		t := &turns[i]
		if t.role == roleAssistant {
			if len(t.uses) == 0 {
				continue
			}
			if seen == nil {
				seen = make(map[string]struct{})
			}
			kept := t.uses[:0]
			for _, u := range t.uses {
				if _, dup := seen[u.id]; dup {
					continue
				}
				seen[u.id] = struct{}{}
				kept = append(kept, u)
			}
			t.uses = kept
			continue
		}
		var prev *turn
		if i > 0 && turns[i-1].role == roleAssistant {
			prev = &turns[i-1]
		}
		kept := t.results[:0]
		for _, r := range t.results {
			if prev != nil && hasUse(prev.uses, r.id) && !hasResult(kept, r.id) {
				kept = append(kept, r)
			}
		}
		t.results = kept
		if prev != nil && len(prev.uses) > 0 {
			answered := prev.uses[:0]
			for _, u := range prev.uses {
				if hasResult(t.results, u.id) {
					answered = append(answered, u)
				}
			}
			prev.uses = answered
		}
	}
}

func hasUse(uses []toolUse, id string) bool {
	for _, u := range uses {
		if u.id == id {
			return true
		}
	}
	return false
}

func hasResult(results []toolResult, id string) bool {
	for _, r := range results {
		if r.id == id {
			return true
		}
	}
	return false
}

// ageImages replaces the images of all but the last keep turns with a note.
func ageImages(turns []turn, keep int) {
	for i := 0; i < len(turns)-keep; i++ {
		t := &turns[i]
		if len(t.images) == 0 {
			continue
		}
		notes := strings.Repeat("\n"+noteOldImage, len(t.images))
		if t.text == "" {
			notes = notes[1:]
		}
		t.text += notes
		t.images = nil
	}
}

// userContent is the content of a user turn, with a filler when it has no
// text of its own.
func userContent(t *turn) string {
	if strings.TrimSpace(t.text) != "" {
		return t.text
	}
	switch {
	case len(t.results) > 0:
		return fillToolResults
	case len(t.images) > 0:
		return fillImage
	}
	return fillUser
}

// assistantContent is the content of an assistant turn, with a filler when
// it is empty.
func assistantContent(t *turn) string {
	if t.text != "" {
		return t.text
	}
	if len(t.uses) > 0 {
		return fillToolUses
	}
	return fillAssistant
}
