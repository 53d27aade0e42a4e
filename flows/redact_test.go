package flows

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRedactText(t *testing.T) {
	rd := newRedactor([]string{"kb-client-key-123456", "abc"})
	for _, tc := range []struct{ in, want string }{
		{"Authorization: Bearer eyJhbGciOi.x_y-z", "Authorization: Bearer [REDACTED]"},
		{"bearer   tok/en+=", "bearer [REDACTED]"},
		{"key kb-client-key-123456 used", "key [REDACTED] used"},
		{`upstream said {"accessToken":"aoa\"x","other":1}`, `upstream said {"accessToken":"[REDACTED]","other":1}`},
		{`{"refresh_token": "r1"}`, `{"refresh_token": "[REDACTED]"}`},
		{"/v1/messages?beta=true&key=sk-123", "/v1/messages?beta=true&key=[REDACTED]"},
		{"grant_type=refresh_token&refresh_token=zzz&client_secret=yyy", "grant_type=refresh_token&refresh_token=[REDACTED]&client_secret=[REDACTED]"},
		{"abc is too short to be a known secret", "abc is too short to be a known secret"},
		{"monkey=banana", "monkey=banana"},
	} {
		if got := rd.text(tc.in); got != tc.want {
			t.Errorf("text(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRedactBody(t *testing.T) {
	png := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 3000))
	rd := newRedactor([]string{"secret-value-42"})
	for _, tc := range []struct {
		name     string
		in       string
		limit    int
		want     []string
		wantNot  []string
		wantNote bool
	}{
		{
			name:    "credential keys",
			in:      `{"accessToken":"a1","nested":{"x-api-key":"k1","clientSecret":"c1","password":"p1","max_tokens":5,"input_schema":{"token":{"type":"string"}}}}`,
			want:    []string{`"accessToken":"[REDACTED]"`, `"x-api-key":"[REDACTED]"`, `"max_tokens":5`, `"token":{"type":"string"}`},
			wantNot: []string{"a1", "k1", "c1", "p1"},
		},
		{
			name:    "anthropic image",
			in:      `{"type":"image","source":{"type":"base64","media_type":"image/png","data":"` + png + `"}}`,
			want:    []string{`[omitted image/png, 3000 bytes]`},
			wantNot: []string{png[:40]},
		},
		{
			name:    "openai data url",
			in:      `{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,` + png + `"}}`,
			want:    []string{`[omitted image/jpeg, 3000 bytes]`},
			wantNot: []string{png[:40]},
		},
		{
			name:    "kiro image",
			in:      `{"images":[{"format":"png","source":{"bytes":"` + png + `"}}]}`,
			want:    []string{`[omitted image/png, 3000 bytes]`},
			wantNot: []string{png[:40]},
		},
		{
			name:    "known secret in a value and a key",
			in:      `{"text":"my secret-value-42 here","secret-value-42":1}`,
			want:    []string{`my [REDACTED] here`},
			wantNot: []string{"secret-value-42"},
		},
		{
			name:     "cap",
			in:       `{"text":"` + strings.Repeat("é", 100) + `"}`,
			limit:    51,
			wantNote: true,
		},
		{
			name:    "not json",
			in:      "event: ping\ndata: Bearer secret-value-42\n",
			want:    []string{"Bearer [REDACTED]"},
			wantNot: []string{"secret-value-42"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			limit := tc.limit
			if limit == 0 {
				limit = 1 << 20
			}
			b := rd.body([]byte(tc.in), limit)
			got := string(b.JSON) + b.Text
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%s lacks %q", got, w)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(got, w) {
					t.Errorf("%s contains %q", got, w)
				}
			}
			if b.Size != len(tc.in) {
				t.Errorf("size = %d, want %d", b.Size, len(tc.in))
			}
			if tc.wantNote != (b.Note != "") || len(got) > limit {
				t.Errorf("note = %q, %d bytes kept", b.Note, len(got))
			}
			if tc.wantNote && !strings.HasSuffix(got, "é") {
				t.Errorf("cap split a rune: %q", got[len(got)-4:])
			}
		})
	}
}

func TestCaptureKind(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{context.DeadlineExceeded, CaptureTimeout},
		{&net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, CaptureTimeout},
		{fmt.Errorf("read body: %w", syscall.ECONNRESET), CaptureReset},
		{io.ErrUnexpectedEOF, CaptureReset},
		{errors.New("prelude crc mismatch"), CaptureDecode},
	} {
		if got := CaptureKind(tc.err); got != tc.want {
			t.Errorf("CaptureKind(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
}

// TestSecretsNeverReachDisk records flows carrying secrets in every field
// that can hold them, then searches every file under the home directory.
func TestSecretsNeverReachDisk(t *testing.T) {
	const (
		accessToken  = "aoaAAAAAGhpZGRlbi1hY2Nlc3MtdG9rZW4tMDAx"
		refreshToken = "aorAAAAAGhpZGRlbi1yZWZyZXNoLXRva2VuLTAwMg"
		clientKey    = "kb-live-6f1d2c3b4a5e"
		clientSecret = "eyJraWQiOiJjbGllbnQtc2VjcmV0LTAwMyJ9"
		unknownToken = "unlisted-bearer-token-9f8e7d"
		password     = "hunter2-proxy-password"
	)
	known := []string{accessToken, refreshToken, clientKey, clientSecret}
	all := append(append([]string{}, known...), unknownToken, password)

	gdb, home := openDB(t)
	r := newTestRecorder(t, gdb, home, DefaultConfig(), options{fileMaxBytes: 2048})
	r.SetSecrets(known)
	stop := runRecorder(t, r)
	for i := range 20 {
		f := sampleFlow(i, time.Now())
		f.Path = "/v1/messages?beta=true&key=" + clientKey
		f.Headers = map[string]string{
			"Authorization": "Bearer " + clientKey,
			"X-Api-Key":     clientKey,
			"X-Note":        "forwarded " + accessToken,
		}
		f.ClientRequest = []byte(fmt.Sprintf(`{"model":"m","messages":[{"role":"user","content":"my key is %s, use Bearer %s"}],"metadata":{"refresh_token":"%s","password":"%s"}}`,
			clientKey, unknownToken, refreshToken, password))
		f.UpstreamRequest = []byte(fmt.Sprintf(`{"profileArn":"arn:aws:x","auth":{"accessToken":"%s","clientSecret":"%s"}}`, accessToken, clientSecret))
		f.Response = []byte("event: error\ndata: {\"error\":{\"message\":\"token " + refreshToken + " rejected\"}}\n\n")
		f.ErrorMessage = fmt.Sprintf(`refresh failed: {"refreshToken":"%s","clientSecret":"%s"}`, refreshToken, clientSecret)
		f.Attempts = []Attempt{{AccountID: "acct-a", Status: 403, Error: "bearer " + accessToken + " invalid"}}
		f.UpstreamEvents = append(f.UpstreamEvents, Event{Type: "exception", Payload: json.RawMessage(`{"message":"` + accessToken + `"}`)})
		f.Capture = &Capture{Kind: CaptureDecode, Bytes: []byte("\x00\x00garbage Bearer " + unknownToken + " " + accessToken), Note: "crc mismatch near " + clientKey}
		r.Record(f)
	}
	stop()

	// The diagnostic bundle is written under home too, and searched.
	code, _, errOut := run(t, gdb, home, BundleExtras{
		Secrets: known,
		Config:  map[string]any{"client_keys": []string{clientKey}, "proxy_password": password},
		AccountStatus: func(context.Context, string) (any, error) {
			return map[string]string{"refreshToken": refreshToken, "note": "uses " + clientSecret}, nil
		},
	}, "bundle", "flow-0003", "--out", filepath.Join(home, "bundle.zip"))
	if code != 0 {
		t.Fatalf("bundle: %s", errOut)
	}
	// Details must still be there, only without secrets.
	_, d, err := NewStore(gdb, home).Get(context.Background(), "flow-0003")
	if err != nil || d.ClientRequest == nil || !strings.Contains(string(d.ClientRequest.JSON), "my key is [REDACTED]") {
		t.Errorf("details = %+v, %v", d.ClientRequest, err)
	}

	checked := 0
	err = filepath.WalkDir(home, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, ".zip") {
			b = unzipAll(t, path)
		}
		checked++
		for _, s := range all {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s contains secret %.8s…", path, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 4 {
		t.Fatalf("only %d files searched", checked)
	}
}
