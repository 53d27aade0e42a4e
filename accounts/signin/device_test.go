package signin

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/kirobar/kirobar/internal/testkit/kirofake"
	"github.com/kirobar/kirobar/kiro"
)

func TestDevice(t *testing.T) {
	pending, slow, approved := kirofake.DevicePending, kirofake.DeviceSlowDown, kirofake.DeviceApproved
	for _, tc := range []struct {
		name       string
		req        Request
		script     []kirofake.DeviceStep
		ttl        time.Duration
		wantErr    error
		wantSleeps []time.Duration
	}{
		{"pending then approved", Request{Kind: BuilderID}, []kirofake.DeviceStep{pending, pending, approved}, 0, nil,
			[]time.Duration{5 * time.Second, 5 * time.Second, 5 * time.Second}},
		{"slow down adds five seconds", Request{Kind: BuilderID}, []kirofake.DeviceStep{pending, slow, slow, approved}, 0, nil,
			[]time.Duration{5 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second}},
		{"denied", Request{Kind: BuilderID}, []kirofake.DeviceStep{pending, kirofake.DeviceDenied}, 0, ErrDenied, nil},
		{"expired by the service", Request{Kind: BuilderID}, []kirofake.DeviceStep{pending, kirofake.DeviceExpired}, 0, ErrExpired, nil},
		{"code runs out while pending", Request{Kind: BuilderID}, []kirofake.DeviceStep{pending}, 30 * time.Second, ErrExpired, nil},
		{"IAM Identity Center at its start URL", Request{Kind: IdC, StartURL: "https://acme.awsapps.com/start", Region: "us-east-1"},
			[]kirofake.DeviceStep{pending, approved}, 0, nil, []time.Duration{5 * time.Second, 5 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, kirofake.Options{DeviceCodeTTL: tc.ttl})
			w.fake.ScriptDevice(tc.script...)
			got, err := Run(context.Background(), w.kc, tc.req, w.ui(nil), w.options())
			if len(w.codes) != 1 || w.codes[0].UserCode == "" || w.codes[0].VerificationURI == "" {
				t.Fatalf("device code shown: %+v", w.codes)
			}
			if len(w.opened) != 1 || w.opened[0] != w.codes[0].VerificationURIComplete {
				t.Errorf("browser opened %v, want %s", w.opened, w.codes[0].VerificationURIComplete)
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(w.sleeps, tc.wantSleeps) {
				t.Errorf("waits %v, want %v", w.sleeps, tc.wantSleeps)
			}
			provider, start := "BuilderId", kiro.BuilderIDStartURL
			if tc.req.Kind == IdC {
				provider, start = "Enterprise", tc.req.StartURL
			}
			if got.AuthMethod != kiro.AuthIdC || got.Provider != provider || got.StartURL != start || got.Region != tc.req.Region {
				t.Errorf("signed in as %s %s at %s in %q", got.AuthMethod, got.Provider, got.StartURL, got.Region)
			}
			if got.ClientID == "" || got.ClientSecret == "" || got.Tokens.AccessToken == "" || got.Tokens.RefreshToken == "" {
				t.Fatal("the sign-in yielded no client or no tokens")
			}
			// The tokens refresh with the client the sign-in registered.
			if _, err := w.kc.Refresh(context.Background(), kiro.RefreshRequest{
				AuthMethod: got.AuthMethod, RefreshToken: got.Tokens.RefreshToken, ClientID: got.ClientID, ClientSecret: got.ClientSecret, Region: got.Region,
			}); err != nil {
				t.Fatalf("refresh with the sign-in's client: %v", err)
			}
		})
	}
}

func TestDeviceCanceled(t *testing.T) {
	w := newWorld(t, kirofake.Options{})
	w.fake.ScriptDevice(kirofake.DevicePending)
	ctx, cancel := context.WithCancel(context.Background())
	ui := UI{Device: func(DeviceCode) { cancel() }}
	_, err := Run(ctx, w.kc, Request{Kind: BuilderID}, ui, w.options())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
