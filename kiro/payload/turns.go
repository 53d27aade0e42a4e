package payload

import (
	"bytes"
	"fmt"
	json "github.com/goccy/go-json"
	"strings"

	"github.com/kirobar/kirobar/canon"
)

// role is a Kiro history role.
type role uint8

const (
	roleUser role = iota + 1
	roleAssistant
)

// turn is one conversation turn on its way to a Kiro history entry: text
// already flattened, tool ids and names already in Kiro's form.
type turn struct {
	role    role
	text    string
	images  []picture
	uses    []toolUse
	results []toolResult
}

// picture is an image on its way to Kiro. msg and block locate it in the
// client's request, for errors and flow notes.
type picture struct {
	format     string // jpeg | png | gif | webp
	data       string // base64, without a data: prefix
	msg, block int
}

type toolUse struct {
	id, name string
	input    []byte // compact JSON object
}

type toolResult struct {
	id      string
	text    string
	isError bool
}

// Notes put into text where Kiro cannot carry the original content.
const (
	noteOldImage    = "[image omitted: only the images of the last 5 messages are sent]"
	noteResultImage = "[image omitted: Kiro does not accept images in tool results]"
	noteDocument    = "[document omitted: Kiro accepts only text and images]"
)

// toTurns converts the client's messages. Messages with role "system" (Claude
// Code's environment notes, which may come after the user's prompt) do not
// become turns: their text is returned in notes and joins the system prompt,
// so it reaches the model without ever becoming the question. Roles other
// than assistant and system are treated as user.
func toTurns(msgs []canon.Message, names *toolNames) (turns []turn, notes []string, err error) {
	turns = make([]turn, 0, len(msgs)+1)
	for i, m := range msgs {
		switch m.Role {
		case "system":
			if s := m.Content.Text("\n"); s != "" {
				notes = append(notes, s)
			}
		case "assistant":
			turns = append(turns, assistantTurn(m.Content, names))
		default:
			t, err := userTurn(m.Content, i)
			if err != nil {
				return nil, nil, err
			}
			turns = append(turns, t)
		}
	}
	return turns, notes, nil
}

func userTurn(content canon.Content, msgIndex int) (turn, error) {
	t := turn{role: roleUser}
	var texts []string
	for j, b := range content {
		switch b.Type {
		case canon.BlockText:
			if b.Text != "" {
				texts = append(texts, b.Text)
			}
		case canon.BlockImage:
			img, err := convertImage(b.Source)
			if err != nil {
				return turn{}, fmt.Errorf("messages.%d.content.%d: %w", msgIndex, j, err)
			}
			img.msg, img.block = msgIndex, j
			t.images = append(t.images, img)
		case canon.BlockToolResult:
			t.results = append(t.results, toolResult{
				id:      sanitizeID(b.ToolUseID),
				text:    flattenResult(b.Content),
				isError: b.IsError,
			})
		case canon.BlockDocument:
			texts = append(texts, documentText(b))
		}
		// thinking, tool_use and unknown blocks have no place in a user
		// turn upstream; they are left out.
	}
	t.text = strings.Join(texts, "\n")
	return t, nil
}

// assistantTurn renders prior thinking as "<thinking>…</thinking>\n\n"
// before the text, the way the model writes it when Kiro emulates thinking.
func assistantTurn(content canon.Content, names *toolNames) turn {
	t := turn{role: roleAssistant}
	var texts, thoughts []string
	for _, b := range content {
		switch b.Type {
		case canon.BlockText:
			if b.Text != "" {
				texts = append(texts, b.Text)
			}
		case canon.BlockThinking:
			if b.Thinking != "" {
				thoughts = append(thoughts, b.Thinking)
			}
		case canon.BlockToolUse:
			t.uses = append(t.uses, toolUse{
				id:    sanitizeID(b.ID),
				name:  names.kiro(b.Name),
				input: normalizeInput(b.Input),
			})
		case canon.BlockServerToolUse, canon.BlockWebSearchToolResult:
			if s := serverBlockText(b); s != "" {
				texts = append(texts, s)
			}
		}
	}
	text := strings.Join(texts, "\n\n")
	if len(thoughts) > 0 {
		text = "<thinking>" + strings.Join(thoughts, "\n\n") + "</thinking>\n\n" + text
	}
	t.text = text
	return t
}

// normalizeInput returns tool input as a compact JSON object: invalid JSON
// becomes {}, any other value v becomes {"value": v} (Kiro requires objects).
func normalizeInput(raw json.RawMessage) []byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return []byte("{}")
	}
	var buf bytes.Buffer
	buf.Grow(len(raw) + 10)
	if raw[0] != '{' {
		buf.WriteString(`{"value":`)
	}
	if err := json.Compact(&buf, raw); err != nil {
		return []byte("{}")
	}
	if raw[0] != '{' {
		buf.WriteByte('}')
	}
	return buf.Bytes()
}

// flattenResult joins a tool result's text blocks with "\n"; images become a
// note because Kiro accepts images only on user messages.
func flattenResult(content canon.Content) string {
	if len(content) == 1 && content[0].Type == canon.BlockText {
		return content[0].Text
	}
	var parts []string
	for _, b := range content {
		switch b.Type {
		case canon.BlockText:
			if b.Text != "" {
				parts = append(parts, b.Text)
			}
		case canon.BlockImage:
			parts = append(parts, noteResultImage)
		case canon.BlockDocument:
			parts = append(parts, documentText(b))
		}
	}
	return strings.Join(parts, "\n")
}

// documentText returns a plain-text document's text, or a note for binary
// documents (PDF) that Kiro cannot read.
func documentText(b canon.Block) string {
	if b.Source != nil && b.Source.Type == "text" && b.Source.Data != "" {
		return b.Source.Data
	}
	return noteDocument
}

// convertImage turns a base64 image source (or a data: URL) into Kiro's
// form. It only reads the source; fitImages checks the bytes once it is
// known which images are still sent.
func convertImage(src *canon.ImageSource) (picture, error) {
	if src == nil {
		return picture{}, fmt.Errorf("image has no source")
	}
	media, data := src.MediaType, src.Data
	switch src.Type {
	case "base64", "":
	case "url":
		var ok bool
		media, data, ok = parseDataURL(src.URL)
		if !ok {
			return picture{}, fmt.Errorf("image URLs are not supported; send the image as base64 data")
		}
	default:
		return picture{}, fmt.Errorf("image source type %q is not supported; send the image as base64 data", src.Type)
	}
	if m, d, ok := parseDataURL(data); ok {
		data = d
		if media == "" {
			media = m
		}
	}
	if data == "" {
		return picture{}, fmt.Errorf("image data is empty")
	}
	format, ok := imageFormat(media)
	if !ok {
		return picture{}, fmt.Errorf("image media type %q is not supported (use image/jpeg, image/png, image/gif or image/webp)", media)
	}
	return picture{format: format, data: data}, nil
}

// parseDataURL splits "data:image/png;base64,AAAA" into media type and data.
func parseDataURL(s string) (media, data string, ok bool) {
	rest, found := strings.CutPrefix(s, "data:")
	if !found {
		return "", "", false
	}
	meta, data, found := strings.Cut(rest, ",")
	if !found {
		return "", "", false
	}
	media, isBase64 := strings.CutSuffix(meta, ";base64")
	if !isBase64 {
		return "", "", false
	}
	return media, data, true
}

func imageFormat(media string) (string, bool) {
	switch strings.ToLower(media) {
	case "image/jpeg", "image/jpg":
		return "jpeg", true
	case "image/png":
		return "png", true
	case "image/gif":
		return "gif", true
	case "image/webp":
		return "webp", true
	}
	return "", false
}

// mergeTurns joins consecutive turns of the same role in place: user text
// with "\n", assistant text with "\n\n", and their images, tool uses and tool
// results concatenated (Claude Code sends two assistant messages in a row
// after a dropped connection; Kiro rejects them unmerged).
func mergeTurns(turns []turn) []turn {
	out := turns[:0]
	for _, t := range turns {
		if len(out) == 0 || out[len(out)-1].role != t.role {
			out = append(out, t)
			continue
		}
		last := &out[len(out)-1]
		sep := "\n"
		if t.role == roleAssistant {
			sep = "\n\n"
		}
		switch {
		case last.text == "":
			last.text = t.text
		case t.text != "":
			last.text = last.text + sep + t.text
		}
		last.images = append(last.images, t.images...)
		last.uses = append(last.uses, t.uses...)
		last.results = append(last.results, t.results...)
	}
	return out
}
