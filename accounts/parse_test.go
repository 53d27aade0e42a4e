package accounts

import (
	"testing"
	"time"
)

func FuzzTokenFile(f *testing.F) {
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
			c, err := candidateFrom(r, "fuzz")
			if err != nil {
				continue
			}
			if c.authMethod != AuthSocial && c.authMethod != AuthIdC {
				t.Fatalf("auth method %q", c.authMethod)
			}
			if r.isTokenObject() && r.isRegistration() {
				t.Fatal("a token object is also a registration")
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
		{"social", "Google", false, AuthSocial, false},
		{"IdC", "", false, AuthIdC, false},
		{"builder-id", "", false, AuthIdC, false},
		{"iam", "", false, AuthIdC, false},
		{"", "BuilderId", false, AuthIdC, false},
		{"", "Enterprise", false, AuthIdC, false},
		{"", "Github", false, AuthSocial, false},
		{"", "", true, AuthIdC, false},
		{"external_idp", "", false, "", true},
		{"api_key", "", false, "", true},
		{"password", "", false, "", true},
	} {
		got, err := canonicalAuth(tc.method, tc.provider, tc.client)
		if got != tc.want || (err != nil) != tc.fails {
			t.Errorf("canonicalAuth(%q, %q, %v) = %q, %v", tc.method, tc.provider, tc.client, got, err)
		}
	}
}

func TestScheduleKeepsOneLiveItemPerAccount(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var s schedule
	s.set("a", t0.Add(3*time.Minute))
	s.set("b", t0.Add(2*time.Minute))
	s.set("a", t0.Add(time.Minute)) // rescheduled earlier
	s.set("c", t0.Add(4*time.Minute))
	s.set("c", time.Time{}) // removed
	var order []string
	for {
		it, ok := s.pop()
		if !ok {
			break
		}
		order = append(order, it.id)
	}
	if got := len(order); got != 2 || order[0] != "a" || order[1] != "b" {
		t.Fatalf("pop order %v, want [a b]", order)
	}
}
