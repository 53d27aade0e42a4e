package kirofake

import (
	"encoding/json"
	"io"
	"net/http"
)

type socialRefreshRequest struct {
	RefreshToken string `json:"refreshToken"`
}

type socialTokenResponse struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	ProfileARN   string `json:"profileArn,omitempty"`
	ExpiresIn    int    `json:"expiresIn"`
}

// tokenRequest is the SSO-OIDC CreateToken body, camelCase JSON, for both
// the refresh_token and the device_code grants.
type tokenRequest struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	GrantType    string `json:"grantType"`
	RefreshToken string `json:"refreshToken"`
	DeviceCode   string `json:"deviceCode"`
}

type oidcTokenResponse struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	ExpiresIn    int    `json:"expiresIn"`
	TokenType    string `json:"tokenType"`
}

const (
	grantRefresh    = "refresh_token"
	grantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"
)

const (
	bodyInvalidRequest = `{"error":"invalid_request","error_description":"The request body is not valid JSON."}`
	bodyInvalidClient  = `{"error":"invalid_client","error_description":"Invalid client credentials provided"}`
	bodyUnsupported    = `{"error":"unsupported_grant_type","error_description":"Unsupported grant type"}`
	bodyRefreshFailure = `{"message":"Internal server error"}`
)

// decodeJSON reads a small JSON body into v.
func decodeJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Only fixed response structs of strings and numbers reach here.
		return `{"message":"kirofake: encode response"}`
	}
	return string(b)
}

// handleSocialRefresh is POST /refreshToken of the Kiro auth service
// (kiro-protocol.md §6.2).
func (s *Server) handleSocialRefresh(w http.ResponseWriter, r *http.Request) {
	var in socialRefreshRequest
	if err := decodeJSON(r, &in); err != nil || in.RefreshToken == "" {
		s.update(func(st *Stats) { st.FailedRefreshes++ })
		writeJSON(w, http.StatusBadRequest, bodyInvalidRequest)
		return
	}
	status, body := s.refreshAccount(in.RefreshToken, AuthSocial, "", "", placeOf(r))
	writeJSON(w, status, body)
}

// handleToken is POST /token of SSO-OIDC: IdC refresh and device-code polls
// (kiro-protocol.md §6.3, §6.5).
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	var in tokenRequest
	if err := decodeJSON(r, &in); err != nil {
		writeJSON(w, http.StatusBadRequest, bodyInvalidRequest)
		return
	}
	switch in.GrantType {
	case grantRefresh:
		status, body := s.refreshAccount(in.RefreshToken, AuthIdC, in.ClientID, in.ClientSecret, placeOf(r))
		writeJSON(w, status, body)
	case grantDeviceCode:
		status, body := s.pollDevice(in, placeOf(r))
		writeJSON(w, status, body)
	default:
		writeJSON(w, http.StatusBadRequest, bodyUnsupported)
	}
}

// refreshAccount exchanges a refresh token of an account of the given auth
// method for new tokens. An IdC client exists only in its SSO region: a
// refresh through another region's SSO-OIDC host does not know it.
func (s *Server) refreshAccount(refreshToken, method, clientID, clientSecret string, p place) (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fail := func(status int, body string) (int, string) {
		s.updateLocked(func(st *Stats) { st.FailedRefreshes++ })
		return status, body
	}
	id, ok := s.refresh[refreshToken]
	a := s.accounts[id]
	if !ok || a == nil || a.AuthMethod != method {
		return fail(http.StatusBadRequest, BodyInvalidGrant)
	}
	if method == AuthIdC && (clientID != a.ClientID || clientSecret != a.ClientSecret || p.host == HostOIDC && p.region != a.SSORegion) {
		return fail(http.StatusBadRequest, bodyInvalidClient)
	}
	if a.refreshFailures > 0 {
		a.refreshFailures--
		return fail(http.StatusInternalServerError, bodyRefreshFailure)
	}
	s.issueLocked(a, s.opts.RotateRefreshTokens)
	s.updateLocked(func(st *Stats) { st.Refreshes[a.ID]++ })
	expiresIn := int(s.opts.AccessTTL.Seconds())
	if method == AuthSocial {
		return http.StatusOK, mustJSON(socialTokenResponse{
			AccessToken: a.AccessToken, RefreshToken: a.RefreshToken, ProfileARN: a.ProfileARN, ExpiresIn: expiresIn,
		})
	}
	return http.StatusOK, mustJSON(oidcTokenResponse{
		AccessToken: a.AccessToken, RefreshToken: a.RefreshToken, ExpiresIn: expiresIn, TokenType: "Bearer",
	})
}
