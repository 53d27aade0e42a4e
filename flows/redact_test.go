package flows

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
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
			b := rd.body(nil, []byte(tc.in), len(tc.in), limit)
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
	archive, _, err := Bundle(context.Background(), NewStore(gdb, home), "flow-0003", BundleExtras{
		Secrets: known,
		Config:  map[string]any{"client_keys": []string{clientKey}, "proxy_password": password},
		AccountStatus: func(context.Context, string) (any, error) {
			return map[string]string{"refreshToken": refreshToken, "note": "uses " + clientSecret}, nil
		},
	}, time.Now())
	if err != nil {
		t.Fatalf("bundle: %v", err)
	}
	if err := os.WriteFile(filepath.Join(home, "bundle.zip"), archive, 0o600); err != nil {
		t.Fatal(err)
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

// FuzzRedactJSON checks the single-pass body scanner against the decoded
// tree walk it replaced: it accepts exactly the bodies encoding/json
// accepts, writes valid JSON, leaves no known secret in any spelling, and
// where the walk changes nothing the scanner changes nothing either.
func FuzzRedactJSON(f *testing.F) {
	secrets := []string{"kb-live-123456", "aoaSECRET/token"}
	for _, seed := range []string{
		`{"messages":[{"role":"user","content":"kb-live-123456 and Bearer xyz"}],"max_tokens":5}`,
		`{"source":{"bytes":"iVBORw0KGgo="},"format":"png","n":[1.5e3,-0,true,null]}`,
		`{"data":"iVBORw0KGgo=","type":"base64","media_type":"image/png"}`,
		`{"text":"aoaSECRET\/token","k\u0065y":"x","accessToken":12,"s":"\ud83d\ude00 \u2028"}`,
		`{"error":"{\"refreshToken\":\"r1\"} url?a=1&client_secret=z"}`,
		`["data:image/png;base64,AAAA", "x=1", {"api_key": {"nested": "kept"}}]`,
		"{\"bad\":\"\xff\"}", `{"a":01}`, `{"a":"\x"}`, ` [ ] `, `"\u00e9"`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rd := newRedactor(secrets)
		out, ok := rd.redactJSON(nil, body)
		tree, treeOK := decodeJSON(body)
		if ok != treeOK {
			t.Fatalf("scanner ok=%v, encoding/json ok=%v for %q", ok, treeOK, body)
		}
		if !ok {
			return
		}
		// Numbers stay as written (json.Number): a huge one is valid JSON.
		got, valid := decodeJSON(out)
		if !valid {
			t.Fatalf("invalid output %q for %q", out, body)
		}
		plain, _ := json.Marshal(got)
		for _, s := range secrets {
			if bytes.Contains(out, []byte(s)) || bytes.Contains(plain, []byte(s)) {
				t.Fatalf("secret %q in %q", s, out)
			}
		}
		walked, err := marshalJSON(rd.value(tree))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := decodeJSON(walked)
		orig, _ := decodeJSON(body)
		// Where the walk left the body alone, so must the scanner.
		if reflect.DeepEqual(want, orig) && !reflect.DeepEqual(got, orig) {
			t.Fatalf("scanner changed %q into %q", body, out)
		}
		// Whatever the walk redacted, the scanner redacted too.
		if !reflect.DeepEqual(want, orig) && reflect.DeepEqual(got, orig) {
			t.Fatalf("scanner left %q as is; the walk gave %q", body, walked)
		}
	})
}

// TestRedactJSONMatchesWalk compares the scanner with the decoded walk on
// the bodies kirobar records: the same result, token for token.
func TestRedactJSONMatchesWalk(t *testing.T) {
	png := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 100))
	rd := newRedactor([]string{"secret-value-42", "aoa/slash+token"})
	for _, in := range []string{
		`{"model":"m","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"question 1\nline \"two\" é"}]}`,
		`{"type":"image","source":{"data":"` + png + `","type":"base64","media_type":"image/png"}}`,
		`{"images":[{"source":{"bytes":"` + png + `"},"format":"jpeg"}],"format":"x"}`,
		`{"images":[{"format":"png","source":{"bytes":"` + strings.ReplaceAll(png, "/", `\/`) + `"}}]}`,
		`{"a":{"data":"` + png + `","media_type":"image/gif","source":{"bytes":"` + png + `"},"format":"png"}}`,
		`{"note":"uses aoa\/slash+token and secret-value-42","Authorization":"Bearer x","tool":{"token":{"type":"string"}}}`,
		`{"content":"call with Bearer\tabc.def and refresh_token=zz&x=1","id_token":"i"}`,
		`{"message":"{\"accessToken\":\"aoa\\\"x\",\"other\":1}"}`,
		`{"url":"data:image/webp;base64,` + png + `","n":-1.25e-3}`,
	} {
		out, ok := rd.redactJSON(nil, []byte(in))
		if !ok {
			t.Fatalf("scanner rejected %s", in)
		}
		tree, _ := decodeJSON([]byte(in))
		walked, _ := marshalJSON(rd.value(tree))
		var got, want any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("invalid output %s: %v", out, err)
		}
		_ = json.Unmarshal(walked, &want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("scanner:\n%s\nwalk:\n%s", out, walked)
		}
	}
}

// TestDetailsLineMatchesEncodingJSON pins the hand-written details line
// to what encoding/json writes for the same Details, byte for byte, so
// every reader of the files (Store.Get, the dashboard, flows show) sees
// the format it always did.
func TestDetailsLineMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 11, 22, 3, 4, 5, 123456789, time.UTC)
	for _, tc := range []struct {
		name string
		d    Details
	}{
		{"stub", Details{ID: "f1", Time: at, Note: "details withheld"}},
		{"full", Details{
			ID: "f2\"<x>", Time: at.Add(-time.Nanosecond * 123456789),
			Headers:         map[string]string{"b": "2", "a": "é\u2028\x01", "Authorization": redacted},
			ClientRequest:   &Body{Size: 10, JSON: json.RawMessage(`{"a":[1,2.5e-7,"x\n"]}`)},
			UpstreamRequest: &Body{Size: 3000, Text: "cut \"text\"\t\xff", Note: "capped at max_body_kb: kept 8 of 3000 bytes"},
			Response:        &Body{Size: 1, Text: "x"},
			UpstreamEvents: []EventRecord{
				{Type: "assistantResponseEvent", AtMS: 0.001, Payload: json.RawMessage(`{"content":"Hi"}`)},
				{Type: "x", AtMS: 1234.5, Text: "not json", Note: "n"},
				{Type: "y", AtMS: 0},
			},
			EventsOmitted: 3,
			Capture:       &CaptureRecord{Kind: CaptureDecode, Size: 4, Bytes: []byte{0, 1, 2, 255}, Note: "crc"},
		}},
		{"nil capture bytes", Details{ID: "f3", Time: at, Capture: &CaptureRecord{Kind: CaptureReset}}},
		{"notes", Details{ID: "f4", Time: at, Notes: []string{"image scaled down from png 2880×1800", "stream cut: \"x\"\n"}, Note: "n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := marshalJSON(tc.d)
			if err != nil {
				t.Fatal(err)
			}
			got, err := appendDetails(nil, &tc.d)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("appendDetails:\n%s\nencoding/json:\n%s", got, want)
			}
		})
	}
}

// TestFinder checks the rare-byte secret search against bytes.Index.
func TestFinder(t *testing.T) {
	for _, tc := range []struct{ secret, text string }{
		{"aoaAAAAAGhpZGRl", "xx aoaAAAAAGhpZGRl yy"},
		{"aoaAAAAAGhpZGRl", "aoaAAAAAGhpZGR aoaAAAAAGhpZGRl"},
		{"aoaAAAAAGhpZGRl", "aoaAAAAAGhpZGR"},
		{"abcd", "abcd"},
		{"abcd", "xabcabcdx"},
		{"Zabc", "abcZab"},
		{"eeee", "eeeeeeeeee"},
	} {
		f := newFinder(tc.secret)
		for from := 0; from <= len(tc.text); from++ {
			want := bytes.Index([]byte(tc.text[from:]), []byte(tc.secret))
			if want >= 0 {
				want += from
			}
			if got := f.index([]byte(tc.text), from); got != want {
				t.Errorf("index(%q in %q from %d) = %d, want %d", tc.secret, tc.text, from, got, want)
			}
		}
	}
}

// TestIndexFold checks the case-insensitive word search.
func TestIndexFold(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want int
	}{
		{"", -1}, {"bearer", 0}, {"xBeArEr", 1}, {"bbbbBEARER", 4}, {"bearebearer", 5},
		{"a b B bea BEARE", -1}, {"Bb bearer", 3}, {"bearbBearer", 5},
	} {
		if got := indexFold([]byte(tc.s), "bearer"); got != tc.want {
			t.Errorf("indexFold(%q) = %d, want %d", tc.s, got, tc.want)
		}
	}
}

// TestRowTextCapped checks that index-row error texts are redacted before
// they are cut to maxRowText, so a secret at the cut is never half kept.
func TestRowTextCapped(t *testing.T) {
	const secret = "aoa-secret-at-the-cut-42"
	rd := newRedactor([]string{secret})
	for _, tc := range []struct {
		name, in string
		wantLen  int
	}{
		{"short", "upstream said no", len("upstream said no")},
		{"long", strings.Repeat("e", maxRowText-5) + secret + strings.Repeat("f", 5000), maxRowText + len("…")},
	} {
		got := rowText(rd, tc.in)
		if len(got) != tc.wantLen || strings.Contains(got, secret[:6]) {
			t.Errorf("%s: %d bytes, want %d; ends %q", tc.name, len(got), tc.wantLen, got[max(0, len(got)-20):])
		}
	}
}

// unzipAll returns the concatenated contents of every file in a zip.
func unzipAll(t *testing.T, path string) []byte {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var all []byte
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}
