package dashboard

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

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
)

// TestReloginFollowsTheAccountsSignIn renews accounts of every record
// kind from the page with an empty body, as its "Sign in again" button
// does: the sign-in that runs is the one accounts.Renewal reads from the
// account, with an IAM Identity Center account's start URL and region, and
// an account whose record does not say gets a 400 that names the choice.
func TestReloginFollowsTheAccountsSignIn(t *testing.T) {
	got := make(chan LoginRequest, 1)
	login := func(ctx context.Context, r LoginRequest, ui LoginUI) (accounts.View, error) {
		got <- r
		return accounts.View{}, nil
	}
	h := newHarness(t, harnessOptions{login: login})
	b := h.signIn()
	const org = "https://acme.awsapps.com/start"
	importFile := func(t *testing.T, fields map[string]any) string {
		t.Helper()
		fields["accessToken"] = "aoaAAAAA" + strings.Repeat("a", 100)
		fields["expiresAt"] = time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		data, _ := json.Marshal(fields)
		path := filepath.Join(t.TempDir(), "token.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		views, err := h.mgr.ImportPath(context.Background(), path)
		if err != nil || len(views) != 1 {
			t.Fatalf("import %v: %v", views, err)
		}
		return views[0].ID
	}
	for i, tc := range []struct {
		name   string
		fields map[string]any // the imported token file; nil pastes a bare refresh token
		body   string
		want   LoginRequest // Relogin is filled in
		code   int
		errSub string
	}{
		{"google", map[string]any{"authMethod": "social", "provider": "Google"}, "",
			LoginRequest{Kind: "google"}, http.StatusAccepted, ""},
		{"github", map[string]any{"authMethod": "social", "provider": "Github"}, "",
			LoginRequest{Kind: "github"}, http.StatusAccepted, ""},
		{"identity center", map[string]any{"authMethod": "IdC", "provider": "Enterprise", "startUrl": org, "region": "eu-west-1",
			"clientId": "client-i", "clientSecret": "secret-" + strings.Repeat("s", 40)}, "",
			LoginRequest{Kind: "idc", StartURL: org, Region: "eu-west-1"}, http.StatusAccepted, ""},
		{"builder id", map[string]any{"authMethod": "IdC", "provider": "BuilderId", "region": "us-east-1",
			"clientId": "client-b", "clientSecret": "secret-" + strings.Repeat("s", 40)}, "",
			LoginRequest{Kind: "builder-id", Region: "us-east-1"}, http.StatusAccepted, ""},
		{"pasted social token", nil, "", LoginRequest{}, http.StatusBadRequest, "--google|--github"},
		{"pasted social token, the page names the kind", nil, `{"kind":"github"}`,
			LoginRequest{Kind: "github"}, http.StatusAccepted, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var id string
			if tc.fields == nil {
				h.fake.AddAccount(kirofake.Account{ID: fmt.Sprintf("pasted%d", i), AuthMethod: kirofake.AuthSocial, RefreshToken: refreshToken(i)})
				code, body := b.post("/api/accounts/add", `{"refresh_token":"`+refreshToken(i)+`"}`)
				if code != 200 {
					t.Fatalf("add: %d %s", code, body)
				}
				id = decode[accounts.View](t, body).ID
			} else {
				tc.fields["refreshToken"] = refreshToken(i)
				id = importFile(t, tc.fields)
			}
			code, body := b.post("/api/accounts/"+id+"/relogin", tc.body)
			if code != tc.code {
				t.Fatalf("relogin: %d %s, want %d", code, body, tc.code)
			}
			if tc.code != http.StatusAccepted {
				if !strings.Contains(body, tc.errSub) {
					t.Errorf("relogin answer %s does not name %q", body, tc.errSub)
				}
				return
			}
			tc.want.Relogin = id
			select {
			case r := <-got:
				if r != tc.want {
					t.Errorf("sign-in %+v, want %+v", r, tc.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no sign-in started")
			}
		})
	}
}
