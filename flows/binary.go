package flows

import (
	"fmt"
	"strings"
)

// dataURLNote replaces a base64 data URL (OpenAI image_url, Responses
// input_image) with its media type and size.
func dataURLNote(s string) (string, bool) {
	if !strings.HasPrefix(s, "data:") {
		return "", false
	}
	meta, data, ok := strings.Cut(s[len("data:"):], ";base64,")
	if !ok {
		return "", false
	}
	return binaryNote(meta, data), true
}

// binaryNote describes base64 data by media type and decoded size.
func binaryNote(mediaType, b64 string) string {
	if strings.HasPrefix(b64, "[omitted") {
		return b64
	}
	return binaryNoteLen(mediaType, len(b64), strings.Count(b64[max(0, len(b64)-2):], "="))
}

// binaryNoteLen describes base64 data of n characters ending in pad '='
// by media type and decoded size.
func binaryNoteLen(mediaType string, n, pad int) string {
	return fmt.Sprintf("[omitted %s, %d bytes]", mediaType, max(n*3/4-pad, 0))
}
