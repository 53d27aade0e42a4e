package kirofake

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// DeviceStep is what one poll of a device code answers.
type DeviceStep string

// Device poll answers (kiro-protocol.md Appendix A.6). All but
// DeviceApproved are 400 {"error":step}; DeviceApproved issues tokens for a
// new IdC account.
const (
	DevicePending  DeviceStep = "authorization_pending"
	DeviceSlowDown DeviceStep = "slow_down"
	DeviceExpired  DeviceStep = "expired_token"
	DeviceDenied   DeviceStep = "access_denied"
	DeviceApproved DeviceStep = "approved"
)

type oidcClient struct {
	secret  string
	expires time.Time
	region  string // the SSO-OIDC region it was registered in
}

type deviceAuth struct {
	clientID string
	startURL string
	expiry   time.Time
	steps    []DeviceStep
	done     bool
}

// BuilderIDStartURL is the start URL of an AWS Builder ID sign-in; any
// other start URL is an IAM Identity Center organisation's.
const BuilderIDStartURL = "https://view.awsapps.com/start"

type authCode struct {
	challenge   string
	redirectURI string
	expiry      time.Time
}

// ScriptDevice sets the poll answers of the next device authorization, in
// order; the last answer repeats. Without a script a device code answers
// DevicePending once, then DeviceApproved. A code past its expiry answers
// DeviceExpired whatever the script says.
func (s *Server) ScriptDevice(steps ...DeviceStep) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts = append(s.scripts, steps)
}

type registerRequest struct {
	ClientName string   `json:"clientName"`
	ClientType string   `json:"clientType"`
	Scopes     []string `json:"scopes"`
}

type registerResponse struct {
	ClientID              string `json:"clientId"`
	ClientSecret          string `json:"clientSecret"`
	ClientIDIssuedAt      int64  `json:"clientIdIssuedAt"`
	ClientSecretExpiresAt int64  `json:"clientSecretExpiresAt"`
}

// handleRegisterClient is POST /client/register of SSO-OIDC.
func (s *Server) handleRegisterClient(w http.ResponseWriter, r *http.Request) {
	var in registerRequest
	if err := decodeJSON(r, &in); err != nil || in.ClientName == "" || in.ClientType == "" {
		writeJSON(w, http.StatusBadRequest, bodyInvalidRequest)
		return
	}
	s.mu.Lock()
	now := s.opts.Clock()
	id, secret := "client-"+randomString(16), newToken("secret")
	c := oidcClient{secret: secret, expires: now.Add(90 * 24 * time.Hour), region: placeOf(r).region}
	s.clients[id] = c
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, mustJSON(registerResponse{
		ClientID: id, ClientSecret: secret, ClientIDIssuedAt: now.Unix(), ClientSecretExpiresAt: c.expires.Unix(),
	}))
}

type deviceAuthRequest struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	StartURL     string `json:"startUrl"`
}

type deviceAuthResponse struct {
	DeviceCode              string `json:"deviceCode"`
	UserCode                string `json:"userCode"`
	VerificationURI         string `json:"verificationUri"`
	VerificationURIComplete string `json:"verificationUriComplete"`
	ExpiresIn               int    `json:"expiresIn"`
	Interval                int    `json:"interval"`
}

// handleDeviceAuthorization is POST /device_authorization of SSO-OIDC.
func (s *Server) handleDeviceAuthorization(w http.ResponseWriter, r *http.Request) {
	var in deviceAuthRequest
	if err := decodeJSON(r, &in); err != nil || in.StartURL == "" {
		writeJSON(w, http.StatusBadRequest, bodyInvalidRequest)
		return
	}
	s.mu.Lock()
	if !s.clientValidLocked(in.ClientID, in.ClientSecret, placeOf(r)) {
		s.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, bodyInvalidClient)
		return
	}
	steps := []DeviceStep{DevicePending, DeviceApproved}
	if len(s.scripts) > 0 {
		steps = s.scripts[0]
		s.scripts = s.scripts[1:]
	}
	if len(steps) == 0 {
		steps = []DeviceStep{DeviceApproved}
	}
	code := newToken("device")
	userCode := randomString(4) + "-" + randomString(4)
	s.devices[code] = &deviceAuth{clientID: in.ClientID, startURL: in.StartURL, expiry: s.opts.Clock().Add(s.opts.DeviceCodeTTL), steps: steps}
	s.mu.Unlock()
	verify := "http://" + r.Host + "/device"
	writeJSON(w, http.StatusOK, mustJSON(deviceAuthResponse{
		DeviceCode:              code,
		UserCode:                userCode,
		VerificationURI:         verify,
		VerificationURIComplete: verify + "?user_code=" + userCode,
		ExpiresIn:               int(s.opts.DeviceCodeTTL.Seconds()),
		Interval:                s.opts.DeviceInterval,
	}))
}

// clientValidLocked checks a client's secret and expiry, and that it is
// used in the region it was registered in (OIDC clients are regional).
func (s *Server) clientValidLocked(id, secret string, p place) bool {
	c, ok := s.clients[id]
	return ok && subtle.ConstantTimeCompare([]byte(c.secret), []byte(secret)) == 1 && s.opts.Clock().Before(c.expires) &&
		c.region == p.region
}

// pollDevice answers one device-code poll of /token. An approved code
// creates the account: a Builder ID one for the Builder ID start URL, else
// an IAM Identity Center one with Options.IdCProfileARN, its SSO region
// the one the sign-in ran in.
func (s *Server) pollDevice(in tokenRequest, p place) (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updateLocked(func(st *Stats) { st.DevicePolls++ })
	if !s.clientValidLocked(in.ClientID, in.ClientSecret, p) {
		return http.StatusBadRequest, bodyInvalidClient
	}
	d, ok := s.devices[in.DeviceCode]
	if !ok || d.done || d.clientID != in.ClientID {
		return http.StatusBadRequest, `{"error":"invalid_grant","error_description":"Invalid device code provided"}`
	}
	if !s.opts.Clock().Before(d.expiry) {
		return http.StatusBadRequest, deviceError(DeviceExpired)
	}
	step := d.steps[0]
	if len(d.steps) > 1 {
		d.steps = d.steps[1:]
	}
	if step != DeviceApproved {
		return http.StatusBadRequest, deviceError(step)
	}
	d.done = true
	s.seq++
	acct := Account{
		ID:           fmt.Sprintf("device-%d", s.seq),
		Email:        fmt.Sprintf("builder-%d@example.com", s.seq),
		AuthMethod:   AuthIdC,
		BuilderID:    d.startURL == BuilderIDStartURL,
		SSORegion:    p.region,
		ClientID:     in.ClientID,
		ClientSecret: in.ClientSecret,
	}
	if !acct.BuilderID {
		acct.Email = fmt.Sprintf("idc-%d@example.com", s.seq)
		acct.ProfileARN = s.opts.IdCProfileARN
	}
	a := s.addAccountLocked(acct)
	s.issueLocked(a, true)
	s.updateLocked(func(st *Stats) { st.Logins++ })
	return http.StatusOK, mustJSON(oidcTokenResponse{
		AccessToken: a.AccessToken, RefreshToken: a.RefreshToken, ExpiresIn: int(s.opts.AccessTTL.Seconds()), TokenType: "Bearer",
	})
}

func deviceError(step DeviceStep) string {
	descriptions := map[DeviceStep]string{
		DevicePending:  "Authorization is still pending",
		DeviceSlowDown: "Client is polling too quickly",
		DeviceExpired:  "Device code has expired",
		DeviceDenied:   "User denied the authorization request",
	}
	return mustJSON(map[string]string{"error": string(step), "error_description": descriptions[step]})
}

// handleLogin is GET /login of the Kiro auth portal: it checks the PKCE
// parameters and redirects to redirect_uri with a code and the state, as if
// the user had signed in (kiro-protocol.md §6.5).
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	switch {
	case q.Get("idp") == "", q.Get("state") == "", q.Get("code_challenge") == "":
		writeJSON(w, http.StatusBadRequest, `{"error":"invalid_request","error_description":"idp, state and code_challenge are required"}`)
		return
	case q.Get("code_challenge_method") != "S256":
		writeJSON(w, http.StatusBadRequest, `{"error":"invalid_request","error_description":"code_challenge_method must be S256"}`)
		return
	case err != nil || q.Get("redirect_uri") == "" || redirect.Scheme == "":
		writeJSON(w, http.StatusBadRequest, `{"error":"invalid_request","error_description":"redirect_uri must be an absolute URI"}`)
		return
	case !s.redirectAllowed(redirect):
		// Google and GitHub sign-ins accept only the Kiro IDE's loopback
		// callbacks (kiro-protocol.md §11.7).
		writeJSON(w, http.StatusBadRequest, `{"error":"invalid_request","error_description":"Invalid redirect_uri: must be localhost on a registered port"}`)
		return
	}
	code := randomString(32)
	s.mu.Lock()
	s.codes[code] = &authCode{challenge: q.Get("code_challenge"), redirectURI: q.Get("redirect_uri"), expiry: s.opts.Clock().Add(10 * time.Minute)}
	s.mu.Unlock()
	rq := redirect.Query()
	rq.Set("code", code)
	rq.Set("state", q.Get("state"))
	redirect.RawQuery = rq.Encode()
	w.Header().Set("Location", redirect.String())
	w.WriteHeader(http.StatusFound)
}

// redirectAllowed accepts http://localhost:PORT/oauth/callback for the
// ports in Options.RedirectPorts, and the IDE's own protocol handler
// kiro://kiro.kiroAgent/... (kiro-protocol.md §6.5).
func (s *Server) redirectAllowed(u *url.URL) bool {
	if u.Scheme == "kiro" && u.Host == "kiro.kiroAgent" {
		return true
	}
	if u.Scheme != "http" || u.Hostname() != "localhost" || u.Path != "/oauth/callback" {
		return false
	}
	port, err := strconv.Atoi(u.Port())
	return err == nil && slices.Contains(s.opts.RedirectPorts, port)
}

type oauthTokenRequest struct {
	Code         string `json:"code"`
	CodeVerifier string `json:"code_verifier"`
	RedirectURI  string `json:"redirect_uri"`
}

// handleOAuthToken is POST /oauth/token: it exchanges a login code and its
// PKCE verifier (S256) for tokens of a new social account.
func (s *Server) handleOAuthToken(w http.ResponseWriter, r *http.Request) {
	var in oauthTokenRequest
	if err := decodeJSON(r, &in); err != nil || in.Code == "" || in.CodeVerifier == "" {
		writeJSON(w, http.StatusBadRequest, bodyInvalidRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[in.Code]
	if !ok || !s.opts.Clock().Before(c.expiry) {
		writeJSON(w, http.StatusBadRequest, `{"error":"invalid_grant","error_description":"Invalid or expired authorization code"}`)
		return
	}
	// A code is single-use, even when the exchange fails.
	delete(s.codes, in.Code)
	if in.RedirectURI != c.redirectURI {
		writeJSON(w, http.StatusBadRequest, `{"error":"invalid_grant","error_description":"redirect_uri does not match"}`)
		return
	}
	sum := sha256.Sum256([]byte(in.CodeVerifier))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(c.challenge)) != 1 {
		writeJSON(w, http.StatusBadRequest, `{"error":"invalid_grant","error_description":"PKCE verification failed"}`)
		return
	}
	s.seq++
	a := s.addAccountLocked(Account{
		ID:         fmt.Sprintf("social-%d", s.seq),
		Email:      fmt.Sprintf("social-%d@example.com", s.seq),
		AuthMethod: AuthSocial,
	})
	s.issueLocked(a, true)
	s.updateLocked(func(st *Stats) { st.Logins++ })
	writeJSON(w, http.StatusOK, mustJSON(socialTokenResponse{
		AccessToken: a.AccessToken, RefreshToken: a.RefreshToken, ProfileARN: a.ProfileARN, ExpiresIn: int(s.opts.AccessTTL.Seconds()),
	}))
}

// randomString is n random upper-case letters and digits.
func randomString(n int) string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, n)
	// crypto/rand.Read never returns an error.
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
