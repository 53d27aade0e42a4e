package kirofake

import (
	"encoding/json"
	"testing"
	"time"
)

func TestUsageLimits(t *testing.T) {
	clock := newClock()
	s := start(t, Options{Clock: clock.Now})
	s.AddAccount(Account{ID: "a1", Email: "dev@example.com", AccessToken: testToken, Plan: "KIRO PRO", Used: 12.5, Limit: 1000})
	status, b := get(t, s.URL+"/getUsageLimits?origin=AI_EDITOR&resourceType=AGENTIC_REQUEST", testToken)
	if status != 200 {
		t.Fatalf("status %d: %s", status, b)
	}
	var u usageLimits
	if err := json.Unmarshal(b, &u); err != nil {
		t.Fatal(err)
	}
	reset := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	if u.NextDateReset != reset.Unix() || u.DaysUntilReset != 22 || u.UserInfo.Email != "dev@example.com" ||
		u.SubscriptionInfo.SubscriptionTitle != "KIRO PRO" || len(u.UsageBreakdownList) != 1 {
		t.Fatalf("usage %+v", u)
	}
	bd := u.UsageBreakdownList[0]
	if bd.ResourceType != "AGENTIC_REQUEST" || bd.CurrentUsageWithPrecision != 12.5 || bd.UsageLimitWithPrecision != 1000 ||
		bd.CurrentUsage != 12 || bd.UsageLimit != 1000 {
		t.Fatalf("breakdown %+v", bd)
	}
	if status, b := get(t, s.URL+"/getUsageLimits", "bad"); status != 403 || string(b) != BodyBearerInvalid {
		t.Fatalf("bad token: %d %s", status, b)
	}
	s.SetSuspended("a1", true)
	if status, _ := get(t, s.URL+"/getUsageLimits", testToken); status != 403 {
		t.Fatalf("suspended: %d", status)
	}
	st := s.Stats()
	if st.UsageChecks["a1"] != 2 || st.Generations != 0 || s.Account("a1").Used != 12.5 {
		t.Fatalf("usage checks must not spend credits: %+v", st)
	}
}

func TestListAvailableModels(t *testing.T) {
	s := withAccount(t, Options{ModelsPageSize: 3})
	var ids []string
	token := ""
	for page := 0; ; page++ {
		url := s.URL + "/ListAvailableModels?origin=AI_EDITOR"
		if token != "" {
			url += "&nextToken=" + token
		}
		status, b := get(t, url, testToken)
		if status != 200 {
			t.Fatalf("page %d: %d %s", page, status, b)
		}
		var l modelList
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatal(err)
		}
		for _, m := range l.Models {
			if m.TokenLimits.MaxInputTokens != 200000 || len(m.SupportedInputTypes) == 0 {
				t.Fatalf("model %+v", m)
			}
			ids = append(ids, m.ModelID)
		}
		if l.NextToken == "" {
			break
		}
		token = l.NextToken
	}
	if len(ids) != len(DefaultModels) || ids[0] != DefaultModels[0] || ids[len(ids)-1] != DefaultModels[len(DefaultModels)-1] {
		t.Fatalf("models %v", ids)
	}
	if st := s.Stats(); st.ModelListings != (len(DefaultModels)+2)/3 || st.Generations != 0 {
		t.Fatalf("stats %+v", st)
	}
	for _, q := range []string{"?maxResults=0", "?nextToken=zz", "?nextToken=99"} {
		if status, _ := get(t, s.URL+"/ListAvailableModels"+q, testToken); status != 400 {
			t.Errorf("%s: status %d, want 400", q, status)
		}
	}
	if status, _ := get(t, s.URL+"/ListAvailableModels?maxResults=100", testToken); status != 200 {
		t.Errorf("maxResults=100: %d", status)
	}
	if status, _ := get(t, s.URL+"/ListAvailableModels", "bad"); status != 403 {
		t.Errorf("bad token: %d", status)
	}
}
