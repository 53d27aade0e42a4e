package signin

import (
	"context"
	"strings"
	"testing"

	"github.com/kirobar/kirobar/kiro"
)

func TestRequestValidate(t *testing.T) {
	const org = "https://acme.awsapps.com/start"
	for _, tc := range []struct {
		req  Request
		want string // "" = valid
	}{
		{Request{Kind: BuilderID}, ""},
		{Request{Kind: BuilderID, Region: "eu-west-1"}, ""},
		{Request{Kind: IdC, StartURL: org, Region: "eu-west-1"}, ""},
		{Request{Kind: IdC, StartURL: "http://localhost:8080/start"}, ""},
		{Request{Kind: Google}, ""},
		{Request{Kind: GitHub}, ""},
		{Request{Kind: IdC}, "start URL"},
		{Request{Kind: IdC, StartURL: "acme.awsapps.com/start"}, "must begin with https://"},
		{Request{Kind: BuilderID, StartURL: org}, "takes no start URL"},
		{Request{Kind: Google, StartURL: org}, "takes no start URL"},
		{Request{Kind: "password"}, `unknown sign-in kind "password"`},
		{Request{}, "unknown sign-in kind"},
	} {
		err := tc.req.Validate()
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: %v, want %q", tc.req, err, tc.want)
		}
	}
}

// TestRunRefusesBeforeCallingKiro: an invalid request never reaches Kiro
// nor the user.
func TestRunRefusesBeforeCallingKiro(t *testing.T) {
	kc, err := kiro.NewClient(kiro.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ui := UI{
		OpenURL: func(string) error { t.Error("a browser was opened"); return nil },
		Device:  func(DeviceCode) { t.Error("a code was shown") },
	}
	if _, err := Run(context.Background(), kc, Request{Kind: IdC}, ui, Options{}); err == nil {
		t.Fatal("an IdC sign-in without a start URL ran")
	}
}
