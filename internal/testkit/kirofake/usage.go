package kirofake

import (
	"math"
	"net/http"
	"strconv"
)

type usageLimits struct {
	NextDateReset        int64                `json:"nextDateReset"`
	DaysUntilReset       int                  `json:"daysUntilReset"`
	UserInfo             userInfo             `json:"userInfo"`
	SubscriptionInfo     subscriptionInfo     `json:"subscriptionInfo"`
	OverageConfiguration overageConfiguration `json:"overageConfiguration"`
	UsageBreakdownList   []usageBreakdown     `json:"usageBreakdownList"`
}

// overageConfiguration is the official OverageConfiguration
// (crates/amzn-codewhisperer-client/src/types/_overage_configuration.rs):
// overageStatus ENABLED or DISABLED (_overage_status.rs).
type overageConfiguration struct {
	OverageStatus string `json:"overageStatus"`
}

type userInfo struct {
	Email  string `json:"email"`
	UserID string `json:"userId"`
}

type subscriptionInfo struct {
	SubscriptionTitle string `json:"subscriptionTitle"`
	Type              string `json:"type"`
	OverageCapability string `json:"overageCapability"`
	UpgradeCapability string `json:"upgradeCapability"`
}

type usageBreakdown struct {
	ResourceType              string  `json:"resourceType"`
	DisplayName               string  `json:"displayName"`
	Unit                      string  `json:"unit"`
	CurrentUsage              int     `json:"currentUsage"`
	CurrentUsageWithPrecision float64 `json:"currentUsageWithPrecision"`
	UsageLimit                int     `json:"usageLimit"`
	UsageLimitWithPrecision   float64 `json:"usageLimitWithPrecision"`
	NextDateReset             int64   `json:"nextDateReset"`
	// The official UsageBreakdown's overage fields
	// (crates/amzn-codewhisperer-client/src/types/_usage_breakdown.rs).
	CurrentOverages              int     `json:"currentOverages"`
	CurrentOveragesWithPrecision float64 `json:"currentOveragesWithPrecision"`
	OverageCap                   int     `json:"overageCap"`
	OverageCapWithPrecision      float64 `json:"overageCapWithPrecision"`
	OverageRate                  float64 `json:"overageRate"`
	OverageCharges               float64 `json:"overageCharges"`
	Currency                     string  `json:"currency"`
}

// overageRate is what the fake bills per overage credit, in USD.
const overageRate = 0.04

// management authenticates a getUsageLimits or ListAvailableModels call
// and applies what the service checks before answering one: a current
// client (a Kiro IDE below 1.0 gets 403, kiro-protocol.md §11.13) and the
// profile rule of managementAccess. It answers the refusal itself and
// returns nil then.
func (s *Server) management(w http.ResponseWriter, r *http.Request) *accountState {
	a := s.authenticate(r)
	if a == nil {
		writeJSON(w, http.StatusForbidden, BodyBearerInvalid)
		return nil
	}
	if oldClient(r) {
		writeJSON(w, http.StatusForbidden, BodyNotAuthorized)
		return nil
	}
	s.mu.Lock()
	acct := a.Account
	s.mu.Unlock()
	if status, body := managementAccess(acct, r.URL.Query().Get("profileArn"), placeOf(r)); status != 0 {
		writeJSON(w, status, body)
		return nil
	}
	return a
}

// handleUsageLimits is GET /getUsageLimits (kiro-protocol.md §7.1,
// Appendix A.7, §11.5). It spends no credits.
func (s *Server) handleUsageLimits(w http.ResponseWriter, r *http.Request) {
	a := s.management(w, r)
	if a == nil {
		return
	}
	s.mu.Lock()
	s.rolloverLocked(a)
	suspended := a.suspended
	acct := a.Account
	s.updateLocked(func(st *Stats) { st.UsageChecks[a.ID]++ })
	now := s.opts.Clock()
	s.mu.Unlock()
	if suspended {
		writeJSON(w, http.StatusForbidden, suspendedBody(acct.ID))
		return
	}
	reset := acct.NextReset.Unix()
	used, over := acct.Used, 0.0
	status, capability := "DISABLED", "OVERAGE_CAPABLE"
	if acct.OverageEnabled {
		status = "ENABLED"
		if used > acct.Limit {
			used, over = acct.Limit, acct.Used-acct.Limit
		}
	}
	if acct.Plan == "KIRO FREE" {
		capability = "OVERAGE_INCAPABLE"
	}
	bd := usageBreakdown{
		ResourceType:              "AGENTIC_REQUEST",
		DisplayName:               "Credits",
		Unit:                      "credit",
		CurrentUsage:              int(used),
		CurrentUsageWithPrecision: used,
		UsageLimit:                int(acct.Limit),
		UsageLimitWithPrecision:   acct.Limit,
		NextDateReset:             reset,
		Currency:                  "USD",
		OverageRate:               overageRate,
	}
	if acct.OverageEnabled {
		bd.CurrentOverages, bd.CurrentOveragesWithPrecision = int(over), over
		bd.OverageCap, bd.OverageCapWithPrecision = int(acct.OverageCap), acct.OverageCap
		bd.OverageCharges = math.Round(over*overageRate*100) / 100
	}
	writeJSON(w, http.StatusOK, mustJSON(usageLimits{
		NextDateReset:        reset,
		DaysUntilReset:       int(math.Ceil(acct.NextReset.Sub(now).Hours() / 24)),
		UserInfo:             userInfo{Email: acct.Email, UserID: "user-" + acct.ID},
		SubscriptionInfo:     subscriptionInfo{SubscriptionTitle: acct.Plan, Type: planType(acct.Plan), OverageCapability: capability, UpgradeCapability: "UPGRADE_CAPABLE"},
		OverageConfiguration: overageConfiguration{OverageStatus: status},
		UsageBreakdownList:   []usageBreakdown{bd},
	}))
}

func planType(title string) string {
	switch title {
	case "KIRO FREE":
		return "Q_DEVELOPER_STANDALONE_FREE"
	case "KIRO PRO":
		return "Q_DEVELOPER_STANDALONE_PRO"
	case "KIRO PRO+":
		return "Q_DEVELOPER_STANDALONE_PRO_PLUS"
	}
	return "Q_DEVELOPER_STANDALONE"
}

// modelList is the official ListAvailableModelsOutput: models, the default
// model and a next token
// (crates/amzn-codewhisperer-client/src/operation/list_available_models/_list_available_models_output.rs).
type modelList struct {
	Models       []modelInfo `json:"models"`
	DefaultModel modelInfo   `json:"defaultModel"`
	NextToken    string      `json:"nextToken,omitempty"`
}

type modelInfo struct {
	ModelID             string      `json:"modelId"`
	ModelName           string      `json:"modelName"`
	Description         string      `json:"description"`
	SupportedInputTypes []string    `json:"supportedInputTypes"`
	TokenLimits         tokenLimits `json:"tokenLimits"`
	RateMultiplier      float64     `json:"rateMultiplier"`
	RateUnit            string      `json:"rateUnit"`
}

type tokenLimits struct {
	MaxInputTokens  int `json:"maxInputTokens"`
	MaxOutputTokens int `json:"maxOutputTokens"`
}

// handleListModels is GET /ListAvailableModels (kiro-protocol.md §7.2,
// §11.9): the account's models, paginated by maxResults and an opaque
// nextToken. It spends no credits.
func (s *Server) handleListModels(w http.ResponseWriter, r *http.Request) {
	a := s.management(w, r)
	if a == nil {
		return
	}
	s.mu.Lock()
	models := a.Models
	s.mu.Unlock()
	if len(models) == 0 {
		models = s.opts.Models
	}
	q := r.URL.Query()
	size := s.opts.ModelsPageSize
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeJSON(w, http.StatusBadRequest, `{"message":"Invalid maxResults.","reason":null}`)
			return
		}
		size = n
	}
	start := 0
	if v := q.Get("nextToken"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > len(models) {
			writeJSON(w, http.StatusBadRequest, `{"message":"Invalid nextToken.","reason":null}`)
			return
		}
		start = n
	}
	end := min(start+size, len(models))
	out := modelList{Models: make([]modelInfo, 0, end-start)}
	info := func(id string) modelInfo {
		return modelInfo{
			ModelID:             id,
			ModelName:           id,
			Description:         "Model " + id + " served by kirofake",
			SupportedInputTypes: []string{"TEXT", "IMAGE"},
			TokenLimits:         tokenLimits{MaxInputTokens: s.opts.ContextLimitTokens, MaxOutputTokens: 64000},
			RateMultiplier:      1,
			RateUnit:            "credit",
		}
	}
	for _, id := range models[start:end] {
		out.Models = append(out.Models, info(id))
	}
	out.DefaultModel = info(models[0])
	if end < len(models) {
		out.NextToken = strconv.Itoa(end)
	}
	s.update(func(st *Stats) { st.ModelListings++ })
	writeJSON(w, http.StatusOK, mustJSON(out))
}
