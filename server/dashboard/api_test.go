package dashboard

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/accounts/tokenfile"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
)

func TestAccountRoutes(t *testing.T) {
	h := newHarness(t, harnessOptions{accounts: 2})
	b := h.signIn()
	code, body := b.get("/api/accounts")
	if code != 200 {
		t.Fatalf("accounts: %d %s", code, body)
	}
	list := decode[accountList](t, body)
	if len(list.Accounts) != 2 || list.Now.IsZero() {
		t.Fatalf("accounts: %+v", list)
	}
	id := list.Accounts[0].ID
	noSecrets(t, h, body)

	steps := []struct {
		name, path string
		want       int
		check      func(t *testing.T, body string)
	}{
		{"refresh", "/api/accounts/" + id + "/refresh", 200, func(t *testing.T, body string) {
			if v := decode[accounts.View](t, body); v.ID != id || v.ExpiresAt.Before(time.Now()) {
				t.Fatalf("refreshed view %+v", v)
			}
		}},
		{"check", "/api/accounts/" + id + "/check", 200, func(t *testing.T, body string) {
			if r := decode[accounts.CheckResult](t, body); r.ID != id || r.Err != "" || r.Limit == 0 {
				t.Fatalf("check %+v", r)
			}
		}},
		{"check all", "/api/accounts/check", 200, func(t *testing.T, body string) {
			if r := decode[[]accounts.CheckResult](t, body); len(r) != 2 {
				t.Fatalf("check all %+v", r)
			}
		}},
		{"disable", "/api/accounts/" + id + "/disable", 200, func(t *testing.T, body string) {
			if v := decode[accounts.View](t, body); v.Enabled || v.Status != accounts.StatusDisabled {
				t.Fatalf("disabled view %+v", v)
			}
		}},
		{"enable", "/api/accounts/" + id + "/enable", 200, func(t *testing.T, body string) {
			if v := decode[accounts.View](t, body); !v.Enabled {
				t.Fatalf("enabled view %+v", v)
			}
		}},
		{"refresh unknown", "/api/accounts/nope/refresh", 404, nil},
		{"speed test unknown", "/api/accounts/nope/speedtest", 404, nil},
		{"relogin without sign-in flows", "/api/accounts/" + id + "/relogin", 501, nil},
		{"login without sign-in flows", "/api/accounts/login", 400, nil}, // no kind
		{"remove", "/api/accounts/" + id + "/remove", 200, nil},
		{"remove again", "/api/accounts/" + id + "/remove", 404, nil},
	}
	for _, st := range steps {
		code, body := b.post(st.path, "")
		if code != st.want {
			t.Fatalf("%s: %d %s, want %d", st.name, code, body, st.want)
		}
		noSecrets(t, h, body)
		if st.check != nil {
			st.check(t, body)
		}
	}
	if len(h.mgr.List()) != 1 {
		t.Fatalf("after remove: %d accounts", len(h.mgr.List()))
	}
	if code, body := b.post("/api/accounts/login", `{"kind":"builder-id"}`); code != 501 {
		t.Fatalf("login without flows: %d %s", code, body)
	}
}

func TestAddAndImport(t *testing.T) {
	h := newHarness(t, harnessOptions{accounts: 1})
	b := h.signIn()

	h.fake.AddAccount(kirofake.Account{ID: "acctx", Email: "x@example.com", AuthMethod: kirofake.AuthSocial, RefreshToken: refreshToken(9)})
	if code, body := b.post("/api/accounts/add", `{"refresh_token":""}`); code != 400 {
		t.Fatalf("empty token: %d %s", code, body)
	}
	if code, body := b.post("/api/accounts/add", `{"refresh_token":"aorAAAAA`+strings.Repeat("z", 120)+`"}`); code != 400 {
		t.Fatalf("rejected token: %d %s", code, body)
	}
	code, body := b.post("/api/accounts/add", `{"refresh_token":"`+refreshToken(9)+`","label":"pasted"}`)
	if code != 200 {
		t.Fatalf("add: %d %s", code, body)
	}
	noSecrets(t, h, body)
	if v := decode[accounts.View](t, body); v.Label != "pasted" {
		t.Fatalf("added %+v", v)
	}

	// No IDE login yet: a clear error.
	if code, body := b.post("/api/accounts/import", ""); code != 400 {
		t.Fatalf("import without a file: %d %s", code, body)
	}
	h.fake.AddAccount(kirofake.Account{ID: "accty", Email: "y@example.com", AuthMethod: kirofake.AuthSocial, RefreshToken: refreshToken(8)})
	cache := filepath.Join(h.home, ".aws", "sso", "cache")
	if err := os.MkdirAll(cache, 0o700); err != nil {
		t.Fatal(err)
	}
	file, _ := json.Marshal(map[string]any{
		"refreshToken": refreshToken(8), "accessToken": "aoaAAAAA" + strings.Repeat("a", 100),
		"expiresAt": time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "authMethod": "social", "provider": "Google",
	})
	if err := os.WriteFile(filepath.Join(cache, tokenfile.IDEFile), file, 0o600); err != nil {
		t.Fatal(err)
	}
	code, body = b.post("/api/accounts/import", "")
	if code != 200 {
		t.Fatalf("import: %d %s", code, body)
	}
	noSecrets(t, h, body)
	if views := decode[[]accounts.View](t, body); len(views) != 1 {
		t.Fatalf("imported %+v", views)
	}
	if n := len(h.mgr.List()); n != 3 {
		t.Fatalf("%d accounts, want 3", n)
	}
}

// TestLoginProgress follows a sign-in the way the page does: device code,
// status, the added account; and a cancelled one.
func TestLoginProgress(t *testing.T) {
	proceed := make(chan struct{})
	var h *harness
	login := func(ctx context.Context, r LoginRequest, ui LoginUI) (accounts.View, error) {
		ui.Device(DeviceCode{UserCode: "ABCD-EFGH", VerificationURI: "http://127.0.0.1/device", VerificationURIComplete: "http://127.0.0.1/device?code=ABCD-EFGH"})
		ui.Status("waiting for you to confirm the code")
		select {
		case <-ctx.Done():
			return accounts.View{}, ctx.Err()
		case <-proceed:
		}
		return h.mgr.AddRefreshToken(ctx, accounts.AddRequest{RefreshToken: refreshToken(5), Label: r.Kind})
	}
	h = newHarness(t, harnessOptions{login: login})
	h.fake.AddAccount(kirofake.Account{ID: "acctf", AuthMethod: kirofake.AuthSocial, RefreshToken: refreshToken(5)})
	b := h.signIn()
	if code, body := b.get("/api/session"); !strings.Contains(body, `"login":true`) || code != 200 {
		t.Fatalf("session does not offer sign-in: %s", body)
	}

	poll := func(id string, want string) loginState {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			code, body := b.get("/api/logins/" + id)
			if code != 200 {
				t.Fatalf("login state: %d %s", code, body)
			}
			st := decode[loginState](t, body)
			if st.State == want && (want != loginRunning || st.Device != nil) {
				return st
			}
			if time.Now().After(deadline) {
				t.Fatalf("login state %+v, want %s", st, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	code, body := b.post("/api/accounts/login", `{"kind":"builder-id"}`)
	if code != http.StatusAccepted {
		t.Fatalf("start: %d %s", code, body)
	}
	id := decode[map[string]string](t, body)["id"]
	st := poll(id, loginRunning)
	if st.Device.UserCode != "ABCD-EFGH" || st.Status == "" || st.URL == "" {
		t.Fatalf("running state %+v", st)
	}
	close(proceed)
	st = poll(id, loginDone)
	if st.Account == nil || st.Account.Label != "builder-id" {
		t.Fatalf("done state %+v", st)
	}

	// A pasted token does not say how it signed in: the page names the kind.
	code, body = b.post("/api/accounts/"+st.Account.ID+"/relogin", `{"kind":"google"}`)
	if code != http.StatusAccepted {
		t.Fatalf("relogin: %d %s", code, body)
	}
	id = decode[map[string]string](t, body)["id"]
	// proceed is closed: this one finishes at once; start another to cancel.
	poll(id, loginDone)
	if code, _ := b.get("/api/logins/nope"); code != 404 {
		t.Fatalf("unknown login: %d", code)
	}
}

func TestFlowRoutes(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	b := h.signIn()
	for i := 0; i < 3; i++ {
		h.message("hello")
	}
	rows := h.waitFlows(b, 3)
	id := rows[0].ID
	if rows[0].Seq <= rows[1].Seq || rows[0].AccountID == "" {
		t.Fatalf("rows %+v", rows)
	}

	code, body := b.get("/api/flows?limit=2")
	page := decode[flowPage](t, body)
	if code != 200 || len(page.Flows) != 2 || page.Next != page.Flows[1].Seq {
		t.Fatalf("first page: %d %s", code, body)
	}
	code, body = b.get("/api/flows?limit=2&before=" + jsonInt(page.Next))
	page = decode[flowPage](t, body)
	if code != 200 || len(page.Flows) != 1 || page.Next != 0 {
		t.Fatalf("second page: %d %s", code, body)
	}
	for _, q := range []string{"status=failed", "model=nope", "account=nope", "key=nope", "until=2000-01-01T00:00:00Z"} {
		code, body := b.get("/api/flows?" + q)
		if p := decode[flowPage](t, body); code != 200 || len(p.Flows) != 0 {
			t.Errorf("%s: %d %s", q, code, body)
		}
	}
	for _, q := range []string{"status=completed", "model=claude-sonnet-4-5", "key=key1", "since=1h", "since=" + time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)} {
		code, body := b.get("/api/flows?" + q)
		if p := decode[flowPage](t, body); code != 200 || len(p.Flows) != 3 {
			t.Errorf("%s: %d %s", q, code, body)
		}
	}
	for _, q := range []string{"since=yesterday", "limit=0", "before=x", "until=soon"} {
		if code, body := b.get("/api/flows?" + q); code != 400 {
			t.Errorf("%s: %d %s, want 400", q, code, body)
		}
	}

	code, body = b.get("/api/flows/" + id)
	if code != 200 {
		t.Fatalf("detail: %d %s", code, body)
	}
	d := decode[flowDetail](t, body)
	if d.Row.ID != id || d.Details.ClientRequest == nil || d.Details.UpstreamRequest == nil || d.Details.Response == nil || len(d.Details.UpstreamEvents) == 0 {
		t.Fatalf("detail %s", body)
	}
	noSecrets(t, h, body)
	if code, _ := b.get("/api/flows/nope"); code != 404 {
		t.Fatalf("unknown flow: %d", code)
	}
	// Every id of a surface starts alike (msg_ here): a prefix of several
	// flows is the caller's mistake, and the answer says so.
	prefix, _, _ := strings.Cut(id, "_")
	if code, body := b.get("/api/flows/" + prefix + "_"); code != 400 || !strings.Contains(body, "ambiguous") {
		t.Fatalf("ambiguous prefix %s_: %d %s", prefix, code, body)
	}

	resp := h.do(http.MethodGet, "/api/flows/"+id+"/bundle", "", map[string]string{"Cookie": h.cookieName() + "=" + b.cookie})
	zipBody := readAll(t, resp)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/zip" || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("bundle: %d %v", resp.StatusCode, resp.Header)
	}
	zr, err := zip.NewReader(bytes.NewReader([]byte(zipBody)), int64(len(zipBody)))
	if err != nil || len(zr.File) == 0 {
		t.Fatalf("bundle is not a zip: %v", err)
	}
	noSecrets(t, h, zipBody)
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestOverviewAndStats(t *testing.T) {
	h := newHarness(t, harnessOptions{accounts: 2})
	b := h.signIn()
	h.message("one")
	h.message("two")
	h.waitFlows(b, 2)

	code, body := b.get("/api/overview")
	if code != 200 {
		t.Fatalf("overview: %d %s", code, body)
	}
	o := decode[overview](t, body)
	if !o.Running || o.Accounts.Total != 2 || o.Accounts.Ready != 2 || o.Today == nil || o.Today.Requests != 2 || o.Requests != 2 {
		t.Fatalf("overview %s", body)
	}
	// Codex keeps its own default model, which works through kirobar.
	if !strings.Contains(o.Setup.Claude, h.url) || !strings.Contains(o.Setup.Codex, h.url+"/v1") || strings.Contains(o.Setup.Codex, "-c model=") {
		t.Fatalf("setup %+v", o.Setup)
	}
	noSecrets(t, h, body)

	for _, span := range []string{"", "1h", "24h", "7d", "30d"} {
		code, body := b.get("/api/stats?span=" + span)
		if code != 200 {
			t.Fatalf("stats %s: %d %s", span, code, body)
		}
		p := decode[statsPage](t, body)
		var sum int64
		for _, bk := range p.Buckets {
			sum += bk.Requests
		}
		if sum != 2 || p.Stats.Total.Requests != 2 || len(p.Accounts) == 0 || len(p.Models) != 1 || len(p.Keys) != 1 {
			t.Fatalf("stats %s: %s", span, body)
		}
	}
	if code, _ := b.get("/api/stats?span=1y"); code != 400 {
		t.Fatalf("bad span: %d", code)
	}
}

func TestFlowsOff(t *testing.T) {
	h := newHarness(t, harnessOptions{noFlows: true})
	b := h.signIn()
	for _, path := range []string{"/api/flows", "/api/flows/x", "/api/flows/x/bundle", "/api/stats"} {
		if code, body := b.get(path); code != 404 || !strings.Contains(body, "flows.enabled") {
			t.Errorf("%s: %d %s", path, code, body)
		}
	}
	if code, body := b.get("/api/overview"); code != 200 || strings.Contains(body, `"today"`) {
		t.Fatalf("overview without flows: %d %s", code, body)
	}
}

// TestEventsStream opens the live stream the pages use and watches a
// request's flow and an account change arrive.
func TestEventsStream(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	b := h.signIn()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.url+"/api/events", nil)
	req.Header.Set("Cookie", h.cookieName()+"="+b.cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("events: %d %v", resp.StatusCode, resp.Header)
	}
	events := make(chan [2]string, 64)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var name string
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				name = v
			}
			if v, ok := strings.CutPrefix(line, "data: "); ok {
				events <- [2]string{name, v}
			}
		}
	}()
	want := func(name string) string {
		t.Helper()
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatalf("stream ended before %s", name)
				}
				if ev[0] == name {
					return ev[1]
				}
			case <-ctx.Done():
				t.Fatalf("no %s event", name)
			}
		}
	}
	want("hello")
	h.message("live")
	row := decode[flowRow](t, want("flow"))
	if row.ID == "" || row.Seq == 0 || row.Status != "completed" {
		t.Fatalf("flow event %+v", row)
	}
	id := h.mgr.List()[0].ID
	if err := h.mgr.SetEnabled(id, false); err != nil {
		t.Fatal(err)
	}
	for {
		l := decode[accountList](t, want("accounts"))
		if len(l.Accounts) == 1 && !l.Accounts[0].Enabled {
			break
		}
	}
}

func TestSpeedTest(t *testing.T) {
	h := newHarness(t, harnessOptions{accounts: 2})
	b := h.signIn()
	views := h.mgr.List()
	target := views[1].ID
	before := len(h.fake.Requests())
	code, body := b.post("/api/accounts/"+target+"/speedtest", "")
	if code != 200 {
		t.Fatalf("speed test: %d %s", code, body)
	}
	r := decode[speedResult](t, body)
	if r.Error != "" || r.AccountID != target || r.TTFBMS <= 0 || r.TotalMS < r.TTFBMS || r.Chars == 0 || r.FlowID == "" {
		t.Fatalf("speed result %+v", r)
	}
	if n := len(h.fake.Requests()) - before; n != 1 {
		t.Fatalf("speed test sent %d upstream requests, want 1", n)
	}
	// It went to exactly that account, and it is recorded as a flow.
	v, err := h.mgr.View(target)
	if err != nil || v.Requests != 1 {
		t.Fatalf("target account %+v %v", v, err)
	}
	rows := h.waitFlows(b, 1)
	if rows[0].ID != r.FlowID || rows[0].AccountID != target || rows[0].Surface != "speedtest" {
		t.Fatalf("speed flow %+v", rows[0])
	}

	// It takes the request path's recovery too: a token Kiro calls invalid
	// is refreshed and the test retried on the same account.
	for _, a := range h.fake.Accounts() {
		h.fake.InvalidateAccessTokens(a.ID)
	}
	refreshes := 0
	for _, n := range h.fake.Stats().Refreshes {
		refreshes += n
	}
	code, body = b.post("/api/accounts/"+target+"/speedtest", "")
	if r := decode[speedResult](t, body); code != 200 || r.Error != "" || r.AccountID != target {
		t.Fatalf("speed test after the token was revoked: %d %s", code, body)
	}
	after := 0
	for _, n := range h.fake.Stats().Refreshes {
		after += n
	}
	if after != refreshes+1 {
		t.Fatalf("refreshes %d → %d, want one forced refresh", refreshes, after)
	}

	// A disabled account cannot be leased: the result says why.
	if err := h.mgr.SetEnabled(target, false); err != nil {
		t.Fatal(err)
	}
	code, body = b.post("/api/accounts/"+target+"/speedtest", "")
	if r := decode[speedResult](t, body); code != 200 || r.Error == "" {
		t.Fatalf("disabled speed test: %d %s", code, body)
	}
}

// noSecrets fails when body holds a token, refresh token or client key.
func noSecrets(t *testing.T, h *harness, body string) {
	t.Helper()
	secrets := []string{testKey}
	for i := 0; i < 10; i++ {
		secrets = append(secrets, refreshToken(i))
	}
	for _, a := range h.fake.Accounts() {
		if a.AccessToken != "" {
			secrets = append(secrets, a.AccessToken)
		}
	}
	for _, s := range secrets {
		if strings.Contains(body, s) {
			t.Fatalf("response contains a secret (%s…)", s[:6])
		}
	}
}
