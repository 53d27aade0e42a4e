package tokenfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kirobar/kirobar/kiro"
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

// Parse reads a token file's content: one token object, or an array of
// them, as the Kiro IDE, kiro-cli and other tools write them. origin names
// the content in messages (a path); the records of an array are named
// origin[i]. The records are unlinked: Find links a single-object file's
// record to it. A client registration (<clientIdHash>.json) or an object
// without a refresh token is refused with a message that says what to
// import instead. No error quotes a token.
func Parse(data []byte, origin string) ([]Record, error) {
	raws, err := decodeTokens(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", origin, err)
	}
	out := make([]Record, 0, len(raws))
	for i, r := range raws {
		name := origin
		if len(raws) > 1 {
			name = fmt.Sprintf("%s[%d]", origin, i)
		}
		if r.isRegistration() {
			return nil, fmt.Errorf("%s is a client registration, not a login: import the %s beside it", name, IDEFile)
		}
		if !r.isTokenObject() {
			return nil, fmt.Errorf("%s has no refreshToken: not a Kiro login", name)
		}
		rec, err := recordFrom(r, name)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// recordFrom reads the fields every source shares.
func recordFrom(r rawToken, origin string) (Record, error) {
	rec := Record{
		Origin:     origin,
		Provider:   r.str("provider"),
		Region:     r.str("region", "idcRegion", "idc_region"),
		StartURL:   r.str("startUrl", "start_url"),
		Email:      r.str("email"),
		ClientHash: r.str("clientIdHash", "client_id_hash"),
		Tokens: Tokens{
			AccessToken:  r.str("accessToken", "access_token"),
			RefreshToken: r.str("refreshToken", "refresh_token"),
			ProfileARN:   r.str("profileArn", "profile_arn"),
			ClientID:     r.str("clientId", "client_id"),
			ClientSecret: r.str("clientSecret", "client_secret"),
		},
	}
	exp, err := r.time("expiresAt", "expires_at", "expiration", "expire")
	if err != nil {
		return Record{}, fmt.Errorf("%s: %w", origin, err)
	}
	rec.Tokens.ExpiresAt = exp
	method, err := CanonicalAuth(r.str("authMethod", "auth_method", "authType", "auth_type"), rec.Provider, rec.Tokens.ClientID != "" || rec.ClientHash != "")
	if err != nil {
		return Record{}, fmt.Errorf("%s: %w", origin, err)
	}
	rec.AuthMethod = method
	if isBuilderIDSpelling(r.str("authMethod", "auth_method", "authType", "auth_type")) && rec.Provider == "" {
		rec.Provider = "BuilderId" // the spelling is the only sign of a Builder ID login
	}
	return rec, nil
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

// CanonicalAuth maps the auth-method spellings tools use (social, IdC,
// builder-id, iam, sso, …) to kiro.AuthSocial or kiro.AuthIdC. Without a
// method, the provider decides, then whether a client registration is
// known (hasClient: an IdC login). External identity providers and
// API keys are refused with a message that says what works instead.
func CanonicalAuth(method, provider string, hasClient bool) (string, error) {
	switch strings.ToLower(strings.ReplaceAll(method, "_", "-")) {
	case "social":
		return kiro.AuthSocial, nil
	case "idc", "builder-id", "builderid", "iam", "sso", "enterprise", "aws-sso-oidc":
		return kiro.AuthIdC, nil
	case "external-idp", "externalidp":
		return "", errors.New("external identity provider logins are not supported yet; use a social or Builder ID / IAM Identity Center login")
	case "api-key", "apikey":
		return "", errors.New("api-key logins are not supported; import a Kiro IDE login instead")
	case "":
	default:
		return "", fmt.Errorf("unknown auth method %q (want social or IdC)", method)
	}
	switch strings.ToLower(provider) {
	case "builderid", "enterprise", "iamidentitycenter":
		return kiro.AuthIdC, nil
	case "externalidp":
		return "", errors.New("external identity provider logins are not supported yet")
	}
	if hasClient {
		return kiro.AuthIdC, nil
	}
	return kiro.AuthSocial, nil
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
