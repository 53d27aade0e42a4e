package cli

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/kirobar/kirobar/flows"
)

// run runs Flows and returns its exit code, stdout and stderr.
func run(t *testing.T, gdb *gorm.DB, home string, extra flows.BundleExtras, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Flows(context.Background(), gdb, home, args, Env{Stdout: &out, Stderr: &errOut}, extra)
	return code, out.String(), errOut.String()
}

// recordMixed records a small, varied set of flows and returns their
// recording time.
func recordMixed(t *testing.T, gdb *gorm.DB, home string) time.Time {
	t.Helper()
	now := time.Now().Add(-time.Minute)
	r := newTestRecorder(t, gdb, home)
	stop := runRecorder(t, r)
	for i, ttfb := range []time.Duration{100, 200, 300, 400} {
		f := sampleFlow(i, now)
		f.TTFB = ttfb * time.Millisecond
		r.Record(f)
	}
	failed := sampleFlow(10, now)
	failed.AccountID = "acct-b"
	failed.KeyName = "ci"
	failed.ClientModel = "claude-opus-5-5"
	failed.KiroModel = "claude-opus-4.6"
	failed.Status = flows.StatusFailed
	failed.HTTPStatus = 502
	failed.TTFB = 0
	failed.OutputTokens = 0
	failed.Credits = 0
	failed.ErrorType = "api_error"
	failed.ErrorMessage = "upstream stream cut"
	failed.Retryable = true
	failed.Attempts = []flows.Attempt{
		{AccountID: "acct-a", Status: 429, ErrorClass: "throttled", Duration: 50 * time.Millisecond, Error: "rate exceeded"},
		{AccountID: "acct-b", Status: 200, ErrorClass: "stream", Duration: 2 * time.Second, Error: "unexpected EOF"},
	}
	failed.Capture = &flows.Capture{Kind: flows.CaptureReset, Bytes: []byte{0, 0, 1, 2, 0xff}, Note: "cut after 5 bytes"}
	r.Record(failed)
	stop()
	return now
}

func TestFlowsListShowStats(t *testing.T) {
	gdb, home := openDB(t)
	recordMixed(t, gdb, home)

	for _, tc := range []struct {
		name string
		args []string
		ids  []string
	}{
		{"all", []string{"list", "--json"}, []string{"flow-0010", "flow-0003", "flow-0002", "flow-0001", "flow-0000"}},
		{"failed", []string{"list", "--status", "failed", "--json"}, []string{"flow-0010"}},
		{"kiro model", []string{"list", "--json", "--model", "claude-opus-4.6"}, []string{"flow-0010"}},
		{"client model", []string{"list", "--json", "--model", "claude-sonnet-4-5", "--limit", "2"}, []string{"flow-0003", "flow-0002"}},
		{"account", []string{"list", "--account", "acct-b", "--json"}, []string{"flow-0010"}},
		{"since", []string{"list", "--since", "1s", "--json"}, nil},
		{"since days", []string{"list", "--since", "1d", "--json", "--key", "ci"}, []string{"flow-0010"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(t, gdb, home, flows.BundleExtras{}, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var rows []flows.Row
			if err := json.Unmarshal([]byte(out), &rows); err != nil {
				t.Fatalf("%v in %s", err, out)
			}
			var ids []string
			for _, r := range rows {
				ids = append(ids, r.ID)
			}
			if strings.Join(ids, ",") != strings.Join(tc.ids, ",") {
				t.Fatalf("ids = %v, want %v", ids, tc.ids)
			}
		})
	}

	code, out, _ := run(t, gdb, home, flows.BundleExtras{}, "list")
	if code != 0 || !strings.Contains(out, "flow-0010") || !strings.Contains(out, "claude-opus-5-5 -> claude-opus-4.6") ||
		!strings.Contains(out, "api_error upstream stream cut") {
		t.Fatalf("list output:\n%s", out)
	}

	code, out, errOut := run(t, gdb, home, flows.BundleExtras{}, "show", "flow-0010", "--json")
	if code != 0 {
		t.Fatalf("show: exit %d: %s", code, errOut)
	}
	var shown showJSON
	if err := json.Unmarshal([]byte(out), &shown); err != nil {
		t.Fatal(err)
	}
	if shown.Flow.Status != flows.StatusFailed || len(shown.Flow.Attempts) != 2 || shown.Flow.Attempts[0].ErrorClass != "throttled" ||
		shown.Flow.Attempts[1].DurationMS != 2000 || !shown.Flow.Retryable {
		t.Fatalf("flow = %+v", shown.Flow)
	}
	d := shown.Details
	if d == nil || d.ClientRequest == nil || d.Capture == nil {
		t.Fatalf("details = %+v", d)
	}
	var req map[string]any
	if err := json.Unmarshal(d.ClientRequest.JSON, &req); err != nil || req["model"] != "claude-sonnet-4-5" {
		t.Fatalf("client request = %s (%v)", d.ClientRequest.JSON, err)
	}
	if d.Capture.Kind != flows.CaptureReset || !bytes.Equal(d.Capture.Bytes, []byte{0, 0, 1, 2, 0xff}) {
		t.Fatalf("capture = %+v", d.Capture)
	}
	if len(d.UpstreamEvents) != 2 || d.UpstreamEvents[1].Type != "meteringEvent" || d.UpstreamEvents[1].AtMS != 900 {
		t.Fatalf("events = %+v", d.UpstreamEvents)
	}
	if d.Response == nil || !strings.Contains(d.Response.Text, "message_stop") {
		t.Fatalf("response = %+v", d.Response)
	}

	// A unique prefix is enough, and the human form names the attempts.
	code, out, _ = run(t, gdb, home, flows.BundleExtras{}, "show", "flow-001")
	if code != 0 || !strings.Contains(out, "attempt 2:") || !strings.Contains(out, "rate exceeded") ||
		!strings.Contains(out, `"kind": "reset"`) {
		t.Fatalf("show output:\n%s", out)
	}
	if code, _, errOut := run(t, gdb, home, flows.BundleExtras{}, "show", "flow-00"); code != ExitFailure ||
		!strings.Contains(errOut, "ambiguous") || !strings.Contains(errOut, "give more of the id") {
		t.Fatalf("ambiguous prefix: exit %d: %s", code, errOut)
	}
	if code, _, _ := run(t, gdb, home, flows.BundleExtras{}, "show", "nope"); code != ExitFailure {
		t.Fatalf("unknown id: exit %d", code)
	}

	code, out, errOut = run(t, gdb, home, flows.BundleExtras{}, "stats", "--since", "1h", "--json")
	if code != 0 {
		t.Fatalf("stats: exit %d: %s", code, errOut)
	}
	var st flows.Stats
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	want := flows.Group{Name: "all", Requests: 5, Failures: 1, TTFBP50MS: 200, TTFBP95MS: 400, InputTokens: 500, OutputTokens: 80, Credits: 1}
	if st.Total != want {
		t.Fatalf("total = %+v, want %+v", st.Total, want)
	}
	if len(st.Accounts) != 2 || st.Accounts[0].Name != "acct-a" || st.Accounts[0].Requests != 4 || st.Accounts[1].Failures != 1 {
		t.Fatalf("accounts = %+v", st.Accounts)
	}
	if len(st.Models) != 2 || st.Models[0].Name != "claude-sonnet-4.5" || len(st.Keys) != 2 || st.Keys[1].Name != "ci" {
		t.Fatalf("models = %+v keys = %+v", st.Models, st.Keys)
	}
	code, out, _ = run(t, gdb, home, flows.BundleExtras{}, "stats")
	if code != 0 || !strings.Contains(out, "acct-b") || !strings.Contains(out, "200ms") {
		t.Fatalf("stats output:\n%s", out)
	}

	code, out, _ = run(t, gdb, home, flows.BundleExtras{}, "usage", "--json")
	var usage []flows.UsageTotal
	if err := json.Unmarshal([]byte(out), &usage); code != 0 || err != nil {
		t.Fatalf("usage: exit %d, %v: %s", code, err, out)
	}
	var requests int64
	for _, u := range usage {
		requests += u.Requests
	}
	if len(usage) != 2 || requests != 5 {
		t.Fatalf("usage = %+v", usage)
	}

	for _, args := range [][]string{{}, {"frobnicate"}, {"list", "--since", "yesterday"}, {"show"}, {"list", "extra"}} {
		if code, _, _ := run(t, gdb, home, flows.BundleExtras{}, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for one writer and one reader.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestFlowsTailFollowsNewFlows(t *testing.T) {
	gdb, home := openDB(t)
	r := newTestRecorder(t, gdb, home)
	stop := runRecorder(t, r)
	defer stop()
	sub, unsubscribe := r.Subscribe()
	defer unsubscribe()

	r.Record(sampleFlow(1, time.Now()))
	<-sub

	ctx, cancel := context.WithCancel(context.Background())
	var out lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Flows(ctx, gdb, home, []string{"tail", "--json", "-n", "5"}, Env{Stdout: &out, Stderr: io.Discard}, flows.BundleExtras{})
	}()

	waitFor(t, func() bool { return strings.Contains(out.String(), "flow-0001") })
	r.Record(sampleFlow(2, time.Now()))
	waitFor(t, func() bool { return strings.Contains(out.String(), "flow-0002") })
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("tail exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("tail printed %d lines:\n%s", len(lines), out.String())
	}
}

// waitFor polls cond until it holds; the deadline only guards against a
// hang, it asserts nothing about speed.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestFlowsBundle(t *testing.T) {
	gdb, home := openDB(t)
	recordMixed(t, gdb, home)
	type keyConfig struct{ Name, Key string }
	extra := flows.BundleExtras{
		Version: "kirobar 1.2.3",
		Config: map[string]any{
			"listen":      "127.0.0.1:8317",
			"client_keys": []keyConfig{{Name: "laptop", Key: "kb-live-laptop-key-0001"}},
			"proxy":       map[string]any{"url": "http://user:pw@proxy", "password": "proxy-password-77"},
		},
		AccountStatus: func(ctx context.Context, id string) (any, error) {
			return map[string]any{"id": id, "healthy": false, "accessToken": "aoa-account-token-xyz"}, nil
		},
		Secrets: []string{"kb-live-laptop-key-0001"},
	}
	out := filepath.Join(t.TempDir(), "bundle.zip")
	code, stdout, errOut := run(t, gdb, home, extra, "bundle", "flow-0010", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(stdout, out) {
		t.Fatalf("stdout = %q", stdout)
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	files := map[string]string{}
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
		files[f.Name] = string(b)
	}
	for _, name := range []string{"README.txt", "flow.json", "details.json", "account.json", "config.json"} {
		if files[name] == "" {
			t.Fatalf("bundle lacks %s; has %v", name, len(files))
		}
	}
	all := strings.Join([]string{files["README.txt"], files["flow.json"], files["details.json"], files["account.json"], files["config.json"]}, "\n")
	for _, secret := range []string{"kb-live-laptop-key-0001", "proxy-password-77", "aoa-account-token-xyz"} {
		if strings.Contains(all, secret) {
			t.Errorf("bundle contains %q", secret)
		}
	}
	for _, want := range []string{"kirobar 1.2.3", `"healthy": false`, `"Name": "laptop"`, "127.0.0.1:8317", `"kind": "reset"`} {
		if !strings.Contains(all, want) {
			t.Errorf("bundle lacks %q", want)
		}
	}
}

// TestFlowsEscapes: a model name carrying ESC[2J and an OSC 52 clipboard
// write is printed escaped by list, show, tail and stats, and JSON stays
// JSON.
func TestFlowsEscapes(t *testing.T) {
	gdb, home := openDB(t)
	r := newTestRecorder(t, gdb, home)
	stop := runRecorder(t, r)
	evil := "claude\x1b[2J\x1b]52;c;aGk=\x07\u009b31m"
	f := sampleFlow(1, time.Now())
	f.ClientModel, f.ErrorMessage, f.KeyName = evil, "upstream said "+evil, evil
	r.Record(f)
	stop()
	for _, args := range [][]string{{"list"}, {"show", "flow-0001"}, {"stats"}, {"usage"}, {"list", "--json"}, {"show", "flow-0001", "--json"}, {"show", "nope\x1b[2J"}} {
		code, out, errOut := run(t, gdb, home, flows.BundleExtras{}, args...)
		all := out + errOut
		if strings.ContainsAny(all, "\x1b\x07") || strings.Contains(all, "\u009b") {
			t.Fatalf("%v printed a raw escape:\n%q", args, all)
		}
		if code == ExitOK && !strings.Contains(all, `[2J`) {
			t.Fatalf("%v does not show the model name:\n%s", args, all)
		}
		if strings.HasSuffix(args[len(args)-1], "--json") {
			var v any
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatalf("%v is no longer JSON: %v\n%s", args, err, out)
			}
		}
	}
}
