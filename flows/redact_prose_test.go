package flows

import "testing"

// TestBearerProseKept: prose about bearer tokens stays readable; a token
// after "Bearer" is still removed, whatever it looks like.
func TestBearerProseKept(t *testing.T) {
	rd := newRedactor(nil)
	for _, tc := range []struct{ in, want string }{
		{"The bearer token included in the request is invalid.", "The bearer token included in the request is invalid."},
		{"missing bearer token.", "missing bearer token."},
		{"use Bearer authentication", "use Bearer authentication"},
		{"Authorization: Bearer eyJhbGciOi.x_y-z", "Authorization: Bearer [REDACTED]"},
		{"Bearer tokenABC123", "Bearer [REDACTED]"},
		{"Bearer Token", "Bearer [REDACTED]"}, // capitalised: may be a value
		{"bearer token.secret-part", "bearer [REDACTED]"},
	} {
		if got := rd.text(tc.in); got != tc.want {
			t.Errorf("text(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
