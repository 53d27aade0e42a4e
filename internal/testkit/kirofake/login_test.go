package kirofake

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"
)

type registration struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
}

func register(t *testing.T, s *Server) registration {
	t.Helper()
	status, b := postJSON(t, s.URL+"/client/register", map[string]any{
		"clientName": "Kiro IDE", "clientType": "public",
		"scopes": []string{"codewhisperer:completions", "codewhisperer:analysis", "codewhisperer:conversations"},
	})
	if status != 200 {
		t.Fatalf("register: %d %s", status, b)
	}
	var r registration
	if err := json.Unmarshal(b, &r); err != nil || r.ClientID == "" || r.ClientSecret == "" {
		t.Fatalf("registration %s: %v", b, err)
	}
	return r
}

func authorize(t *testing.T, s *Server, r registration) deviceAuthResponse {
	t.Helper()
	status, b := postJSON(t, s.URL+"/device_authorization", map[string]string{
		"clientId": r.ClientID, "clientSecret": r.ClientSecret, "startUrl": "https://view.awsapps.com/start",
	})
	if status != 200 {
		t.Fatalf("device authorization: %d %s", status, b)
	}
	var d deviceAuthResponse
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func poll(t *testing.T, s *Server, r registration, code string) (int, map[string]any) {
	t.Helper()
	status, b := postJSON(t, s.URL+"/token", map[string]string{
		"clientId": r.ClientID, "clientSecret": r.ClientSecret, "deviceCode": code,
		"grantType": "urn:ietf:params:oauth:grant-type:device_code",
	})
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("poll body %s: %v", b, err)
	}
	return status, m
}

func TestDeviceFlow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script []DeviceStep
		want   []string // "error" values, "ok" for tokens
	}{
		{"default", nil, []string{"authorization_pending", "ok", "invalid_grant"}},
		{"slow down then approve", []DeviceStep{DeviceSlowDown, DevicePending, DeviceApproved}, []string{"slow_down", "authorization_pending", "ok"}},
		{"denied", []DeviceStep{DevicePending, DeviceDenied}, []string{"authorization_pending", "access_denied", "access_denied"}},
		{"expired", []DeviceStep{DeviceExpired}, []string{"expired_token", "expired_token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, Options{DeviceInterval: 1})
			if tc.script != nil {
				s.ScriptDevice(tc.script...)
			}
			reg := register(t, s)
			d := authorize(t, s, reg)
			if d.Interval != 1 || d.ExpiresIn != 600 || d.UserCode == "" || d.VerificationURIComplete == "" {
				t.Fatalf("authorization %+v", d)
			}
			for i, want := range tc.want {
				status, m := poll(t, s, reg, d.DeviceCode)
				if want == "ok" {
					if status != 200 || m["tokenType"] != "Bearer" || m["accessToken"] == "" {
						t.Fatalf("poll %d: %d %v", i, status, m)
					}
					body := simpleRequest("hi")
					body["profileArn"] = BuilderIDProfileARN // a Builder ID login has no profile of its own
					resp := generate(testCtx(t), t, s, m["accessToken"].(string), mustMarshal(t, body))
					if readBody(t, resp); resp.StatusCode != 200 {
						t.Fatalf("token from device login refused: %d", resp.StatusCode)
					}
					accts := s.Accounts()
					if len(accts) != 1 || accts[0].AuthMethod != AuthIdC || accts[0].ClientID != reg.ClientID {
						t.Fatalf("accounts %+v", accts)
					}
					continue
				}
				if status != 400 || m["error"] != want {
					t.Fatalf("poll %d: %d %v, want %s", i, status, m, want)
				}
			}
		})
	}
}

func TestDeviceCodeExpiry(t *testing.T) {
	clock := newClock()
	s := start(t, Options{Clock: clock.Now})
	s.ScriptDevice(DevicePending)
	reg := register(t, s)
	d := authorize(t, s, reg)
	if status, m := poll(t, s, reg, d.DeviceCode); status != 400 || m["error"] != "authorization_pending" {
		t.Fatalf("first poll %v", m)
	}
	clock.Advance(10 * time.Minute)
	if status, m := poll(t, s, reg, d.DeviceCode); status != 400 || m["error"] != "expired_token" {
		t.Fatalf("after expiry %v", m)
	}
	bad := registration{ClientID: reg.ClientID, ClientSecret: "wrong"}
	if status, m := poll(t, s, bad, d.DeviceCode); status != 400 || m["error"] != "invalid_client" {
		t.Fatalf("wrong secret %v", m)
	}
	if st := s.Stats(); st.DevicePolls != 3 || st.Logins != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestPKCELogin(t *testing.T) {
	s := start(t, Options{})
	verifier := "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	const redirect = "http://localhost:3128/oauth/callback"

	login := func(t *testing.T, q url.Values) (*http.Response, url.Values) {
		t.Helper()
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Get(s.URL + "/login?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, resp)
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		return resp, loc.Query()
	}
	params := url.Values{
		"idp": {"Google"}, "redirect_uri": {redirect}, "code_challenge": {challenge},
		"code_challenge_method": {"S256"}, "state": {"st8"},
	}
	for _, tc := range []struct {
		name string
		drop string
		set  [2]string
	}{
		{"plain method", "", [2]string{"code_challenge_method", "plain"}},
		{"no state", "state", [2]string{}},
		{"relative redirect", "", [2]string{"redirect_uri", "/callback"}},
		// The portal takes only the Kiro IDE's loopback callbacks
		// (kiro-protocol.md §11.7).
		{"unregistered port", "", [2]string{"redirect_uri", "http://localhost:41234/oauth/callback"}},
		{"other path", "", [2]string{"redirect_uri", "http://localhost:3128/callback"}},
		{"not localhost", "", [2]string{"redirect_uri", "http://127.0.0.1:3128/oauth/callback"}},
	} {
		q := url.Values{}
		for k, v := range params {
			q[k] = v
		}
		if tc.drop != "" {
			q.Del(tc.drop)
		}
		if tc.set[0] != "" {
			q.Set(tc.set[0], tc.set[1])
		}
		if resp, _ := login(t, q); resp.StatusCode != 400 {
			t.Errorf("%s: status %d, want 400", tc.name, resp.StatusCode)
		}
	}

	resp, back := login(t, params)
	if resp.StatusCode != http.StatusFound || back.Get("state") != "st8" || back.Get("code") == "" {
		t.Fatalf("redirect %d %v", resp.StatusCode, back)
	}
	code := back.Get("code")
	exchange := func(code, verifier, redirect string) (int, []byte) {
		return postJSON(t, s.URL+"/oauth/token", map[string]string{"code": code, "code_verifier": verifier, "redirect_uri": redirect})
	}
	if status, b := exchange(code, "wrong-verifier-wrong-verifier-wrong-verifier", redirect); status != 400 {
		t.Fatalf("wrong verifier: %d %s", status, b)
	}
	// The failed exchange used the code up; log in again.
	_, back = login(t, params)
	if status, _ := exchange(back.Get("code"), verifier, "http://localhost:1/other"); status != 400 {
		t.Fatalf("wrong redirect_uri accepted")
	}
	_, back = login(t, params)
	status, b := exchange(back.Get("code"), verifier, redirect)
	if status != 200 {
		t.Fatalf("exchange: %d %s", status, b)
	}
	tk := decodeTokens(t, b)
	if tk.ProfileARN != DefaultProfileARN || tk.ExpiresIn != 3600 || tk.AccessToken == "" || tk.RefreshToken == "" {
		t.Fatalf("tokens %+v", tk)
	}
	if status, _ := exchange(back.Get("code"), verifier, redirect); status != 400 {
		t.Fatal("code accepted twice")
	}
	// The new social account refreshes like any other.
	if status, _ := postJSON(t, s.URL+"/refreshToken", map[string]string{"refreshToken": tk.RefreshToken}); status != 200 {
		t.Fatalf("refresh of the logged-in account: %d", status)
	}
	if st := s.Stats(); st.Logins != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestPKCEKiroRedirect(t *testing.T) {
	s := start(t, Options{})
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	q := url.Values{"idp": {"Github"}, "redirect_uri": {"kiro://kiro.kiroAgent/authenticate-success"},
		"code_challenge": {"x"}, "code_challenge_method": {"S256"}, "state": {"s"}}
	resp, err := client.Get(s.URL + "/login?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Scheme != "kiro" || loc.Query().Get("code") == "" {
		t.Fatalf("location %q: %v", resp.Header.Get("Location"), err)
	}
}
