package kirofake

import (
	"math"
	"net/http"
	"strconv"
)

type usageLimits struct {
	NextDateReset      int64            `json:"nextDateReset"`
	DaysUntilReset     int              `json:"daysUntilReset"`
	UserInfo           userInfo         `json:"userInfo"`
	SubscriptionInfo   subscriptionInfo `json:"subscriptionInfo"`
	UsageBreakdownList []usageBreakdown `json:"usageBreakdownList"`
}

type userInfo struct {
	Email  string `json:"email"`
	UserID string `json:"userId"`
}

type subscriptionInfo struct {
	SubscriptionTitle string `json:"subscriptionTitle"`
	Type              string `json:"type"`
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
}

// handleUsageLimits is GET /getUsageLimits (kiro-protocol.md §7.1,
// Appendix A.7). It spends no credits.
func (s *Server) handleUsageLimits(w http.ResponseWriter, r *http.Request) {
	a := s.authenticate(r)
	if a == nil {
		writeJSON(w, http.StatusForbidden, BodyBearerInvalid)
		return
	}
	s.mu.Lock()
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
	writeJSON(w, http.StatusOK, mustJSON(usageLimits{
		NextDateReset:    reset,
		DaysUntilReset:   int(math.Ceil(acct.NextReset.Sub(now).Hours() / 24)),
		UserInfo:         userInfo{Email: acct.Email, UserID: "user-" + acct.ID},
		SubscriptionInfo: subscriptionInfo{SubscriptionTitle: acct.Plan, Type: planType(acct.Plan)},
		UsageBreakdownList: []usageBreakdown{{
			ResourceType:              "AGENTIC_REQUEST",
			DisplayName:               "Credits",
			Unit:                      "credit",
			CurrentUsage:              int(acct.Used),
			CurrentUsageWithPrecision: acct.Used,
			UsageLimit:                int(acct.Limit),
			UsageLimitWithPrecision:   acct.Limit,
			NextDateReset:             reset,
		}},
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

type modelList struct {
	Models    []modelInfo `json:"models"`
	NextToken string      `json:"nextToken,omitempty"`
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

// handleListModels is GET /ListAvailableModels (kiro-protocol.md §7.2),
// paginated by maxResults and an opaque nextToken. It spends no credits.
func (s *Server) handleListModels(w http.ResponseWriter, r *http.Request) {
	if s.authenticate(r) == nil {
		writeJSON(w, http.StatusForbidden, BodyBearerInvalid)
		return
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
		if err != nil || n < 0 || n > len(s.opts.Models) {
			writeJSON(w, http.StatusBadRequest, `{"message":"Invalid nextToken.","reason":null}`)
			return
		}
		start = n
	}
	end := min(start+size, len(s.opts.Models))
	out := modelList{Models: make([]modelInfo, 0, end-start)}
	for _, id := range s.opts.Models[start:end] {
		out.Models = append(out.Models, modelInfo{
			ModelID:             id,
			ModelName:           id,
			Description:         "Model " + id + " served by kirofake",
			SupportedInputTypes: []string{"TEXT", "IMAGE"},
			TokenLimits:         tokenLimits{MaxInputTokens: s.opts.ContextLimitTokens, MaxOutputTokens: 64000},
			RateMultiplier:      1,
			RateUnit:            "credit",
		})
	}
	if end < len(s.opts.Models) {
		out.NextToken = strconv.Itoa(end)
	}
	s.update(func(st *Stats) { st.ModelListings++ })
	writeJSON(w, http.StatusOK, mustJSON(out))
}
