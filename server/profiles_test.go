package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/accounts/tokenfile"
	"github.com/kirobar/kirobar/internal/testkit/fixtures"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
	"github.com/kirobar/kirobar/internal/testkit/testrig"
)

const euProfile = "arn:aws:codewhisperer:eu-central-1:104748392733:profile/EUPROFILE123"

func writeFile(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// ideCache writes the Kiro IDE's token cache for an IdC login (the token
// and its client registration), as ~/.aws/sso/cache holds it.
func ideCache(t *testing.T, dir string, a kirofake.Account, provider, region string, expires time.Time) string {
	t.Helper()
	writeFile(t, filepath.Join(dir, tokenfile.IDEFile), map[string]any{
		"accessToken": a.AccessToken, "refreshToken": a.RefreshToken, "expiresAt": expires.UTC().Format("2006-01-02T15:04:05.000Z"),
		"authMethod": "IdC", "provider": provider, "region": region, "clientIdHash": "hash-" + a.ID,
	})
	writeFile(t, filepath.Join(dir, "hash-"+a.ID+".json"), map[string]any{"clientId": a.ClientID, "clientSecret": a.ClientSecret, "expiresAt": "2031-01-01T00:00:00Z"})
	return dir
}

// kiroCLIStore writes kiro-cli's data.sqlite3 with an IdC login and its
// profile, as kiro-cli keeps them.
func kiroCLIStore(t *testing.T, path string, a kirofake.Account, region, profile string) string {
	t.Helper()
	gdb, err := gorm.Open(sqlite.Open(path), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	token, _ := json.Marshal(map[string]any{
		"access_token": a.AccessToken, "refresh_token": a.RefreshToken, "region": region,
		"expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "start_url": "https://acme.awsapps.com/start",
	})
	reg, _ := json.Marshal(map[string]any{"client_id": a.ClientID, "client_secret": a.ClientSecret, "region": region})
	prof, _ := json.Marshal(map[string]any{"arn": profile, "profile_name": "acme"})
	for _, stmt := range []struct {
		q    string
		args []any
	}{
		{"CREATE TABLE auth_kv (key TEXT PRIMARY KEY, value TEXT)", nil},
		{"CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT)", nil},
		{"INSERT INTO auth_kv VALUES (?, ?)", []any{"kirocli:odic:token", string(token)}},
		{"INSERT INTO auth_kv VALUES (?, ?)", []any{"kirocli:odic:device-registration", string(reg)}},
		{"INSERT INTO state VALUES (?, ?)", []any{"api.codewhisperer.profile", string(prof)}},
	} {
		if err := gdb.Exec(stmt.q, stmt.args...).Error; err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// TestEveryAccountKindServesClaudeCode: a social, an IAM Identity Center
// (signed in in ap-southeast-2, its profile in eu-central-1), a Builder ID
// and a kiro-cli account each serve Claude Code's first request on the
// default runtime style, or — where the service variant refuses them there
// — on the q host, and the client never sees a profile error
// (kiro-protocol.md §11.1, §11.2, §11.4).
func TestEveryAccountKindServesClaudeCode(t *testing.T) {
	idc := kirofake.Account{ID: "idc", AuthMethod: kirofake.AuthIdC, ClientID: "client-idc", ClientSecret: "secret-idc-0123456789",
		RefreshToken: testrig.RefreshToken(1), AccessToken: "aoaIDC" + strings.Repeat("i", 100), ProfileARN: euProfile, SSORegion: "ap-southeast-2"}
	builder := kirofake.Account{ID: "builder", AuthMethod: "builder-id", ClientID: "client-b", ClientSecret: "secret-b-0123456789",
		RefreshToken: testrig.RefreshToken(2), AccessToken: "aoaBLD" + strings.Repeat("b", 100)}
	cli := kirofake.Account{ID: "cli", AuthMethod: kirofake.AuthIdC, ClientID: "client-cli", ClientSecret: "secret-cli-0123456789",
		RefreshToken: testrig.RefreshToken(3), AccessToken: "aoaCLI" + strings.Repeat("c", 100), ProfileARN: euProfile, SSORegion: "eu-west-1"}
	for _, tc := range []struct {
		name   string
		fake   kirofake.Options
		add    func(t *testing.T, h *harness) string // returns the account id
		host   string
		region string
		arn    string
		style  string
	}{
		{
			name: "social pasted refresh token", host: kirofake.HostRuntime, region: "us-east-1", arn: kirofake.DefaultProfileARN, style: "runtime",
			add: func(t *testing.T, h *harness) string {
				h.fake.AddAccount(kirofake.Account{ID: "social", RefreshToken: testrig.RefreshToken(0)})
				v, err := h.mgr.AddRefreshToken(context.Background(), accounts.AddRequest{RefreshToken: testrig.RefreshToken(0), AuthMethod: "social"})
				if err != nil {
					t.Fatal(err)
				}
				return v.ID
			},
		},
		{
			// The IDE's token expired: the import cannot resolve the
			// profile, the first request refreshes in ap-southeast-2, meets
			// "profileArn is required", resolves it and retries.
			name: "IdC from the IDE cache", host: kirofake.HostRuntime, region: "eu-central-1", arn: euProfile, style: "runtime",
			add: func(t *testing.T, h *harness) string {
				expired := idc
				expired.AccessExpiry = time.Now().Add(-time.Minute)
				h.fake.AddAccount(expired)
				return importOne(t, h, ideCache(t, filepath.Join(t.TempDir(), "cache"), idc, "Enterprise", "ap-southeast-2", expired.AccessExpiry))
			},
		},
		{
			name: "IdC refused on runtime moves to the q host", fake: kirofake.Options{RuntimeRejectsIdC: true},
			host: kirofake.HostQ, region: "eu-central-1", arn: "", style: "ide",
			add: func(t *testing.T, h *harness) string {
				h.fake.AddAccount(idc)
				return importOne(t, h, ideCache(t, filepath.Join(t.TempDir(), "cache"), idc, "Enterprise", "ap-southeast-2", time.Now().Add(time.Hour)))
			},
		},
		{
			name: "Builder ID with the placeholder", host: kirofake.HostRuntime, region: "us-east-1", arn: kirofake.BuilderIDProfileARN, style: "runtime",
			add: func(t *testing.T, h *harness) string {
				h.fake.AddAccount(builder)
				return importOne(t, h, ideCache(t, filepath.Join(t.TempDir(), "cache"), builder, "BuilderId", "us-east-1", time.Now().Add(time.Hour)))
			},
		},
		{
			name: "Builder ID where the placeholder is refused", fake: kirofake.Options{RefuseBuilderIDPlaceholder: true},
			host: kirofake.HostQ, region: "us-east-1", arn: "", style: "ide",
			add: func(t *testing.T, h *harness) string {
				h.fake.AddAccount(builder)
				return importOne(t, h, ideCache(t, filepath.Join(t.TempDir(), "cache"), builder, "BuilderId", "us-east-1", time.Now().Add(time.Hour)))
			},
		},
		{
			name: "kiro-cli store", host: kirofake.HostRuntime, region: "eu-central-1", arn: euProfile, style: "runtime",
			add: func(t *testing.T, h *harness) string {
				h.fake.AddAccount(cli)
				return importOne(t, h, kiroCLIStore(t, filepath.Join(t.TempDir(), "data.sqlite3"), cli, "eu-west-1", euProfile))
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{fake: tc.fake, accounts: -1, hosts: true})
			id := tc.add(t, h)
			resp := h.post("/v1/messages", string(fixtures.ClaudeCodeFirst()), map[string]string{"anthropic-version": "2023-06-01"})
			body := readAll(t, resp.Body)
			if resp.StatusCode != 200 || !strings.Contains(body, `"text_delta"`) || !strings.Contains(body, "event: message_stop") {
				t.Fatalf("status %d: %s\nupstream: %s", resp.StatusCode, body, describeRequests(h.fake.Requests()))
			}
			reqs := h.fake.Requests()
			last := reqs[len(reqs)-1]
			if last.Status != 200 || last.Host != tc.host || last.Region != tc.region || last.ProfileARN != tc.arn {
				t.Fatalf("served by %s/%s with profile %q (status %d), want %s/%s %q\nupstream: %s",
					last.Host, last.Region, last.ProfileARN, last.Status, tc.host, tc.region, tc.arn, describeRequests(reqs))
			}
			v, err := h.mgr.View(id)
			if err != nil {
				t.Fatal(err)
			}
			if v.APIStyle != tc.style || v.APIRegion != tc.region || v.ProfileAt.IsZero() {
				t.Fatalf("account facts: style %q region %q profile %q resolved %v", v.APIStyle, v.APIRegion, v.ProfileARN, v.ProfileAt)
			}
			// A second request reads the stored facts: it goes straight
			// to where the first one ended.
			before := len(reqs)
			resp = h.post("/v1/messages", string(fixtures.ClaudeCodeFirst()), map[string]string{"anthropic-version": "2023-06-01"})
			if body := readAll(t, resp.Body); resp.StatusCode != 200 {
				t.Fatalf("second request: %d %s", resp.StatusCode, body)
			}
			if reqs = h.fake.Requests(); len(reqs) != before+1 || reqs[before].Host != tc.host || reqs[before].Region != tc.region {
				t.Fatalf("second request was not served at once on %s/%s: %s", tc.host, tc.region, describeRequests(reqs[before:]))
			}
			for _, c := range h.fake.Calls() {
				if c.Host == kirofake.HostOIDC && c.Path == "/token" && tc.name == "IdC from the IDE cache" && c.Region != "ap-southeast-2" {
					t.Errorf("IdC token refreshed in %s, not its sign-in region", c.Region)
				}
			}
		})
	}
}

// importOne imports one login and returns its account id.
func importOne(t *testing.T, h *harness, path string) string {
	t.Helper()
	views, err := h.mgr.ImportPath(context.Background(), path)
	if err != nil || len(views) != 1 {
		t.Fatalf("import %s: %d accounts, %v", path, len(views), err)
	}
	return views[0].ID
}

func describeRequests(reqs []kirofake.Request) string {
	var b strings.Builder
	for _, r := range reqs {
		fmt.Fprintf(&b, "\n  %s/%s %s profile=%q status=%d rule=%s", r.Host, r.Region, r.Path, r.ProfileARN, r.Status, r.Rule)
	}
	return b.String()
}

// TestModelsFromThePool: /v1/models lists what Kiro offered the pool's
// accounts, and a model name no account is offered — Claude Code's default
// among them — is served by the best offered model of its family
// (kiro-protocol.md §11.9).
func TestModelsFromThePool(t *testing.T) {
	h := newHarness(t, harnessOptions{accounts: -1, hosts: true})
	h.fake.AddAccount(kirofake.Account{ID: "a", RefreshToken: testrig.RefreshToken(0),
		Models: []string{"claude-sonnet-4.5", "claude-opus-4.8", "claude-haiku-4.5"}})
	if _, err := h.mgr.AddRefreshToken(context.Background(), accounts.AddRequest{RefreshToken: testrig.RefreshToken(0), AuthMethod: "social"}); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodGet, h.url+"/v1/models", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-api-key", testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Data []struct{ ID string } `json:"data"`
	}
	if err := json.Unmarshal([]byte(readAll(t, resp.Body)), &list); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, m := range list.Data {
		ids[m.ID] = true
	}
	if !ids["claude-opus-4.8"] || !ids["claude-sonnet-4.5"] || ids["claude-opus-4.7"] || ids["claude-sonnet-4.6"] {
		t.Fatalf("models %v: want the account's, not the table's", ids)
	}
	for _, tc := range []struct{ asked, sent string }{
		{"claude-opus-5-5", "claude-opus-4.8"},     // Claude Code's default, unknown to every table
		{"claude-opus-4-7", "claude-opus-4.8"},     // known, but not offered
		{"claude-sonnet-4-6", "claude-sonnet-4.5"}, // newer than what is offered
		{"claude-haiku-4-5-20251001", "claude-haiku-4.5"},
	} {
		body := `{"model":"` + tc.asked + `","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`
		resp := h.post("/v1/messages", body, map[string]string{"anthropic-version": "2023-06-01"})
		if out := readAll(t, resp.Body); resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", tc.asked, resp.StatusCode, out)
		}
		if g := h.fake.Requests(); g[len(g)-1].ModelID != tc.sent {
			t.Errorf("%s went upstream as %q, want %q", tc.asked, g[len(g)-1].ModelID, tc.sent)
		}
	}
}
