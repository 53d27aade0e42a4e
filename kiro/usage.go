package kiro

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// maxModelPages bounds ListAvailableModels pagination against an upstream
// that keeps returning a next token.
const maxModelPages = 20

// UsageLimits is an account's quota for agentic requests this period.
type UsageLimits struct {
	Email, UserID, Plan string
	// Used and Limit include the base allowance, an active free trial and
	// active bonuses (the kiro.rs rule).
	Used, Limit    float64
	NextReset      time.Time
	DaysUntilReset int
	// OverageEnabled is overageConfiguration.overageStatus ENABLED: the
	// account is served past Limit, billed as overage (add-on credits),
	// until OverageCap (kiro-protocol.md §11.5; the official
	// OverageConfiguration and UsageBreakdown,
	// crates/amzn-codewhisperer-client/src/types/_overage_configuration.rs,
	// _usage_breakdown.rs).
	OverageEnabled bool
	// Overages is what was used past the limit; OverageCap the most that
	// may be (0: none named); OverageCharges what it costs so far, in
	// Currency.
	Overages, OverageCap, OverageCharges float64
	Currency                             string
}

// Model is one model the upstream offers an account.
type Model struct {
	ID, Name                        string
	MaxInputTokens, MaxOutputTokens int
}

// UsageLimits reads an account's quota from {ide_url}/getUsageLimits.
func (c *Client) UsageLimits(ctx context.Context, cr Credentials) (UsageLimits, error) {
	q := url.Values{
		"origin":          {"AI_EDITOR"},
		"resourceType":    {"AGENTIC_REQUEST"},
		"isEmailRequired": {"true"},
	}
	body, err := c.ideGet(ctx, OpUsage, "/getUsageLimits", q, cr)
	if err != nil {
		return UsageLimits{}, err
	}
	u, err := parseUsage(body, c.now())
	if err != nil {
		return UsageLimits{}, &Error{Class: ClassServer, Op: OpUsage, Message: err.Error()}
	}
	return u, nil
}

// ListModels lists the models available to an account from
// {ide_url}/ListAvailableModels, following nextToken.
func (c *Client) ListModels(ctx context.Context, cr Credentials) ([]Model, error) {
	var models []Model
	next := ""
	seen := map[string]bool{}
	for page := 0; ; page++ {
		if page == maxModelPages {
			return nil, &Error{Class: ClassServer, Op: OpModels, Message: fmt.Sprintf("model list did not end after %d pages", maxModelPages)}
		}
		q := url.Values{"origin": {"AI_EDITOR"}}
		if next != "" {
			q.Set("nextToken", next)
		}
		body, err := c.ideGet(ctx, OpModels, "/ListAvailableModels", q, cr)
		if err != nil {
			return nil, err
		}
		var a struct {
			Models []struct {
				ModelID     string `json:"modelId"`
				ModelName   string `json:"modelName"`
				TokenLimits struct {
					MaxInputTokens  int `json:"maxInputTokens"`
					MaxOutputTokens int `json:"maxOutputTokens"`
				} `json:"tokenLimits"`
			} `json:"models"`
			NextToken string `json:"nextToken"`
		}
		if err := json.Unmarshal(body, &a); err != nil {
			return nil, &Error{Class: ClassServer, Op: OpModels, Message: "model list is not JSON", Err: err}
		}
		for _, m := range a.Models {
			models = append(models, Model{
				ID: m.ModelID, Name: m.ModelName,
				MaxInputTokens: m.TokenLimits.MaxInputTokens, MaxOutputTokens: m.TokenLimits.MaxOutputTokens,
			})
		}
		if a.NextToken == "" || seen[a.NextToken] {
			return models, nil
		}
		seen[a.NextToken] = true
		next = a.NextToken
	}
}

// ideGet performs an authenticated GET on the ide host (the runtime host
// has no usage or model listing, kiro-protocol.md §7.2), naming the
// account's profile whenever it has a real one: IAM Identity Center
// accounts must (without it the service answers 403 "User is not
// authorized to make this call." or 400 "Invalid profileArn.", §11.5), and
// the official client sends it on every such call
// (crates/chat-cli/src/api_client/mod.rs list_available_models). The
// Builder ID placeholder is no profile and is left out: the profile is
// "optional for Builder ID users" (GetUsageLimitsInput,
// crates/amzn-codewhisperer-client/src/operation/get_usage_limits/_get_usage_limits_input.rs).
func (c *Client) ideGet(ctx context.Context, op, path string, q url.Values, cr Credentials) ([]byte, error) {
	if err := checkCredentials(cr); err != nil {
		return nil, &Error{Class: ClassAuth, Op: op, Message: err.Error()}
	}
	region, err := c.region(cr.Region)
	if err != nil {
		return nil, &Error{Class: ClassBadRequest, Op: op, Message: err.Error()}
	}
	base, err := baseURL(c.cfg.IDEURL, region)
	if err != nil {
		return nil, &Error{Class: ClassBadRequest, Op: op, Message: "ide url: " + err.Error()}
	}
	named := cr.ProfileARN != "" && !IsPlaceholderProfile(cr.ProfileARN)
	if named {
		q.Set("profileArn", cr.ProfileARN)
	}
	body, err := c.do(ctx, exchange{
		op: op, method: http.MethodGet, url: base + path + "?" + q.Encode(),
		proxy: cr.Proxy, header: c.managementHeader(cr), secrets: []string{cr.AccessToken}, region: region, api: true,
	})
	if e, ok := AsError(err); ok && !named && e.Class == ClassForbidden && notAuthorized(e) {
		// The answer older clients get for a call without the profile
		// it needs (§11.5): resolve the profile, not a forbidden account.
		e.Class = ClassProfileRequired
	}
	return body, err
}

// managementHeader is what the IDE's runtime SDK sends on the
// credit-free calls (usage, models, profiles): the bearer token and the
// Kiro IDE user agent, whose version the service checks (§11.13).
func (c *Client) managementHeader(cr Credentials) http.Header {
	agent := c.kiroAgent(cr.MachineID)
	h := http.Header{}
	h.Set("Authorization", "Bearer "+cr.AccessToken)
	h.Set("Accept", "application/json")
	h.Set("x-amz-user-agent", "aws-sdk-js/1.0.0 "+agent)
	h.Set("User-Agent", "aws-sdk-js/1.0.0 ua/2.1 os/"+osToken(cr.MachineID)+
		" lang/js md/nodejs#22.22.0 api/codewhispererruntime#1.0.0 m/N,E "+agent)
	h.Set("amz-sdk-invocation-id", uuid.NewString())
	h.Set("amz-sdk-request", "attempt=1; max=1")
	return h
}

// usageAnswer is the part of a getUsageLimits answer kirobar uses
// (kiro-protocol.md §7.1, Appendix A.7).
type usageAnswer struct {
	NextDateReset  any `json:"nextDateReset"`
	DaysUntilReset int `json:"daysUntilReset"`
	UserInfo       struct {
		Email  string `json:"email"`
		UserID string `json:"userId"`
	} `json:"userInfo"`
	SubscriptionInfo struct {
		SubscriptionTitle string `json:"subscriptionTitle"`
		Type              string `json:"type"`
	} `json:"subscriptionInfo"`
	OverageConfiguration *struct {
		OverageStatus string `json:"overageStatus"`
	} `json:"overageConfiguration"`
	UsageBreakdownList []struct {
		amounts
		CurrentOverages              *float64 `json:"currentOverages"`
		CurrentOveragesWithPrecision *float64 `json:"currentOveragesWithPrecision"`
		OverageCap                   *float64 `json:"overageCap"`
		OverageCapWithPrecision      *float64 `json:"overageCapWithPrecision"`
		OverageCharges               float64  `json:"overageCharges"`
		Currency                     string   `json:"currency"`
		NextDateReset                any      `json:"nextDateReset"`
		FreeTrialInfo                *struct {
			amounts
			FreeTrialStatus string `json:"freeTrialStatus"`
		} `json:"freeTrialInfo"`
		Bonuses []struct {
			amounts
			Status    string `json:"status"`
			ExpiresAt any    `json:"expiresAt"`
		} `json:"bonuses"`
	} `json:"usageBreakdownList"`
}

// amounts holds usage and limit, precise and rounded.
type amounts struct {
	CurrentUsage              *float64 `json:"currentUsage"`
	CurrentUsageWithPrecision *float64 `json:"currentUsageWithPrecision"`
	UsageLimit                *float64 `json:"usageLimit"`
	UsageLimitWithPrecision   *float64 `json:"usageLimitWithPrecision"`
}

// used and limit prefer the precise values.
func (a amounts) used() float64  { return pick(a.CurrentUsageWithPrecision, a.CurrentUsage) }
func (a amounts) limit() float64 { return pick(a.UsageLimitWithPrecision, a.UsageLimit) }

func pick(precise, rounded *float64) float64 {
	if precise != nil {
		return *precise
	}
	if rounded != nil {
		return *rounded
	}
	return 0
}

// parseUsage applies the kiro.rs rule: the first breakdown's amounts plus an
// active free trial plus active bonuses (a bonus without status counts while
// it has not expired).
func parseUsage(body []byte, now time.Time) (UsageLimits, error) {
	var a usageAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return UsageLimits{}, fmt.Errorf("usage answer is not JSON: %w", err)
	}
	u := UsageLimits{
		Email:          a.UserInfo.Email,
		UserID:         a.UserInfo.UserID,
		Plan:           firstNonEmpty(a.SubscriptionInfo.SubscriptionTitle, a.SubscriptionInfo.Type),
		DaysUntilReset: a.DaysUntilReset,
		NextReset:      timeOf(a.NextDateReset),
	}
	if oc := a.OverageConfiguration; oc != nil {
		u.OverageEnabled = strings.EqualFold(oc.OverageStatus, "ENABLED")
	}
	if len(a.UsageBreakdownList) == 0 {
		return u, nil
	}
	b := a.UsageBreakdownList[0]
	u.Used, u.Limit = b.used(), b.limit()
	u.Overages = pick(b.CurrentOveragesWithPrecision, b.CurrentOverages)
	u.OverageCap = pick(b.OverageCapWithPrecision, b.OverageCap)
	u.OverageCharges, u.Currency = b.OverageCharges, b.Currency
	if t := b.FreeTrialInfo; t != nil && strings.EqualFold(t.FreeTrialStatus, "ACTIVE") {
		u.Used += t.used()
		u.Limit += t.limit()
	}
	for _, bonus := range b.Bonuses {
		active := strings.EqualFold(bonus.Status, "ACTIVE")
		if bonus.Status == "" {
			exp := timeOf(bonus.ExpiresAt)
			active = exp.IsZero() && (bonus.limit() > 0 || bonus.used() > 0) || exp.After(now)
		}
		if active {
			u.Used += bonus.used()
			u.Limit += bonus.limit()
		}
	}
	if u.NextReset.IsZero() {
		u.NextReset = timeOf(b.NextDateReset)
	}
	return u, nil
}

// timeOf reads a time given as epoch seconds (or milliseconds), as a numeric
// string, or as RFC 3339 — the upstream and its mirrors use all three.
func timeOf(v any) time.Time {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case string:
		if t, err := time.Parse(time.RFC3339, x); err == nil {
			return t.UTC()
		}
		p, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return time.Time{}
		}
		f = p
	default:
		return time.Time{}
	}
	if !(f > 0 && f < 1e15) { // also rejects NaN and infinities
		return time.Time{}
	}
	if f > 1e12 { // milliseconds
		return time.UnixMilli(int64(f)).UTC()
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}
