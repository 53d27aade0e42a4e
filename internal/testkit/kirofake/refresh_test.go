package kirofake

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

type tokens struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	ProfileARN   string `json:"profileArn"`
	ExpiresIn    int    `json:"expiresIn"`
	TokenType    string `json:"tokenType"`
}

func decodeTokens(t *testing.T, b []byte) tokens {
	t.Helper()
	var tk tokens
	if err := json.Unmarshal(b, &tk); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return tk
}

func TestSocialRefresh(t *testing.T) {
	clock := newClock()
	s := start(t, Options{Clock: clock.Now, AccessTTL: 30 * time.Minute})
	s.AddAccount(Account{ID: "a1", RefreshToken: "aorAAAAA-social", AccessToken: "old-access"})
	status, b := postJSON(t, s.URL+"/refreshToken", map[string]string{"refreshToken": "aorAAAAA-social"})
	if status != 200 {
		t.Fatalf("status %d: %s", status, b)
	}
	tk := decodeTokens(t, b)
	if tk.ExpiresIn != 1800 || tk.ProfileARN != DefaultProfileARN || tk.RefreshToken != "aorAAAAA-social" || len(tk.AccessToken) < 100 {
		t.Fatalf("tokens %+v", tk)
	}
	if got := s.Account("a1"); got.AccessToken != tk.AccessToken || !got.AccessExpiry.Equal(clock.Now().Add(30*time.Minute)) {
		t.Fatalf("account after refresh %+v", got)
	}
	if n := s.Stats().Refreshes["a1"]; n != 1 {
		t.Fatalf("Refreshes = %d, want exactly one", n)
	}
	body := mustMarshal(t, simpleRequest("hi"))
	resp := generate(testCtx(t), t, s, tk.AccessToken, body)
	readBody(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("new token refused: %d", resp.StatusCode)
	}
	clock.Advance(30 * time.Minute)
	resp = generate(testCtx(t), t, s, tk.AccessToken, body)
	if got := string(readBody(t, resp)); resp.StatusCode != 403 || got != BodyBearerInvalid {
		t.Fatalf("expired token: %d %s", resp.StatusCode, got)
	}
}

func TestIdCRefresh(t *testing.T) {
	s := start(t, Options{})
	s.AddAccount(Account{ID: "b1", AuthMethod: "idc", ClientID: "cid", ClientSecret: "csecret", RefreshToken: "idc-refresh"})
	for _, tc := range []struct {
		name   string
		body   map[string]string
		status int
		want   string
	}{
		{"wrong secret", map[string]string{"clientId": "cid", "clientSecret": "nope", "grantType": "refresh_token", "refreshToken": "idc-refresh"},
			400, bodyInvalidClient},
		{"unknown refresh token", map[string]string{"clientId": "cid", "clientSecret": "csecret", "grantType": "refresh_token", "refreshToken": "other"},
			400, BodyInvalidGrant},
		{"unsupported grant", map[string]string{"clientId": "cid", "clientSecret": "csecret", "grantType": "password"},
			400, bodyUnsupported},
		{"ok", map[string]string{"clientId": "cid", "clientSecret": "csecret", "grantType": "refresh_token", "refreshToken": "idc-refresh"},
			200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, b := postJSON(t, s.URL+"/token", tc.body)
			if status != tc.status {
				t.Fatalf("status %d: %s", status, b)
			}
			if tc.want != "" && string(b) != tc.want {
				t.Fatalf("body %s, want %s", b, tc.want)
			}
			if status == 200 {
				tk := decodeTokens(t, b)
				if tk.TokenType != "Bearer" || tk.ExpiresIn != 3600 || tk.AccessToken == "" || tk.RefreshToken != "idc-refresh" {
					t.Fatalf("tokens %+v", tk)
				}
			}
		})
	}
	// Form encoding is not what SSO-OIDC accepts.
	resp, err := http.Post(s.URL+"/token", "application/x-www-form-urlencoded",
		strings.NewReader("grant_type=refresh_token&refresh_token=idc-refresh&client_id=cid"))
	if err != nil {
		t.Fatal(err)
	}
	if readBody(t, resp); resp.StatusCode != 400 {
		t.Fatalf("form-encoded refresh: %d", resp.StatusCode)
	}
	// A social refresh token is not accepted by the OIDC endpoint and vice versa.
	if status, _ := postJSON(t, s.URL+"/refreshToken", map[string]string{"refreshToken": "idc-refresh"}); status != 400 {
		t.Fatalf("idc token on social endpoint: %d", status)
	}
	st := s.Stats()
	if st.Refreshes["b1"] != 1 || st.FailedRefreshes != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRefreshRotation(t *testing.T) {
	s := start(t, Options{RotateRefreshTokens: true})
	s.AddAccount(Account{ID: "a1", RefreshToken: "aorAAAAA-one"})
	status, b := postJSON(t, s.URL+"/refreshToken", map[string]string{"refreshToken": "aorAAAAA-one"})
	if status != 200 {
		t.Fatalf("first refresh %d", status)
	}
	tk := decodeTokens(t, b)
	if tk.RefreshToken == "aorAAAAA-one" || len(tk.RefreshToken) < 100 || s.Account("a1").RefreshToken != tk.RefreshToken {
		t.Fatalf("refresh token not rotated: %+v", tk)
	}
	status, b = postJSON(t, s.URL+"/refreshToken", map[string]string{"refreshToken": "aorAAAAA-one"})
	if status != 400 || string(b) != BodyInvalidGrant {
		t.Fatalf("reused refresh token: %d %s", status, b)
	}
	if status, _ = postJSON(t, s.URL+"/refreshToken", map[string]string{"refreshToken": tk.RefreshToken}); status != 200 {
		t.Fatalf("rotated token refused: %d", status)
	}
	// Access tokens issued earlier stay valid until they expire.
	resp := generate(testCtx(t), t, s, tk.AccessToken, mustMarshal(t, simpleRequest("hi")))
	if readBody(t, resp); resp.StatusCode != 200 {
		t.Fatalf("earlier access token refused: %d", resp.StatusCode)
	}
}

func TestRefreshFailuresAndRevocation(t *testing.T) {
	s := start(t, Options{})
	s.AddAccount(Account{ID: "a1", RefreshToken: "aorAAAAA-one"})
	s.FailRefreshes("a1", 1)
	if status, _ := postJSON(t, s.URL+"/refreshToken", map[string]string{"refreshToken": "aorAAAAA-one"}); status != 500 {
		t.Fatalf("scripted failure: %d", status)
	}
	if status, _ := postJSON(t, s.URL+"/refreshToken", map[string]string{"refreshToken": "aorAAAAA-one"}); status != 200 {
		t.Fatalf("after the failure: %d", status)
	}
	s.RevokeRefreshToken("a1")
	if status, b := postJSON(t, s.URL+"/refreshToken", map[string]string{"refreshToken": "aorAAAAA-one"}); status != 400 || string(b) != BodyInvalidGrant {
		t.Fatalf("revoked: %d %s", status, b)
	}
	if st := s.Stats(); st.Refreshes["a1"] != 1 || st.FailedRefreshes != 2 {
		t.Fatalf("stats %+v", st)
	}
}
