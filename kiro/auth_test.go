package kiro

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

var fixedNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func TestRefresh(t *testing.T) {
	for _, tc := range []struct {
		name     string
		auth     string
		answer   string
		wantPath string
		wantBody map[string]string
		want     Tokens
	}{
		{
			name:     "social camelCase",
			auth:     AuthSocial,
			answer:   `{"accessToken":"new-access","refreshToken":"new-refresh","profileArn":"arn:new","expiresIn":1800}`,
			wantPath: "/refreshToken",
			wantBody: map[string]string{"refreshToken": testRefreshToken},
			want:     Tokens{AccessToken: "new-access", RefreshToken: "new-refresh", ProfileARN: "arn:new", ExpiresAt: fixedNow.Add(30 * time.Minute)},
		},
		{
			name:     "social without expiry or new refresh token",
			auth:     "Social",
			answer:   `{"accessToken":"new-access"}`,
			wantPath: "/refreshToken",
			wantBody: map[string]string{"refreshToken": testRefreshToken},
			want:     Tokens{AccessToken: "new-access", ExpiresAt: fixedNow.Add(time.Hour)},
		},
		{
			name:     "idc camelCase",
			auth:     AuthIdC,
			answer:   `{"accessToken":"idc-access","refreshToken":"idc-refresh","expiresIn":3600,"tokenType":"Bearer"}`,
			wantPath: "/token",
			wantBody: map[string]string{"clientId": "client-1", "clientSecret": testClientSecret, "grantType": "refresh_token", "refreshToken": testRefreshToken},
			want:     Tokens{AccessToken: "idc-access", RefreshToken: "idc-refresh", ExpiresAt: fixedNow.Add(time.Hour)},
		},
		{
			name:     "idc snake_case",
			auth:     "IdC",
			answer:   `{"access_token":"snake-access","refresh_token":"snake-refresh","expires_in":"7200","token_type":"Bearer"}`,
			wantPath: "/token",
			wantBody: map[string]string{"clientId": "client-1", "clientSecret": testClientSecret, "grantType": "refresh_token", "refreshToken": testRefreshToken},
			want:     Tokens{AccessToken: "snake-access", RefreshToken: "snake-refresh", ExpiresAt: fixedNow.Add(2 * time.Hour)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, rec := newUpstream(t, status(200, tc.answer))
			c, _ := newTestClient(t, testConfig(srv, srv))
			c.now = func() time.Time { return fixedNow }
			got, err := c.Refresh(context.Background(), RefreshRequest{
				AccountID: "acct-1", AuthMethod: tc.auth, RefreshToken: testRefreshToken,
				ClientID: "client-1", ClientSecret: testClientSecret, MachineID: testMachineID,
			})
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("tokens %+v, want %+v", got, tc.want)
			}
			r := rec.requests()[0]
			if r.Method != http.MethodPost || r.Path != tc.wantPath || r.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("%s %s %v", r.Method, r.Path, r.Header)
			}
			var body map[string]string
			if err := json.Unmarshal(r.Body, &body); err != nil {
				t.Fatal(err)
			}
			if len(body) != len(tc.wantBody) {
				t.Fatalf("body %v, want %v", body, tc.wantBody)
			}
			for k, v := range tc.wantBody {
				if body[k] != v {
					t.Fatalf("body[%s] = %q, want %q", k, body[k], v)
				}
			}
			if tc.wantPath == "/refreshToken" {
				if ua := r.Header.Get("User-Agent"); ua != "KiroIDE-"+DefaultKiroVersion+"-"+testMachineID {
					t.Fatalf("social User-Agent %q", ua)
				}
			} else if !strings.Contains(r.Header.Get("User-Agent"), "api/sso-oidc#3.980.0 m/E KiroIDE") || r.Header.Get("Amz-Sdk-Invocation-Id") == "" {
				t.Fatalf("idc headers %v", r.Header)
			}
			if r.Header.Get("Authorization") != "" {
				t.Fatal("refresh sent an Authorization header")
			}
		})
	}
}

func TestRefreshUsesRegionInURL(t *testing.T) {
	srv, rec := newUpstream(t, status(200, `{"accessToken":"a"}`))
	cfg := testConfig(nil, nil)
	cfg.AuthURL = "http://prod.{region}.auth.invalid"
	cfg.Proxy = srv.URL // the test server plays the proxy and sees the absolute URI
	c, _ := newTestClient(t, cfg)
	if _, err := c.Refresh(context.Background(), RefreshRequest{AuthMethod: AuthSocial, RefreshToken: testRefreshToken, Region: "eu-central-1"}); err != nil {
		t.Fatal(err)
	}
	if got := rec.requests()[0].RequestURI; got != "http://prod.eu-central-1.auth.invalid/refreshToken" {
		t.Fatalf("refresh went to %q", got)
	}
}

func TestRefreshFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		code   int
		answer string
		req    func(*RefreshRequest)
		want   Class
	}{
		{"invalid grant", 400, `{"error":"invalid_grant","error_description":"Invalid refresh token provided"}`, nil, ClassInvalidGrant},
		{"invalid grant echoing the token", 400, `{"error":"invalid_grant","error_description":"Invalid refresh token provided: ` + testRefreshToken + `"}`, nil, ClassInvalidGrant},
		{"server error", 500, `{"message":"internal"}`, nil, ClassServer},
		{"no access token", 200, `{"refreshToken":"x"}`, nil, ClassServer},
		{"not JSON", 200, `<html>`, nil, ClassServer},
		{"throttled", 429, `{"message":"slow down"}`, nil, ClassThrottled},
		{"truncated token", 200, `{"accessToken":"a"}`, func(r *RefreshRequest) { r.RefreshToken = "aorAAAAA..." }, ClassInvalidGrant},
		{"idc without client secret", 200, `{"accessToken":"a"}`, func(r *RefreshRequest) { r.ClientSecret = "" }, ClassInvalidGrant},
		{"bad region", 200, `{"accessToken":"a"}`, func(r *RefreshRequest) { r.Region = "x/y" }, ClassBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := newUpstream(t, status(tc.code, tc.answer))
			c, _ := newTestClient(t, testConfig(srv, srv))
			r := RefreshRequest{AccountID: "acct-1", AuthMethod: AuthIdC, RefreshToken: testRefreshToken, ClientID: "client-1", ClientSecret: testClientSecret}
			if tc.req != nil {
				tc.req(&r)
			}
			_, err := c.Refresh(context.Background(), r)
			e := mustError(t, err, tc.want)
			if e.Op != OpRefresh {
				t.Fatalf("op %q", e.Op)
			}
		})
	}
}

func TestValidateRefreshToken(t *testing.T) {
	for _, tc := range []struct {
		name string
		tok  string
		ok   bool
	}{
		{"real", testRefreshToken, true},
		{"exactly 100", strings.Repeat("a", 100), true},
		{"empty", "", false},
		{"short", strings.Repeat("a", 99), false},
		{"ellipsis", strings.Repeat("a", 120) + "...", false},
	} {
		err := ValidateRefreshToken(tc.tok)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && tc.tok != "" && strings.Contains(err.Error(), tc.tok) {
			t.Errorf("%s: message repeats the token", tc.name)
		}
	}
}
