package flows_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/flows"
	kdb "github.com/kirobar/kirobar/internal/db"
	"github.com/kirobar/kirobar/internal/testkit/fixtures"
	"github.com/kirobar/kirobar/internal/testkit/kirofake"
	"github.com/kirobar/kirobar/kiro/models"
	"github.com/kirobar/kirobar/kiro/payload"
	"github.com/kirobar/kirobar/server/anthropic"
	"github.com/kirobar/kirobar/server/openai"
	"gorm.io/gorm"
)

// maxPayloadBytes is kirobar's default server.max_payload_kb in bytes, as
// the server passes it to payload.Build: a long session's Kiro body drops
// its oldest turns to fit, as it does in production.
const maxPayloadBytes = 600 * 1000

// agentSession is a replayable agent workload: every flow kirobar records
// for a session, as the server fills them.
type agentSession struct {
	name  string
	flows []*flows.Flow
}

// sessions are the workloads: a 200-turn Claude Code session with
// tool results and a 100-turn Codex session (40 turns each under the race
// detector, which would take minutes over the whole ones).
func sessions(tb testing.TB) []agentSession {
	tb.Helper()
	claude, codex := 200, 100
	if raceEnabled {
		claude, codex = 40, 40
	}
	cc, err := fixtures.ClaudeCodeSession(claude)
	if err != nil {
		tb.Fatal(err)
	}
	cx, err := fixtures.CodexSession(codex)
	if err != nil {
		tb.Fatal(err)
	}
	return []agentSession{
		{fmt.Sprintf("claude-code-%d", claude), sessionFlows(tb, "anthropic", cc)},
		{fmt.Sprintf("codex-%d", codex), sessionFlows(tb, "responses", cx)},
	}
}

// sessionFlows turns a session's requests into the flows the server
// records for them: the client body, the Kiro body kirobar's builder
// makes of it (wrapped as kiro.Client sends it), the SSE the surface's
// encoder writes for the answer, and the upstream events of that answer
// as Kiro streams them.
func sessionFlows(tb testing.TB, surface string, turns []fixtures.Turn) []*flows.Flow {
	tb.Helper()
	start := time.Now().Add(-time.Hour)
	out := make([]*flows.Flow, 0, len(turns))
	for i, turn := range turns {
		var (
			req *canon.Request
			err error
		)
		if surface == "anthropic" {
			req, err = anthropic.Decode(turn.Request)
		} else {
			req, _, err = openai.DecodeResponses(turn.Request)
		}
		if err != nil {
			tb.Fatalf("turn %d: %v", i, err)
		}
		id, ok := models.NewResolver(models.DefaultAliases()).Resolve(req.Model)
		if !ok {
			id = models.Default
		}
		built, err := payload.Build(req, payload.Options{ModelID: id, MaxPayloadBytes: maxPayloadBytes})
		if err != nil {
			tb.Fatalf("turn %d: %v", i, err)
		}
		arn, _ := json.Marshal(kirofake.DefaultProfileARN)
		kiroBody := append(append(append([]byte(`{"conversationState":`), built.ConversationState...), `,"profileArn":`...), arn...)
		kiroBody = append(kiroBody, '}')

		canonical := answer(turn)
		var sse []byte
		if surface == "anthropic" {
			s := anthropic.NewStream(fmt.Sprintf("msg_%024d", i), req.Model, 1000)
			sse = s.Begin(sse)
			for _, ev := range canonical {
				sse = s.Event(sse, ev)
			}
		} else {
			s := openai.NewResponsesStream(fmt.Sprintf("resp_%024d", i), req.Model, start.Unix(), openai.ResponsesOptions{Stream: true})
			sse = s.Begin(sse)
			for _, ev := range canonical {
				sse = s.Event(sse, ev)
			}
		}
		var events []flows.Event
		kev := append(kirofake.Text(turn.Text, 12), kirofake.ToolCall(turn.ToolID, turn.ToolName, turn.ToolInput, 6)...)
		kev = append(kev, kirofake.Metering(0.04), kirofake.ContextUsage(float64(i)/4))
		for j, ev := range kev {
			p, _ := json.Marshal(ev.Payload)
			events = append(events, flows.Event{Type: ev.Type, Payload: p, At: time.Duration(300+40*j) * time.Millisecond})
		}
		out = append(out, &flows.Flow{
			ID:              fmt.Sprintf("%s-%04d", surface, i),
			Time:            start.Add(time.Duration(i) * 20 * time.Second),
			KeyName:         "laptop",
			Surface:         surface,
			Path:            "/v1/messages",
			ClientModel:     req.Model,
			KiroModel:       id,
			Stream:          true,
			AccountID:       "acct-a",
			Attempts:        []flows.Attempt{{AccountID: "acct-a", Status: 200, Duration: 3 * time.Second}},
			Status:          flows.StatusCompleted,
			HTTPStatus:      200,
			TTFB:            800 * time.Millisecond,
			Duration:        3 * time.Second,
			InputTokens:     len(turn.Request) / 4,
			OutputTokens:    120,
			Credits:         0.04,
			StopReason:      canon.StopToolUse,
			Headers:         map[string]string{"anthropic-version": "2023-06-01", "user-agent": "claude-cli/2.1.328 (external, sdk-cli)", "x-api-key": "kb-live-0123456789abcdef"},
			ClientRequest:   turn.Request,
			UpstreamRequest: kiroBody,
			Response:        sse,
			UpstreamEvents:  events,
		})
	}
	return out
}

// answer is the canonical stream of one turn's answer: its text, then its
// tool call in fragments, then the end of the message.
func answer(turn fixtures.Turn) []canon.Event {
	evs := []canon.Event{{Kind: canon.BlockStart, Index: 0, Block: canon.TextBlock}}
	for i := 0; i < len(turn.Text); i += 24 {
		evs = append(evs, canon.Event{Kind: canon.BlockDelta, Index: 0, Block: canon.TextBlock, Delta: turn.Text[i:min(i+24, len(turn.Text))]})
	}
	evs = append(evs, canon.Event{Kind: canon.BlockStop, Index: 0, Block: canon.TextBlock},
		canon.Event{Kind: canon.BlockStart, Index: 1, Block: canon.ToolUseBlock, ID: turn.ToolID, Name: turn.ToolName})
	for i := 0; i < len(turn.ToolInput); i += 16 {
		evs = append(evs, canon.Event{Kind: canon.BlockDelta, Index: 1, Block: canon.ToolUseBlock, Delta: turn.ToolInput[i:min(i+16, len(turn.ToolInput))]})
	}
	return append(evs, canon.Event{Kind: canon.BlockStop, Index: 1, Block: canon.ToolUseBlock},
		canon.Event{Kind: canon.MessageStop, StopReason: canon.StopToolUse, Usage: canon.Usage{InputTokens: 40000, OutputTokens: 120, Credits: 0.04}})
}

// replayResult is what recording one session cost.
type replayResult struct {
	flows    int
	files    int64 // bytes of detail files
	db       int64 // bytes of kirobar.db after a checkpoint
	pieces   int64 // bytes of body pieces, as max_total_mb counts them
	cpu      time.Duration
	home     string
	database *gorm.DB
}

// replay records fl one at a time, as sequential agent turns arrive,
// through a real recorder into a fresh home, and measures the bytes on
// disk and the process CPU time spent from the first Record to the last
// row stored.
func replay(tb testing.TB, fl []*flows.Flow) replayResult {
	tb.Helper()
	home := tb.TempDir()
	gdb, err := kdb.Open(filepath.Join(home, "kirobar.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = kdb.Close(gdb) })
	r, err := flows.NewRecorder(gdb, home, flows.DefaultConfig(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	r.SetSecrets([]string{"kb-live-0123456789abcdef"})
	rows, unsubscribe := r.Subscribe()
	defer unsubscribe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	before := cpuTime(tb)
	for _, f := range fl {
		cp := *f
		r.Record(&cp)
		select {
		case <-rows:
		case <-time.After(30 * time.Second):
			tb.Fatal("flow not stored in 30 s")
		}
	}
	if err := r.Close(); err != nil {
		tb.Fatal(err)
	}
	cpu := cpuTime(tb) - before
	cancel()
	if err := <-done; err != nil {
		tb.Fatal(err)
	}
	if err := gdb.Exec("PRAGMA wal_checkpoint(TRUNCATE)").Error; err != nil {
		tb.Fatal(err)
	}
	res := replayResult{flows: len(fl), cpu: cpu, home: home, database: gdb}
	res.files = treeSize(tb, filepath.Join(home, "flows"))
	var has int64
	gdb.Raw("SELECT COUNT(*) FROM sqlite_master WHERE name = 'flow_pieces'").Scan(&has)
	if has > 0 {
		if err := gdb.Raw("SELECT COALESCE(SUM(size), 0) FROM flow_pieces").Scan(&res.pieces).Error; err != nil {
			tb.Fatal(err)
		}
	}
	for _, name := range []string{"kirobar.db", "kirobar.db-wal"} {
		if info, err := os.Stat(filepath.Join(home, name)); err == nil {
			res.db += info.Size()
		}
	}
	return res
}

// treeSize sums the sizes of the files under dir.
func treeSize(tb testing.TB, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n += info.Size()
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// BenchmarkAgentSession records whole agent sessions and reports, per
// flow, the bytes on disk (detail files, kirobar.db with the index and
// the pieces), the bytes max_total_mb counts (files and pieces), and the
// recorder's CPU time. Run it once per session: go test -run '^$' -bench
// AgentSession -benchtime 1x ./flows/
func BenchmarkAgentSession(b *testing.B) {
	for _, s := range sessions(b) {
		b.Run(s.name, func(b *testing.B) {
			var last replayResult
			for b.Loop() {
				last = replay(b, s.flows)
			}
			n := float64(last.flows)
			b.ReportMetric(float64(last.files)/n, "file-B/flow")
			b.ReportMetric(float64(last.db)/n, "db-B/flow")
			b.ReportMetric(float64(last.files+last.db)/n, "disk-B/flow")
			b.ReportMetric(float64(last.files+last.pieces)/n, "capped-B/flow")
			b.ReportMetric(float64(last.files+last.db)/(1<<20), "disk-MB/session")
			b.ReportMetric(float64(last.cpu.Microseconds())/n, "cpu-µs/flow")
		})
	}
}

// BenchmarkAgentSessionGet reads back the last, largest flow of each
// session, as flows show and the dashboard do: the index row, the line,
// and both request bodies rebuilt from their pieces and checked.
func BenchmarkAgentSessionGet(b *testing.B) {
	for _, s := range sessions(b) {
		b.Run(s.name, func(b *testing.B) {
			res := replay(b, s.flows)
			st := flows.NewStore(res.database, res.home)
			last := s.flows[len(s.flows)-1]
			for b.Loop() {
				_, d, err := st.Get(context.Background(), last.ID)
				if err != nil {
					b.Fatal(err)
				}
				if len(d.ClientRequest.JSON) != len(last.ClientRequest) {
					b.Fatalf("rebuilt %d bytes, want %d", len(d.ClientRequest.JSON), len(last.ClientRequest))
				}
			}
		})
	}
}

// TestAgentSessionStorage replays the agent sessions and checks what the
// issue asks of them: every flow reads back with both request bodies byte
// for byte as sent, and the sessions take at least ten times less disk
// per flow than the same flows with their bodies inline (what earlier
// kirobar versions wrote: the same details as one JSON line each).
func TestAgentSessionStorage(t *testing.T) {
	for _, s := range sessions(t) {
		res := replay(t, s.flows)
		st := flows.NewStore(res.database, res.home)
		var inline int64
		for _, f := range s.flows {
			_, d, err := st.Get(context.Background(), f.ID)
			if err != nil {
				t.Fatal(err)
			}
			if string(d.ClientRequest.JSON) != string(f.ClientRequest) || string(d.UpstreamRequest.JSON) != string(f.UpstreamRequest) {
				t.Fatalf("%s: flow %s does not read back byte for byte", s.name, f.ID)
			}
			line, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			inline += int64(len(line)) + 1
		}
		stored := res.files + res.db
		t.Logf("%s: %d flows, %d bytes inline, %d stored (files %d, kirobar.db %d): %.0fx less",
			s.name, len(s.flows), inline, stored, res.files, res.db, float64(inline)/float64(stored))
		if stored*10 > inline {
			t.Fatalf("%s: %d bytes stored for %d inline: less than 10x saved", s.name, stored, inline)
		}
	}
}
