package tokenfile

import (
	"strings"
	"testing"
	"time"

	"github.com/kirobar/kirobar/kiro"
)

// FuzzParse: any content either parses into records that each carry a
// refresh token and a canonical auth method, or is refused; nothing
// panics.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{"accessToken":"a","refreshToken":"r","expiresAt":"2026-01-01T10:00:00.000Z","authMethod":"social","provider":"Google"}`,
		`{"accessToken":"a","refreshToken":"r","expiresAt":"2026-01-01T10:00:00Z","authMethod":"IdC","provider":"BuilderId","clientIdHash":"abc","region":"us-east-1"}`,
		`{"access_token":"a","refresh_token":"r","expires_at":1767261600,"region":"eu-central-1"}`,
		`[{"refreshToken":"r","expiresAt":1767261600000},{"refreshToken":"s","auth_method":"builder-id","client_id":"c","client_secret":"s"}]`,
		`{"clientId":"c","clientSecret":"s","expiresAt":"2026-01-01T10:00:00Z"}`,
		`{"refreshToken":"r","authMethod":"external_idp"}`,
		`{"refreshToken":"r","expiresAt":"soon"}`,
		`{"refreshToken":"r","expiresAt":true}`,
		`[]`, `null`, `{`, `"x"`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		raws, err := decodeTokens(data)
		if err != nil {
			return
		}
		for _, r := range raws {
			rec, err := recordFrom(r, "fuzz")
			if err != nil {
				continue
			}
			if rec.AuthMethod != kiro.AuthSocial && rec.AuthMethod != kiro.AuthIdC {
				t.Fatalf("auth method %q", rec.AuthMethod)
			}
			if r.isTokenObject() && r.isRegistration() {
				t.Fatal("a token object is also a registration")
			}
		}
		recs, err := Parse(data, "fuzz")
		if err != nil {
			return
		}
		if len(recs) != len(raws) {
			t.Fatalf("%d records from %d objects", len(recs), len(raws))
		}
		for i, rec := range recs {
			if rec.Tokens.RefreshToken == "" {
				t.Fatalf("record %d has no refresh token", i)
			}
			if rec.AuthMethod != kiro.AuthSocial && rec.AuthMethod != kiro.AuthIdC {
				t.Fatalf("record %d: auth method %q", i, rec.AuthMethod)
			}
			if rec.Link != (Link{}) || rec.ModTime != 0 {
				t.Fatalf("record %d of pasted content is linked: %+v", i, rec.Link)
			}
			if !strings.HasPrefix(rec.Origin, "fuzz") {
				t.Fatalf("record %d origin %q", i, rec.Origin)
			}
		}
	})
}

func TestParseExpiry(t *testing.T) {
	want := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		v    any
	}{
		{"IDE ISO with millis", "2026-01-01T10:00:00.000Z"},
		{"RFC 3339 with offset", "2026-01-01T12:00:00+02:00"},
		{"epoch seconds", float64(want.Unix())},
		{"epoch milliseconds", float64(want.UnixMilli())},
		{"epoch seconds as text", "1767261600"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := rawToken{"expiresAt": tc.v}.time("expiresAt")
			if err != nil || !got.Equal(want) {
				t.Fatalf("got %v, %v; want %v", got, err, want)
			}
		})
	}
	if _, err := (rawToken{"expiresAt": "soon"}).time("expiresAt"); err == nil {
		t.Fatal("a non-date expiry was accepted")
	}
}

func TestCanonicalAuth(t *testing.T) {
	for _, tc := range []struct {
		method, provider string
		client           bool
		want             string
		fails            bool
	}{
		{"social", "Google", false, kiro.AuthSocial, false},
		{"IdC", "", false, kiro.AuthIdC, false},
		{"builder-id", "", false, kiro.AuthIdC, false},
		{"iam", "", false, kiro.AuthIdC, false},
		{"", "BuilderId", false, kiro.AuthIdC, false},
		{"", "Enterprise", false, kiro.AuthIdC, false},
		{"", "Github", false, kiro.AuthSocial, false},
		{"", "", true, kiro.AuthIdC, false},
		{"external_idp", "", false, "", true},
		{"api_key", "", false, "", true},
		{"password", "", false, "", true},
	} {
		got, err := CanonicalAuth(tc.method, tc.provider, tc.client)
		if got != tc.want || (err != nil) != tc.fails {
			t.Errorf("CanonicalAuth(%q, %q, %v) = %q, %v", tc.method, tc.provider, tc.client, got, err)
		}
	}
}
