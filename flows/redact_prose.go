package flows

import "strings"

// bearerProseWords are words that follow "bearer" in prose, never as a
// credential: Kiro says "The bearer token included in the request is
// invalid.", and redacting that to "The bearer [REDACTED] included…"
// hides the one word that explains the error.
var bearerProseWords = map[string]bool{
	"token": true, "tokens": true, "auth": true, "authentication": true, "authorization": true,
	"header": true, "headers": true, "scheme": true, "credential": true, "credentials": true,
}

// bearerProse reports whether the word after "bearer" is prose (a
// lower-case word from bearerProseWords, with trailing punctuation).
func bearerProse(word []byte) bool {
	w := strings.TrimRight(string(word), ".:")
	return bearerProseWords[w]
}
