package accounts

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// rawToken is one token object as tools write it. Kiro's IDE writes
// camelCase keys, kiro-cli writes snake_case; both are read.
type rawToken map[string]any

// str returns the first non-empty string value among keys.
func (r rawToken) str(keys ...string) string {
	for _, k := range keys {
		if v, ok := r[k].(string); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// has reports whether any of keys is present.
func (r rawToken) has(keys ...string) bool {
	for _, k := range keys {
		if _, ok := r[k]; ok {
			return true
		}
	}
	return false
}

// time reads an expiry written as ISO-8601, epoch seconds or epoch
// milliseconds (as a number or a string).
func (r rawToken) time(keys ...string) (time.Time, error) {
	for _, k := range keys {
		v, ok := r[k]
		if !ok || v == nil {
			continue
		}
		switch x := v.(type) {
		case string:
			if x == "" {
				continue
			}
			return parseTimeString(x)
		case float64:
			return epoch(x), nil
		default:
			return time.Time{}, fmt.Errorf("%s: unexpected %T", k, v)
		}
	}
	return time.Time{}, nil
}

func parseTimeString(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z07:00", "2006-01-02T15:04:05", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return epoch(f), nil
	}
	return time.Time{}, fmt.Errorf("expiry %q is not a date", s)
}

// epoch treats values above 1e12 as milliseconds.
func epoch(f float64) time.Time {
	if f > 1e12 {
		return time.UnixMilli(int64(f)).UTC()
	}
	return time.Unix(int64(f), 0).UTC()
}

// isTokenObject reports whether r looks like a Kiro login (it has a
// refresh token).
func (r rawToken) isTokenObject() bool {
	return r.str("refreshToken", "refresh_token") != ""
}

// isRegistration reports whether r is an OIDC client registration.
func (r rawToken) isRegistration() bool {
	return !r.isTokenObject() && r.str("clientId", "client_id") != "" && r.str("clientSecret", "client_secret") != ""
}

// candidate is an account found by an importer, before it is stored.
type candidate struct {
	origin     string // where it came from, for messages ("file.json", "data.sqlite3 kirocli:social:token")
	authMethod string
	provider   string
	region     string
	profileARN string
	startURL   string
	email      string
	tokens     tokenSet
	clientHash string
	sourceKind string
	sourceFile string
	sourceKey  string
	modTime    int64
	machineID  string // set by a sign-in that already used one; "" = a new one
}

// candidateFrom reads the fields every importer shares.
func candidateFrom(r rawToken, origin string) (candidate, error) {
	c := candidate{
		origin:     origin,
		provider:   r.str("provider"),
		region:     r.str("region", "idcRegion", "idc_region"),
		profileARN: r.str("profileArn", "profile_arn"),
		startURL:   r.str("startUrl", "start_url"),
		email:      r.str("email"),
		clientHash: r.str("clientIdHash", "client_id_hash"),
		tokens: tokenSet{
			AccessToken:  r.str("accessToken", "access_token"),
			RefreshToken: r.str("refreshToken", "refresh_token"),
			ClientID:     r.str("clientId", "client_id"),
			ClientSecret: r.str("clientSecret", "client_secret"),
		},
	}
	exp, err := r.time("expiresAt", "expires_at", "expiration", "expire")
	if err != nil {
		return candidate{}, fmt.Errorf("%s: %w", origin, err)
	}
	c.tokens.ExpiresAt = exp
	c.tokens.ProfileARN = c.profileARN
	method, err := canonicalAuth(r.str("authMethod", "auth_method", "authType", "auth_type"), c.provider, c.tokens.ClientID != "" || c.clientHash != "")
	if err != nil {
		return candidate{}, fmt.Errorf("%s: %w", origin, err)
	}
	c.authMethod = method
	if isBuilderIDSpelling(r.str("authMethod", "auth_method", "authType", "auth_type")) && c.provider == "" {
		c.provider = "BuilderId" // the spelling is the only sign of a Builder ID login
	}
	return c, nil
}

// isBuilderIDSpelling reports the auth-method spellings that name an AWS
// Builder ID login.
func isBuilderIDSpelling(method string) bool {
	switch strings.ToLower(strings.ReplaceAll(method, "_", "-")) {
	case "builder-id", "builderid":
		return true
	}
	return false
}

// canonicalAuth maps the spellings tools use to social or idc.
func canonicalAuth(method, provider string, hasClient bool) (string, error) {
	switch strings.ToLower(strings.ReplaceAll(method, "_", "-")) {
	case "social":
		return AuthSocial, nil
	case "idc", "builder-id", "builderid", "iam", "sso", "enterprise", "aws-sso-oidc":
		return AuthIdC, nil
	case "external-idp", "externalidp":
		return "", fmt.Errorf("external identity provider logins are not supported yet; use a social or Builder ID / IAM Identity Center login")
	case "api-key", "apikey":
		return "", fmt.Errorf("api-key logins are not supported; import a Kiro IDE login instead")
	case "":
	default:
		return "", fmt.Errorf("unknown auth method %q (want social or IdC)", method)
	}
	switch strings.ToLower(provider) {
	case "builderid", "enterprise", "iamidentitycenter":
		return AuthIdC, nil
	case "externalidp":
		return "", fmt.Errorf("external identity provider logins are not supported yet")
	}
	if hasClient {
		return AuthIdC, nil
	}
	return AuthSocial, nil
}

// decodeTokens parses a JSON file holding one token object or an array.
func decodeTokens(data []byte) ([]rawToken, error) {
	trimmed := strings.TrimSpace(string(data))
	if strings.HasPrefix(trimmed, "[") {
		var list []rawToken
		if err := json.Unmarshal(data, &list); err != nil {
			return nil, fmt.Errorf("decode JSON array: %w", err)
		}
		return list, nil
	}
	var one rawToken
	if err := json.Unmarshal(data, &one); err != nil {
		return nil, fmt.Errorf("decode JSON: %w", err)
	}
	return []rawToken{one}, nil
}
