package kiro

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// a7Usage is the Appendix A.7 getUsageLimits answer.
const a7Usage = `{
  "nextDateReset": 1772323200,
  "daysUntilReset": 12,
  "userInfo": { "email": "user@example.com", "userId": "u-1" },
  "subscriptionInfo": { "subscriptionTitle": "KIRO FREE", "type": "Q_DEVELOPER_STANDALONE_FREE" },
  "usageBreakdownList": [ {
    "resourceType": "AGENTIC_REQUEST",
    "currentUsageWithPrecision": 12.5, "usageLimitWithPrecision": 50.0,
    "currentUsage": 12, "usageLimit": 50, "nextDateReset": 1772323200,
    "freeTrialInfo": { "freeTrialStatus": "ACTIVE", "currentUsageWithPrecision": 3.0, "usageLimitWithPrecision": 500.0, "freeTrialExpiry": 1772000000 },
    "bonuses": [ { "bonusCode": "B1", "status": "ACTIVE", "currentUsage": 0.0, "usageLimit": 100.0, "expiresAt": 1772000000 } ]
  } ]
}`

func TestParseUsage(t *testing.T) {
	reset := time.Unix(1772323200, 0).UTC()
	for _, tc := range []struct {
		name        string
		body        string
		used, limit float64
		next        time.Time
	}{
		{"appendix A.7: base + active trial + active bonus", a7Usage, 15.5, 650, reset},
		{"expired trial and bonus are left out", `{"usageBreakdownList":[{"currentUsageWithPrecision":10,"usageLimitWithPrecision":50,
			"freeTrialInfo":{"freeTrialStatus":"EXPIRED","currentUsageWithPrecision":500,"usageLimitWithPrecision":500},
			"bonuses":[{"status":"EXPIRED","currentUsage":5,"usageLimit":100},{"status":"active","currentUsageWithPrecision":1.25,"usageLimitWithPrecision":20}]}]}`,
			11.25, 70, time.Time{}},
		{"bonus without status counts until it expires", `{"usageBreakdownList":[{"currentUsage":1,"usageLimit":10,"nextDateReset":"2026-06-01T00:00:00Z",
			"bonuses":[{"usageLimit":5,"expiresAt":"2026-05-02T00:00:00Z"},{"usageLimit":7,"expiresAt":"2026-04-30T00:00:00Z"},{"usageLimit":3}]}]}`,
			1, 18, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)},
		{"only later breakdowns are ignored", `{"usageBreakdownList":[{"currentUsage":2,"usageLimit":4},{"currentUsage":100,"usageLimit":1000}]}`, 2, 4, time.Time{}},
		{"no breakdown", `{"daysUntilReset":3}`, 0, 0, time.Time{}},
		{"reset in milliseconds", `{"nextDateReset":1772323200000}`, 0, 0, reset},
		{"reset as numeric string", `{"nextDateReset":"1772323200"}`, 0, 0, reset},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := parseUsage([]byte(tc.body), fixedNow)
			if err != nil {
				t.Fatal(err)
			}
			if u.Used != tc.used || u.Limit != tc.limit || !u.NextReset.Equal(tc.next) {
				t.Fatalf("used %v limit %v next %v, want %v %v %v", u.Used, u.Limit, u.NextReset, tc.used, tc.limit, tc.next)
			}
		})
	}
	if _, err := parseUsage([]byte(`[`), fixedNow); err == nil {
		t.Fatal("parseUsage accepted broken JSON")
	}
}

func TestUsageLimitsRequest(t *testing.T) {
	// Every real profile is named: IAM Identity Center accounts need it
	// (kiro-protocol.md §11.5); the Builder ID placeholder is no profile.
	for _, tc := range []struct {
		name, auth, arn string
		wantARN         bool
	}{
		{"social", AuthSocial, testProfileARN, true},
		{"idc", AuthIdC, testProfileARN, true},
		{"builder id placeholder", AuthIdC, BuilderIDProfileARN, false},
		{"no profile", AuthIdC, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ide, rec := newUpstream(t, status(200, a7Usage))
			runtime, runRec := newUpstream(t, status(500, ``))
			c, _ := newTestClient(t, testConfig(runtime, ide))
			cr := creds()
			cr.AuthMethod, cr.ProfileARN = tc.auth, tc.arn
			u, err := c.UsageLimits(context.Background(), cr)
			if err != nil {
				t.Fatal(err)
			}
			want := UsageLimits{Email: "user@example.com", UserID: "u-1", Plan: "KIRO FREE", Used: 15.5, Limit: 650,
				NextReset: time.Unix(1772323200, 0).UTC(), DaysUntilReset: 12}
			if u != want {
				t.Fatalf("usage %+v, want %+v", u, want)
			}
			if len(runRec.requests()) != 0 {
				t.Fatal("usage went to the runtime host")
			}
			r := rec.requests()[0]
			q, _ := url.ParseQuery(r.RawQuery)
			if r.Method != http.MethodGet || r.Path != "/getUsageLimits" || q.Get("origin") != "AI_EDITOR" ||
				q.Get("resourceType") != "AGENTIC_REQUEST" || q.Get("isEmailRequired") != "true" {
				t.Fatalf("%s %s?%s", r.Method, r.Path, r.RawQuery)
			}
			if (q.Get("profileArn") == testProfileARN) != tc.wantARN || q.Has("profileArn") != tc.wantARN {
				t.Fatalf("profileArn in query %q, want %v", q.Get("profileArn"), tc.wantARN)
			}
			if r.Header.Get("Authorization") != "Bearer "+testAccessToken || r.Header.Get("Amz-Sdk-Request") != "attempt=1; max=1" {
				t.Fatalf("headers %v", r.Header)
			}
		})
	}
}

func TestUsageLimitsErrors(t *testing.T) {
	for _, tc := range []struct {
		code int
		body string
		want Class
	}{
		{403, `{"message":"Your User ID temporarily is suspended.","reason":"TEMPORARILY_SUSPENDED"}`, ClassSuspended},
		{403, `{"message":"The bearer token included in the request is invalid."}`, ClassAuth},
		{400, `{"message":"Invalid profileArn.","reason":null}`, ClassProfileRequired},
		{200, `not json`, ClassServer},
	} {
		srv, _ := newUpstream(t, status(tc.code, tc.body))
		c, _ := newTestClient(t, testConfig(srv, srv))
		_, err := c.UsageLimits(context.Background(), creds())
		e := mustError(t, err, tc.want)
		if e.Op != OpUsage {
			t.Fatalf("op %q", e.Op)
		}
	}
}

func TestListModelsPaginates(t *testing.T) {
	srv, rec := newUpstream(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch r.URL.Query().Get("nextToken") {
		case "":
			status(200, `{"models":[{"modelId":"claude-sonnet-4.5","modelName":"Claude Sonnet 4.5","tokenLimits":{"maxInputTokens":200000,"maxOutputTokens":64000}}],"nextToken":"page 2"}`)(w, r, n)
		case "page 2":
			status(200, `{"models":[{"modelId":"claude-haiku-4.5","modelName":"Claude Haiku 4.5","tokenLimits":{"maxInputTokens":200000,"maxOutputTokens":8192}},{"modelId":"auto"}]}`)(w, r, n)
		default:
			status(400, `{"message":"bad token"}`)(w, r, n)
		}
	})
	c, _ := newTestClient(t, testConfig(nil, srv))
	cr := creds()
	cr.AuthMethod = AuthIdC
	models, err := c.ListModels(context.Background(), cr)
	// The profile goes on every page (the official list_available_models).
	if err != nil {
		t.Fatal(err)
	}
	want := []Model{
		{ID: "claude-sonnet-4.5", Name: "Claude Sonnet 4.5", MaxInputTokens: 200000, MaxOutputTokens: 64000},
		{ID: "claude-haiku-4.5", Name: "Claude Haiku 4.5", MaxInputTokens: 200000, MaxOutputTokens: 8192},
		{ID: "auto"},
	}
	if fmt.Sprint(models) != fmt.Sprint(want) {
		t.Fatalf("models %+v", models)
	}
	reqs := rec.requests()
	if len(reqs) != 2 || reqs[0].Path != "/ListAvailableModels" {
		t.Fatalf("%d requests", len(reqs))
	}
	for _, r := range reqs {
		q, _ := url.ParseQuery(r.RawQuery)
		if q.Get("origin") != "AI_EDITOR" || q.Get("profileArn") != testProfileARN {
			t.Fatalf("query %q", r.RawQuery)
		}
	}
}

func TestListModelsStopsOnRepeatedToken(t *testing.T) {
	srv, rec := newUpstream(t, status(200, `{"models":[{"modelId":"m"}],"nextToken":"same"}`))
	c, _ := newTestClient(t, testConfig(nil, srv))
	models, err := c.ListModels(context.Background(), creds())
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.requests()) != 2 || len(models) != 2 {
		t.Fatalf("%d requests, %d models", len(rec.requests()), len(models))
	}
	q, _ := url.ParseQuery(rec.requests()[0].RawQuery)
	if q.Get("profileArn") != testProfileARN {
		t.Fatalf("social account without profileArn: %q", rec.requests()[0].RawQuery)
	}
}

func TestListModelsPageCap(t *testing.T) {
	srv, rec := newUpstream(t, func(w http.ResponseWriter, r *http.Request, n int) {
		status(200, fmt.Sprintf(`{"models":[],"nextToken":"t%d"}`, n))(w, r, n)
	})
	c, _ := newTestClient(t, testConfig(nil, srv))
	_, err := c.ListModels(context.Background(), creds())
	mustError(t, err, ClassServer)
	if len(rec.requests()) != maxModelPages {
		t.Fatalf("%d requests", len(rec.requests()))
	}
}
