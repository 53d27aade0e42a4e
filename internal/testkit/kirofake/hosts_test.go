package kirofake

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// call sends one request to path with the headers of the given style.
func call(t *testing.T, method, url, token string, header map[string]string, body []byte) (int, http.Header, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, resp.Header, readBody(t, resp), nil
}

var (
	runtimeHeaders = map[string]string{"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": TargetGenerate}
	ideHeaders     = map[string]string{"Content-Type": "application/json"}
)

const euIdCARN = "arn:aws:codewhisperer:eu-central-1:104748392733:profile/EUPROFILE123"

func withARN(t *testing.T, arn string) []byte {
	body := simpleRequest("hi")
	if arn == "" {
		delete(body, "profileArn")
	} else {
		body["profileArn"] = arn
	}
	return mustMarshal(t, body)
}

// TestProfileRules is §11.1 and §11.2 of kiro-protocol.md as the runtime and
// q hosts apply them, for every kind of account.
func TestProfileRules(t *testing.T) {
	social := Account{ID: "s", AccessToken: "tok-social", RefreshToken: "r-social"}
	idc := Account{ID: "i", AuthMethod: AuthIdC, ClientID: "c", ClientSecret: "cs", AccessToken: "tok-idc", RefreshToken: "r-idc", ProfileARN: euIdCARN, SSORegion: "ap-southeast-2"}
	builder := Account{ID: "b", AuthMethod: "builder-id", ClientID: "c2", ClientSecret: "cs2", AccessToken: "tok-builder", RefreshToken: "r-builder"}
	for _, tc := range []struct {
		name   string
		opts   Options
		token  string
		host   string
		region string
		header map[string]string
		arn    string
		want   int
		rule   Rule
	}{
		{"social own arn", Options{}, "tok-social", HostRuntime, "us-east-1", runtimeHeaders, DefaultProfileARN, 200, ""},
		{"social without arn", Options{}, "tok-social", HostRuntime, "us-east-1", runtimeHeaders, "", 400, RuleProfileARNRequired},
		{"builder without arn", Options{}, "tok-builder", HostRuntime, "us-east-1", runtimeHeaders, "", 400, RuleProfileARNRequired},
		{"idc without arn", Options{}, "tok-idc", HostRuntime, "eu-central-1", runtimeHeaders, "", 400, RuleProfileARNRequired},
		{"invented arn", Options{}, "tok-social", HostRuntime, "us-east-1", runtimeHeaders, "arn:aws:codewhisperer:us-east-1:1:profile/x", 400, RuleProfileARNInvalid},
		{"foreign arn", Options{}, "tok-social", HostRuntime, "us-east-1", runtimeHeaders, DefaultIdCProfileARN, 403, RuleForeignProfile},
		{"idc own arn in its region", Options{}, "tok-idc", HostRuntime, "eu-central-1", runtimeHeaders, euIdCARN, 200, ""},
		{"eu arn on us-east-1", Options{}, "tok-idc", HostRuntime, "us-east-1", runtimeHeaders, euIdCARN, 400, RuleProfileRegion},
		{"builder placeholder accepted", Options{}, "tok-builder", HostRuntime, "us-east-1", runtimeHeaders, BuilderIDProfileARN, 200, ""},
		{"builder placeholder refused", Options{RefuseBuilderIDPlaceholder: true}, "tok-builder", HostRuntime, "us-east-1", runtimeHeaders, BuilderIDProfileARN, 403, RuleBuilderIDPlaceholder},
		{"builder other arn", Options{}, "tok-builder", HostRuntime, "us-east-1", runtimeHeaders, DefaultProfileARN, 403, RuleForeignProfile},
		{"runtime refuses idc tokens", Options{RuntimeRejectsIdC: true}, "tok-idc", HostRuntime, "eu-central-1", runtimeHeaders, euIdCARN, 403, RuleRuntimeIdC},
		{"runtime has no ide style", Options{}, "tok-social", HostRuntime, "us-east-1", ideHeaders, DefaultProfileARN, 404, RuleWrongStyle},
		{"q builder without arn", Options{RefuseBuilderIDPlaceholder: true}, "tok-builder", HostQ, "us-east-1", ideHeaders, "", 200, ""},
		{"q idc without arn", Options{RuntimeRejectsIdC: true}, "tok-idc", HostQ, "eu-central-1", ideHeaders, "", 200, ""},
		{"q idc with arn", Options{}, "tok-idc", HostQ, "eu-central-1", ideHeaders, euIdCARN, 403, RuleIdCProfileARN},
		{"q social with arn", Options{}, "tok-social", HostQ, "us-east-1", ideHeaders, DefaultProfileARN, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, tc.opts)
			for _, a := range []Account{social, idc, builder} {
				s.AddAccount(a)
			}
			u := s.URL + "/" + tc.host + "/" + tc.region + "/generateAssistantResponse"
			status, h, body, err := call(t, http.MethodPost, u, tc.token, tc.header, withARN(t, tc.arn))
			if err != nil {
				t.Fatal(err)
			}
			if status != tc.want || Rule(h.Get("x-kirofake-rule")) != tc.rule {
				t.Fatalf("status %d rule %q (%s), want %d %q", status, h.Get("x-kirofake-rule"), body, tc.want, tc.rule)
			}
			reqs := s.Requests()
			if len(reqs) != 1 || reqs[0].Host != tc.host || reqs[0].Region != tc.region {
				t.Errorf("recorded %+v", reqs)
			}
		})
	}
}

// TestUnreachableHosts: Kiro's hosts exist in us-east-1 and eu-central-1
// only; SSO-OIDC in every region.
func TestUnreachableHosts(t *testing.T) {
	s := start(t, Options{})
	for _, tc := range []struct {
		path      string
		reachable bool
	}{
		{"/runtime/ap-southeast-2/generateAssistantResponse", false},
		{"/q/eu-west-1/getUsageLimits", false},
		{"/auth/ap-southeast-2/refreshToken", false},
		{"/q/not_a_region/getUsageLimits", false},
		{"/oidc/ap-southeast-2/token", true},
		{"/q/eu-central-1/getUsageLimits", true},
	} {
		_, _, _, err := call(t, http.MethodPost, s.URL+tc.path, "x", ideHeaders, []byte(`{}`))
		if (err == nil) != tc.reachable {
			t.Errorf("%s: err %v, reachable %v", tc.path, err, tc.reachable)
		}
	}
	if st := s.Stats(); st.Unreachable != 4 {
		t.Errorf("unreachable %d", st.Unreachable)
	}
	calls := s.Calls()
	if len(calls) != 6 || calls[0].Host != HostRuntime || calls[0].Region != "ap-southeast-2" || calls[0].Path != "/generateAssistantResponse" {
		t.Errorf("calls %+v", calls)
	}
}

// TestHostsServeTheirOperations: the runtime host has no usage, model or
// profile listing; auth and oidc serve no generation.
func TestHostsServeTheirOperations(t *testing.T) {
	s := withAccount(t, Options{})
	for _, tc := range []struct {
		method, path string
		header       map[string]string
		want         int
	}{
		{http.MethodGet, "/runtime/us-east-1/getUsageLimits", nil, 404},
		{http.MethodGet, "/runtime/us-east-1/ListAvailableModels?origin=AI_EDITOR", nil, 404},
		{http.MethodPost, "/runtime/us-east-1/", map[string]string{"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": TargetListAvailableProfiles}, 400},
		{http.MethodPost, "/auth/us-east-1/generateAssistantResponse", ideHeaders, 404},
		{http.MethodGet, "/q/us-east-1/getUsageLimits", nil, 200},
		{http.MethodGet, "/q/us-east-1/ListAvailableModels?origin=AI_EDITOR", nil, 200},
		{http.MethodPost, "/q/us-east-1/", map[string]string{"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonCodeWhispererService.ListProfiles"}, 400},
	} {
		status, _, body, err := call(t, tc.method, s.URL+tc.path, testToken, tc.header, []byte(`{}`))
		if err != nil || status != tc.want {
			t.Errorf("%s %s: %d %s %v, want %d", tc.method, tc.path, status, body, err, tc.want)
		}
	}
}

func listProfiles(t *testing.T, s *Server, region, token, body string) (int, []byte) {
	t.Helper()
	status, _, b, err := call(t, http.MethodPost, s.URL+"/q/"+region+"/", token,
		map[string]string{"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": TargetListAvailableProfiles}, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return status, b
}

func TestListAvailableProfiles(t *testing.T) {
	s := start(t, Options{})
	s.AddAccount(Account{ID: "i", AuthMethod: AuthIdC, ClientID: "c", ClientSecret: "cs", AccessToken: "tok-idc", RefreshToken: "r",
		ProfileARN: euIdCARN, ExtraProfiles: []string{"arn:aws:codewhisperer:eu-central-1:104748392733:profile/EUPROFILE456"}})
	s.AddAccount(Account{ID: "b", AuthMethod: "builder-id", ClientID: "c2", ClientSecret: "cs2", AccessToken: "tok-builder", RefreshToken: "r2"})
	decode := func(b []byte) (arns []string, next string) {
		var out struct {
			Profiles []profile `json:"profiles"`
			Next     string    `json:"nextToken"`
		}
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		for _, p := range out.Profiles {
			arns = append(arns, p.ARN)
		}
		return arns, out.Next
	}
	status, b := listProfiles(t, s, "us-east-1", "tok-idc", `{"maxResults":10}`)
	if arns, _ := decode(b); status != 200 || len(arns) != 0 {
		t.Fatalf("us-east-1: %d %s", status, b)
	}
	status, b = listProfiles(t, s, "eu-central-1", "tok-idc", `{"maxResults":1}`)
	arns, next := decode(b)
	if status != 200 || len(arns) != 1 || arns[0] != euIdCARN || next == "" {
		t.Fatalf("eu-central-1 page 1: %d %s", status, b)
	}
	status, b = listProfiles(t, s, "eu-central-1", "tok-idc", `{"maxResults":1,"nextToken":"`+next+`"}`)
	if arns, next := decode(b); status != 200 || len(arns) != 1 || next != "" {
		t.Fatalf("eu-central-1 page 2: %d %s", status, b)
	}
	if status, b := listProfiles(t, s, "us-east-1", "tok-builder", `{}`); status != 403 || string(b) != BodyBuilderIDProfile {
		t.Fatalf("builder id: %d %s", status, b)
	}
	if status, _ := listProfiles(t, s, "us-east-1", "tok-idc", `not json`); status != 400 {
		t.Fatalf("bad body: %d", status)
	}
	if status, _ := listProfiles(t, s, "us-east-1", "nope", `{}`); status != 403 {
		t.Fatalf("bad token: %d", status)
	}
}

// TestManagementNeedsProfileAndCurrentClient: IdC usage and model calls
// name the profile; old IDE versions are refused (kiro-protocol.md §11.5,
// §11.13).
func TestManagementNeedsProfileAndCurrentClient(t *testing.T) {
	s := start(t, Options{})
	s.AddAccount(Account{ID: "i", AuthMethod: AuthIdC, ClientID: "c", ClientSecret: "cs", AccessToken: "tok-idc", RefreshToken: "r", ProfileARN: euIdCARN})
	s.AddAccount(Account{ID: "b", AuthMethod: "builder-id", ClientID: "c2", ClientSecret: "cs2", AccessToken: "tok-builder", RefreshToken: "r2"})
	s.AddAccount(Account{ID: "s", AccessToken: "tok-social", RefreshToken: "r3"})
	current := map[string]string{"User-Agent": "aws-sdk-js/1.0.0 ua/2.1 os/darwin#24.6.0 lang/js md/nodejs#22.22.0 api/codewhispererruntime#1.0.0 m/N,E KiroIDE-1.1.14-abc"}
	old := map[string]string{"User-Agent": "aws-sdk-js/1.0.0 KiroIDE-0.11.107-abc"}
	eu := url.QueryEscape(euIdCARN)
	for _, tc := range []struct {
		name, token, path string
		header            map[string]string
		want              int
		body              string
	}{
		{"idc usage without arn", "tok-idc", "/q/eu-central-1/getUsageLimits?origin=AI_EDITOR", current, 400, BodyInvalidProfile},
		{"idc usage with arn", "tok-idc", "/q/eu-central-1/getUsageLimits?origin=AI_EDITOR&profileArn=" + eu, current, 200, ""},
		{"idc usage arn in other region", "tok-idc", "/q/us-east-1/getUsageLimits?profileArn=" + eu, current, 400, BodyInvalidProfile},
		{"idc models without arn", "tok-idc", "/q/eu-central-1/ListAvailableModels?origin=AI_EDITOR", current, 400, BodyInvalidProfile},
		{"idc models with arn", "tok-idc", "/q/eu-central-1/ListAvailableModels?origin=AI_EDITOR&profileArn=" + eu, current, 200, ""},
		{"builder usage without arn", "tok-builder", "/q/us-east-1/getUsageLimits", current, 200, ""},
		{"social usage without arn", "tok-social", "/q/us-east-1/getUsageLimits", current, 200, ""},
		{"old client usage", "tok-social", "/q/us-east-1/getUsageLimits", old, 403, BodyNotAuthorized},
		{"old client models", "tok-social", "/q/us-east-1/ListAvailableModels?origin=AI_EDITOR", old, 403, BodyNotAuthorized},
		{"agent without a Kiro version", "tok-social", "/q/us-east-1/getUsageLimits", map[string]string{"User-Agent": "aws-sdk-rust/1.3.9"}, 200, ""},
	} {
		status, _, body, err := call(t, http.MethodGet, s.URL+tc.path, tc.token, tc.header, nil)
		if err != nil || status != tc.want || tc.body != "" && string(body) != tc.body {
			t.Errorf("%s: %d %s %v, want %d", tc.name, status, body, err, tc.want)
		}
	}
}

// TestOverage: an account with overage enabled is served past its limit
// until the overage cap; getUsageLimits reports it (kiro-protocol.md §11.5).
func TestOverage(t *testing.T) {
	s := start(t, Options{})
	s.AddAccount(Account{ID: "o", AccessToken: "tok-o", RefreshToken: "r", Used: 50, Limit: 50, OverageEnabled: true, OverageCap: 10, Plan: "KIRO PRO"})
	s.AddAccount(Account{ID: "n", AccessToken: "tok-n", RefreshToken: "r2", Used: 50, Limit: 50})
	gen := func(token string) (int, Rule) {
		status, h, _, err := call(t, http.MethodPost, s.URL+"/runtime/us-east-1/", token, runtimeHeaders, withARN(t, DefaultProfileARN))
		if err != nil {
			t.Fatal(err)
		}
		return status, Rule(h.Get("x-kirofake-rule"))
	}
	if status, rule := gen("tok-n"); status != 402 || rule != RuleQuota {
		t.Fatalf("no overage at the limit: %d %s", status, rule)
	}
	if status, _ := gen("tok-o"); status != 200 {
		t.Fatalf("overage at the limit: %d", status)
	}
	status, _, b, _ := call(t, http.MethodGet, s.URL+"/q/us-east-1/getUsageLimits", "tok-o", nil, nil)
	var u usageLimits
	if err := json.Unmarshal(b, &u); err != nil || status != 200 {
		t.Fatalf("usage %d %s", status, b)
	}
	bd := u.UsageBreakdownList[0]
	if u.OverageConfiguration.OverageStatus != "ENABLED" || bd.CurrentUsageWithPrecision != 50 || bd.CurrentOveragesWithPrecision <= 0 || bd.OverageCapWithPrecision != 10 {
		t.Fatalf("usage %+v", u)
	}
	s.SetUsed("o", 60)
	if status, rule := gen("tok-o"); status != 402 || rule != RuleOverageLimit {
		t.Fatalf("past the overage cap: %d %s", status, rule)
	}
	if !strings.Contains(BodyOverageLimit, "OVERAGE_REQUEST_LIMIT_EXCEEDED") {
		t.Fatal("body")
	}
	_, _, b, _ = call(t, http.MethodGet, s.URL+"/q/us-east-1/getUsageLimits", "tok-n", nil, nil)
	if err := json.Unmarshal(b, &u); err != nil || u.OverageConfiguration.OverageStatus != "DISABLED" {
		t.Fatalf("no overage: %s", b)
	}
}

// TestOIDCRegions: an IdC client lives in its SSO region; a device login
// there makes an account that refreshes there only.
func TestOIDCRegions(t *testing.T) {
	s := start(t, Options{DeviceInterval: 1, IdCProfileARN: euIdCARN})
	base := s.URL + "/oidc/ap-southeast-2"
	status, b := postJSON(t, base+"/client/register", map[string]any{"clientName": "Kiro IDE", "clientType": "public"})
	var reg registration
	if err := json.Unmarshal(b, &reg); err != nil || status != 200 {
		t.Fatalf("register: %d %s", status, b)
	}
	start := map[string]string{"clientId": reg.ClientID, "clientSecret": reg.ClientSecret, "startUrl": "https://acme.awsapps.com/start"}
	if status, _ := postJSON(t, s.URL+"/oidc/us-east-1/device_authorization", start); status != 400 {
		t.Fatalf("client used in another region: %d", status)
	}
	status, b = postJSON(t, base+"/device_authorization", start)
	var d deviceAuthResponse
	if err := json.Unmarshal(b, &d); err != nil || status != 200 {
		t.Fatalf("authorize: %d %s", status, b)
	}
	pollBody := map[string]string{"clientId": reg.ClientID, "clientSecret": reg.ClientSecret, "deviceCode": d.DeviceCode, "grantType": grantDeviceCode}
	postJSON(t, base+"/token", pollBody) // pending
	status, b = postJSON(t, base+"/token", pollBody)
	var tok oidcTokenResponse
	if err := json.Unmarshal(b, &tok); err != nil || status != 200 {
		t.Fatalf("approve: %d %s", status, b)
	}
	a := s.Accounts()[0]
	if a.BuilderID || a.SSORegion != "ap-southeast-2" || a.ProfileARN != euIdCARN || !strings.HasPrefix(a.Email, "idc-") {
		t.Fatalf("account %+v", a)
	}
	refresh := map[string]string{"clientId": reg.ClientID, "clientSecret": reg.ClientSecret, "grantType": grantRefresh, "refreshToken": tok.RefreshToken}
	if status, b := postJSON(t, s.URL+"/oidc/us-east-1/token", refresh); status != 400 || !strings.Contains(string(b), "invalid_client") {
		t.Fatalf("refresh in another region: %d %s", status, b)
	}
	if status, b := postJSON(t, base+"/token", refresh); status != 200 {
		t.Fatalf("refresh in its region: %d %s", status, b)
	}
}

// TestAccountModels: an account serves the models ListAvailableModels
// offers it, no others.
func TestAccountModels(t *testing.T) {
	s := start(t, Options{})
	s.AddAccount(Account{ID: "a", AccessToken: "tok", RefreshToken: "r", Models: []string{"claude-sonnet-4.5", "claude-opus-4.8"}})
	status, _, b, _ := call(t, http.MethodGet, s.URL+"/q/us-east-1/ListAvailableModels?origin=AI_EDITOR", "tok", nil, nil)
	var l modelList
	if err := json.Unmarshal(b, &l); err != nil || status != 200 || len(l.Models) != 2 || l.Models[1].ModelID != "claude-opus-4.8" || l.DefaultModel.ModelID != "claude-sonnet-4.5" {
		t.Fatalf("models %d %s", status, b)
	}
	body := simpleRequest("hi")
	body["conversationState"].(map[string]any)["currentMessage"].(map[string]any)["userInputMessage"].(map[string]any)["modelId"] = "claude-opus-4.7"
	status, h, _, _ := call(t, http.MethodPost, s.URL+"/runtime/us-east-1/", "tok", runtimeHeaders, mustMarshal(t, body))
	if status != 400 || Rule(h.Get("x-kirofake-rule")) != RuleAccountModel {
		t.Fatalf("model not offered: %d %s", status, h.Get("x-kirofake-rule"))
	}
}
