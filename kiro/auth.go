package kiro

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// defaultExpiresIn is assumed when a refresh answer has no expiresIn.
const defaultExpiresIn = 3600 * time.Second

// Tokens is the result of a refresh.
type Tokens struct {
	AccessToken  string
	RefreshToken string // "" = unchanged
	ProfileARN   string
	ExpiresAt    time.Time
}

// RefreshRequest says how to refresh one account's access token.
type RefreshRequest struct {
	AccountID    string
	AuthMethod   string // "social", or IdC in any spelling (idc, IdC, builder-id, iam)
	RefreshToken string
	ClientID     string // IdC only
	ClientSecret string // IdC only
	Region       string // sign-in region (the token's, the SSO region of IdC); "" = Config.Region
	MachineID    string
	Proxy        string
}

// ValidateRefreshToken refuses refresh tokens that were copied truncated
// from the IDE's UI, which shows them shortened with "..." (kiro-protocol.md
// §6.1, §8 item 11). The message does not repeat the token.
func ValidateRefreshToken(tok string) error {
	switch {
	case tok == "":
		return errors.New("refresh token is empty")
	case strings.Contains(tok, "..."):
		return errors.New(`refresh token contains "..." — it was copied truncated; copy the full value from the token file`)
	case len(tok) < 100:
		return fmt.Errorf("refresh token is %d characters, real ones are longer than 100 — it looks truncated; copy the full value from the token file", len(tok))
	}
	return nil
}

// Refresh exchanges a refresh token for a new access token: social accounts
// at {auth_url}/refreshToken, IdC accounts at AWS SSO-OIDC {oidc_url}/token.
// A token the upstream rejects for good is a *Error with ClassInvalidGrant:
// the account needs a new login.
func (c *Client) Refresh(ctx context.Context, r RefreshRequest) (Tokens, error) {
	secrets := []string{r.RefreshToken, r.ClientSecret}
	fail := func(e *Error) (Tokens, error) { return Tokens{}, scrub(e, secrets...) }
	if err := ValidateRefreshToken(r.RefreshToken); err != nil {
		return fail(&Error{Class: ClassInvalidGrant, Op: OpRefresh, Message: err.Error()})
	}
	region, err := c.region(r.Region)
	if err != nil {
		return fail(&Error{Class: ClassBadRequest, Op: OpRefresh, Message: err.Error()})
	}
	if err := checkHeaderValue("machine id", r.MachineID); err != nil {
		return fail(&Error{Class: ClassBadRequest, Op: OpRefresh, Message: err.Error()})
	}
	x := exchange{op: OpRefresh, method: http.MethodPost, proxy: r.Proxy, header: http.Header{}, secrets: secrets, region: region}
	x.header.Set("Content-Type", "application/json")
	if isSocial(r.AuthMethod) {
		base, err := baseURL(c.cfg.AuthURL, region)
		if err != nil {
			return fail(&Error{Class: ClassBadRequest, Op: OpRefresh, Message: "auth url: " + err.Error()})
		}
		x.url = base + "/refreshToken"
		x.header.Set("Accept", "application/json, text/plain, */*")
		x.header.Set("User-Agent", c.kiroAgent(r.MachineID))
		x.body, err = json.Marshal(map[string]string{"refreshToken": r.RefreshToken})
	} else {
		if r.ClientID == "" || r.ClientSecret == "" {
			return fail(&Error{Class: ClassInvalidGrant, Op: OpRefresh, Message: "IdC account has no client id or client secret; log in again"})
		}
		base, err := baseURL(c.cfg.OIDCURL, region)
		if err != nil {
			return fail(&Error{Class: ClassBadRequest, Op: OpRefresh, Message: "oidc url: " + err.Error()})
		}
		x.url = base + "/token"
		x.header.Set("x-amz-user-agent", "aws-sdk-js/3.980.0 KiroIDE")
		x.header.Set("User-Agent", "aws-sdk-js/3.980.0 ua/2.1 os/"+osToken(r.MachineID)+
			" lang/js md/nodejs#22.22.0 api/sso-oidc#3.980.0 m/E KiroIDE")
		x.header.Set("amz-sdk-invocation-id", uuid.NewString())
		x.header.Set("amz-sdk-request", "attempt=1; max=4")
		x.body, err = json.Marshal(struct {
			ClientID     string `json:"clientId"`
			ClientSecret string `json:"clientSecret"`
			GrantType    string `json:"grantType"`
			RefreshToken string `json:"refreshToken"`
		}{r.ClientID, r.ClientSecret, "refresh_token", r.RefreshToken})
	}
	if err != nil {
		return fail(&Error{Class: ClassBadRequest, Op: OpRefresh, Message: "encode refresh request", Err: err})
	}
	body, err := c.do(ctx, x)
	if err != nil {
		return Tokens{}, err
	}
	tok, err := parseTokens(body, c.now())
	if err != nil {
		return fail(&Error{Class: ClassServer, Op: OpRefresh, Message: err.Error()})
	}
	return tok, nil
}

// tokenAnswer accepts camelCase and snake_case refresh answers.
type tokenAnswer struct {
	AccessToken       string `json:"accessToken"`
	AccessTokenSnake  string `json:"access_token"`
	RefreshToken      string `json:"refreshToken"`
	RefreshTokenSnake string `json:"refresh_token"`
	ProfileARN        string `json:"profileArn"`
	ProfileARNSnake   string `json:"profile_arn"`
	ExpiresIn         any    `json:"expiresIn"`
	ExpiresInSnake    any    `json:"expires_in"`
}

// parseTokens reads a refresh answer; expiry is relative to now.
func parseTokens(body []byte, now time.Time) (Tokens, error) {
	var a tokenAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return Tokens{}, fmt.Errorf("refresh answer is not JSON: %w", err)
	}
	t := Tokens{
		AccessToken:  firstNonEmpty(a.AccessToken, a.AccessTokenSnake),
		RefreshToken: firstNonEmpty(a.RefreshToken, a.RefreshTokenSnake),
		ProfileARN:   firstNonEmpty(a.ProfileARN, a.ProfileARNSnake),
	}
	if t.AccessToken == "" {
		return Tokens{}, errors.New("refresh answer has no access token")
	}
	exp := defaultExpiresIn
	if s, ok := seconds(a.ExpiresIn); ok {
		exp = s
	} else if s, ok := seconds(a.ExpiresInSnake); ok {
		exp = s
	}
	t.ExpiresAt = now.Add(exp)
	return t, nil
}

// seconds reads a positive number of seconds from a JSON number or numeric
// string.
func seconds(v any) (time.Duration, bool) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case string:
		p, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return 0, false
		}
		f = p
	default:
		return 0, false
	}
	if f <= 0 || f > 366*86400 {
		return 0, false
	}
	return time.Duration(f * float64(time.Second)), true
}
