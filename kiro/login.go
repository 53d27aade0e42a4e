package kiro

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"
)

// Operations of the sign-in calls, named in Error.Op.
const (
	OpRegister = "register client"
	OpDevice   = "device authorization"
	OpLogin    = "login"
)

// BuilderIDStartURL is the start URL of an AWS Builder ID device login
// (kiro-protocol.md §6.1, §6.5).
const BuilderIDStartURL = "https://view.awsapps.com/start"

// loginScopes are the scopes the Kiro IDE registers its OIDC client with.
var loginScopes = []string{"codewhisperer:completions", "codewhisperer:analysis", "codewhisperer:conversations"}

// ClientRegistration is an SSO-OIDC public client (kiro-protocol.md A.6).
type ClientRegistration struct {
	ClientID     string
	ClientSecret string
	ExpiresAt    time.Time
}

// DeviceAuthorization is a started device login: the code the user types
// at the verification page and how to poll for its approval.
type DeviceAuthorization struct {
	DeviceCode              string
	UserCode                string
	VerificationURI         string
	VerificationURIComplete string
	ExpiresIn               time.Duration
	Interval                time.Duration
}

// RegisterClient registers a public OIDC client at {oidc_url}/client/register
// in region ("" = Config.Region), as the Kiro IDE does before a device login.
func (c *Client) RegisterClient(ctx context.Context, region string) (ClientRegistration, error) {
	base, region, err := c.oidcBase(OpRegister, region)
	if err != nil {
		return ClientRegistration{}, err
	}
	body, err := json.Marshal(map[string]any{"clientName": "Kiro IDE", "clientType": "public", "scopes": loginScopes})
	if err != nil {
		return ClientRegistration{}, &Error{Class: ClassBadRequest, Op: OpRegister, Message: "encode request", Err: err}
	}
	out, err := c.do(ctx, exchange{op: OpRegister, method: http.MethodPost, url: base + "/client/register", header: oidcHeader(), body: body, region: region})
	if err != nil {
		return ClientRegistration{}, err
	}
	var a struct {
		ClientID              string `json:"clientId"`
		ClientSecret          string `json:"clientSecret"`
		ClientSecretExpiresAt int64  `json:"clientSecretExpiresAt"`
	}
	if err := json.Unmarshal(out, &a); err != nil || a.ClientID == "" || a.ClientSecret == "" {
		return ClientRegistration{}, scrub(&Error{Class: ClassServer, Op: OpRegister, Message: "answer has no client id or secret"}, a.ClientSecret)
	}
	reg := ClientRegistration{ClientID: a.ClientID, ClientSecret: a.ClientSecret}
	if a.ClientSecretExpiresAt > 0 {
		reg.ExpiresAt = time.Unix(a.ClientSecretExpiresAt, 0).UTC()
	}
	return reg, nil
}

// StartDeviceAuthorization starts a device login for startURL at
// {oidc_url}/device_authorization.
func (c *Client) StartDeviceAuthorization(ctx context.Context, region string, reg ClientRegistration, startURL string) (DeviceAuthorization, error) {
	base, region, err := c.oidcBase(OpDevice, region)
	if err != nil {
		return DeviceAuthorization{}, err
	}
	body, err := json.Marshal(map[string]string{"clientId": reg.ClientID, "clientSecret": reg.ClientSecret, "startUrl": startURL})
	if err != nil {
		return DeviceAuthorization{}, &Error{Class: ClassBadRequest, Op: OpDevice, Message: "encode request", Err: err}
	}
	out, err := c.do(ctx, exchange{
		op: OpDevice, method: http.MethodPost, url: base + "/device_authorization",
		header: oidcHeader(), body: body, secrets: []string{reg.ClientSecret}, region: region,
	})
	if err != nil {
		return DeviceAuthorization{}, err
	}
	var a struct {
		DeviceCode              string `json:"deviceCode"`
		UserCode                string `json:"userCode"`
		VerificationURI         string `json:"verificationUri"`
		VerificationURIComplete string `json:"verificationUriComplete"`
		ExpiresIn               int    `json:"expiresIn"`
		Interval                int    `json:"interval"`
	}
	if err := json.Unmarshal(out, &a); err != nil || a.DeviceCode == "" || a.UserCode == "" || a.VerificationURI == "" {
		return DeviceAuthorization{}, &Error{Class: ClassServer, Op: OpDevice, Message: "answer has no device code, user code or verification URI"}
	}
	d := DeviceAuthorization{
		DeviceCode: a.DeviceCode, UserCode: a.UserCode,
		VerificationURI: a.VerificationURI, VerificationURIComplete: a.VerificationURIComplete,
		ExpiresIn: time.Duration(a.ExpiresIn) * time.Second, Interval: time.Duration(a.Interval) * time.Second,
	}
	if d.ExpiresIn <= 0 {
		d.ExpiresIn = 10 * time.Minute
	}
	if d.Interval <= 0 {
		d.Interval = 5 * time.Second
	}
	return d, nil
}

// PollDeviceToken asks once whether a device login was approved. Until it
// is, the error is a *Error whose Reason is the OAuth code:
// "authorization_pending", "slow_down", "expired_token" or "access_denied".
func (c *Client) PollDeviceToken(ctx context.Context, region string, reg ClientRegistration, deviceCode string) (Tokens, error) {
	base, region, err := c.oidcBase(OpLogin, region)
	if err != nil {
		return Tokens{}, err
	}
	secrets := []string{reg.ClientSecret, deviceCode}
	body, err := json.Marshal(map[string]string{
		"clientId": reg.ClientID, "clientSecret": reg.ClientSecret, "deviceCode": deviceCode,
		"grantType": "urn:ietf:params:oauth:grant-type:device_code",
	})
	if err != nil {
		return Tokens{}, &Error{Class: ClassBadRequest, Op: OpLogin, Message: "encode request", Err: err}
	}
	out, err := c.do(ctx, exchange{op: OpLogin, method: http.MethodPost, url: base + "/token", header: oidcHeader(), body: body, secrets: secrets, region: region})
	if err != nil {
		return Tokens{}, err
	}
	return c.loginTokens(out, secrets)
}

// SocialLoginURL is the Kiro auth portal's sign-in page for a Google or
// Github login with PKCE (kiro-protocol.md §6.5), in region ("" =
// Config.Region).
func (c *Client) SocialLoginURL(region, idp, redirectURI, challenge, state string) (string, error) {
	base, _, err := c.authBase(region)
	if err != nil {
		return "", err
	}
	q := url.Values{
		"idp": {idp}, "redirect_uri": {redirectURI}, "code_challenge": {challenge},
		"code_challenge_method": {"S256"}, "state": {state},
	}
	return base + "/login?" + q.Encode(), nil
}

// ExchangeSocialCode trades the code the auth portal sent to redirectURI,
// with its PKCE verifier, for tokens at {auth_url}/oauth/token.
func (c *Client) ExchangeSocialCode(ctx context.Context, region, code, verifier, redirectURI string) (Tokens, error) {
	base, region, err := c.authBase(region)
	if err != nil {
		return Tokens{}, err
	}
	secrets := []string{code, verifier}
	body, err := json.Marshal(map[string]string{"code": code, "code_verifier": verifier, "redirect_uri": redirectURI})
	if err != nil {
		return Tokens{}, &Error{Class: ClassBadRequest, Op: OpLogin, Message: "encode request", Err: err}
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json, text/plain, */*")
	h.Set("User-Agent", c.kiroAgent(""))
	out, err := c.do(ctx, exchange{op: OpLogin, method: http.MethodPost, url: base + "/oauth/token", header: h, body: body, secrets: secrets, region: region})
	if err != nil {
		return Tokens{}, err
	}
	return c.loginTokens(out, secrets)
}

// loginTokens reads a login answer, which must carry a refresh token.
func (c *Client) loginTokens(body []byte, secrets []string) (Tokens, error) {
	tok, err := parseTokens(body, c.now())
	if err == nil && tok.RefreshToken == "" {
		err = errors.New("login answer has no refresh token")
	}
	if err != nil {
		return Tokens{}, scrub(&Error{Class: ClassServer, Op: OpLogin, Message: err.Error()}, secrets...)
	}
	return tok, nil
}

// oidcBase is the SSO-OIDC URL of a sign-in region and the region.
func (c *Client) oidcBase(op, region string) (string, string, error) {
	r, err := c.region(region)
	if err != nil {
		return "", "", &Error{Class: ClassBadRequest, Op: op, Message: err.Error()}
	}
	base, err := baseURL(c.cfg.OIDCURL, r)
	if err != nil {
		return "", "", &Error{Class: ClassBadRequest, Op: op, Message: "oidc url: " + err.Error()}
	}
	return base, r, nil
}

// authBase is the Kiro auth service URL of a region and the region.
func (c *Client) authBase(region string) (string, string, error) {
	r, err := c.region(region)
	if err != nil {
		return "", "", &Error{Class: ClassBadRequest, Op: OpLogin, Message: err.Error()}
	}
	base, err := baseURL(c.cfg.AuthURL, r)
	if err != nil {
		return "", "", &Error{Class: ClassBadRequest, Op: OpLogin, Message: fmt.Sprintf("auth url: %v", err)}
	}
	return base, r, nil
}

// oidcHeader is what the IDE's AWS SDK sends to SSO-OIDC.
func oidcHeader() http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("x-amz-user-agent", "aws-sdk-js/3.980.0 KiroIDE")
	h.Set("amz-sdk-invocation-id", uuid.NewString())
	return h
}
