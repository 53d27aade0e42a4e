package dashboard

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/flows"
	"github.com/kirobar/kirobar/kiro"
	"github.com/kirobar/kirobar/kiro/eventstream"
	"github.com/kirobar/kirobar/kiro/models"
	"github.com/kirobar/kirobar/kiro/payload"
	"github.com/kirobar/kirobar/kiro/stream"
)

const (
	// speedPrompt asks for a short, steady answer: enough tokens to time
	// a throughput, few enough to cost little.
	speedPrompt = "Count from 1 to 30 in words, separated by spaces. Reply with nothing else."
	// speedMaxTokens caps what one speed test may spend.
	speedMaxTokens = 200
	// speedTimeout bounds one speed test.
	speedTimeout = 90 * time.Second
)

// speedResult is POST /api/accounts/{id}/speedtest: one tiny request
// through kirobar's request path, pinned to the account.
type speedResult struct {
	AccountID    string  `json:"account_id"`
	Model        string  `json:"model"`
	FlowID       string  `json:"flow_id,omitempty"`
	TTFBMS       float64 `json:"ttfb_ms"`
	TotalMS      float64 `json:"total_ms"`
	OutputTokens int     `json:"output_tokens"`
	Chars        int     `json:"chars"`
	TokensPerSec float64 `json:"tokens_per_s"`
	CharsPerSec  float64 `json:"chars_per_s"`
	Credits      float64 `json:"credits"`
	Error        string  `json:"error,omitempty"`
}

func (h *Handler) postSpeedTest(ctx *fasthttp.RequestCtx, p params) {
	v, ok := h.account(ctx, p)
	if !ok {
		return
	}
	if h.deps.Upstream == nil {
		writeError(ctx, fasthttp.StatusNotImplemented, "speed tests need the upstream client")
		return
	}
	sctx, cancel := context.WithTimeout(h.ctx, speedTimeout)
	defer cancel()
	// A failed test is still a result (the error is its finding), so it
	// answers 200 with error set.
	writeJSON(ctx, fasthttp.StatusOK, h.speedTest(sctx, v.ID))
}

// speedTest leases exactly the account, sends a tiny streamed request the
// way the server builds one, and times the first text and the whole
// answer. It releases the lease with the outcome, so the pool learns from
// it like from any request, and records the request as a flow.
func (h *Handler) speedTest(ctx context.Context, id string) (res speedResult) {
	model := h.deps.DefaultModel
	if model == "" {
		model = models.Default
	}
	res = speedResult{AccountID: id, Model: model}
	req := &canon.Request{
		Model: model, MaxTokens: speedMaxTokens, Stream: true,
		Messages: []canon.Message{{Role: "user", Content: canon.Content{{Type: "text", Text: speedPrompt}}}},
	}
	flow := &flows.Flow{
		Time: h.deps.Now(), KeyName: "dashboard", Surface: "speedtest", Path: "/api/accounts/" + id + "/speedtest",
		ClientModel: model, KiroModel: model, Stream: true, AccountID: id,
	}
	defer h.record(flow, &res)

	built, err := payload.Build(req, payload.Options{ModelID: model})
	if err != nil {
		res.Error = "build the request: " + err.Error()
		return res
	}
	lease, err := h.deps.Accounts.Acquire(ctx, accounts.AcquireRequest{AccountID: id, Model: model})
	if err != nil {
		res.Error = err.Error()
		return res
	}
	start := time.Now()
	resp, err := h.deps.Upstream.Send(ctx, lease.Credentials, built.ConversationState)
	if err != nil {
		h.deps.Accounts.Release(lease, accounts.Outcome{Err: err})
		res.Error = err.Error()
		flow.Attempts = []flows.Attempt{attempt(id, err, time.Since(start))}
		return res
	}
	flow.UpstreamRequest = resp.Sent
	conv := stream.New(stream.Options{InputEstimate: built.InputEstimate, ContextWindow: models.ContextWindow(model), Thinking: built.Thinking})
	text, first, cause := readSpeedStream(eventstream.NewDecoder(resp.Body), conv, start)
	_ = resp.Body.Close()
	total := time.Since(start)
	usage := conv.Usage()
	h.deps.Accounts.Release(lease, accounts.Outcome{
		Err: cause, Started: first > 0, Style: resp.Style,
		Credits: usage.Credits, InputTokens: usage.InputTokens, OutputTokens: usage.OutputTokens,
	})
	flow.Attempts = []flows.Attempt{attempt(id, cause, total)}
	flow.Response = []byte(text)
	flow.TTFB, flow.Duration = first, total
	flow.InputTokens, flow.OutputTokens, flow.Credits = usage.InputTokens, usage.OutputTokens, usage.Credits

	res.TTFBMS, res.TotalMS = ms(first), ms(total)
	res.OutputTokens, res.Chars, res.Credits = usage.OutputTokens, len([]rune(text)), usage.Credits
	if gen := total - first; first > 0 && gen > 0 {
		res.TokensPerSec = float64(usage.OutputTokens) / gen.Seconds()
		res.CharsPerSec = float64(res.Chars) / gen.Seconds()
	}
	if cause != nil {
		res.Error = cause.Error()
	}
	return res
}

// readSpeedStream reads the upstream answer to its end: the text, the
// time of its first character and the error that ended it, if any.
func readSpeedStream(dec *eventstream.Decoder, conv *stream.Converter, start time.Time) (text string, first time.Duration, cause error) {
	var out []byte
	note := func(evs []canon.Event) {
		for _, ev := range evs {
			switch {
			case ev.Kind == canon.BlockDelta && ev.Delta != "":
				if first == 0 {
					first = time.Since(start)
				}
				out = append(out, ev.Delta...)
			case ev.Kind == canon.Error && ev.Err != nil && cause == nil:
				cause = errors.New(ev.Err.Message)
			}
		}
	}
	for {
		msg, err := dec.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			note(conv.Finish(nil, err))
			if err != nil && cause == nil {
				cause = err
			}
			return string(out), first, cause
		}
		note(conv.Feed(nil, msg))
	}
}

func attempt(id string, err error, d time.Duration) flows.Attempt {
	a := flows.Attempt{AccountID: id, Status: 200, Duration: d}
	if err != nil {
		a.Error = err.Error()
		if ke, ok := kiro.AsError(err); ok {
			a.Status, a.ErrorClass = ke.Status, string(ke.Class)
		}
	}
	return a
}

// record hands the speed test's flow to the recorder, so the spent quota
// shows in Flows and Stats like any request.
func (h *Handler) record(f *flows.Flow, res *speedResult) {
	if h.deps.Recorder == nil {
		return
	}
	f.Status, f.HTTPStatus = flows.StatusCompleted, 200
	if res.Error != "" {
		f.Status, f.HTTPStatus = flows.StatusFailed, fasthttp.StatusBadGateway
		f.ErrorType, f.ErrorMessage = "api_error", res.Error
	}
	f.ID = newFlowID()
	res.FlowID = f.ID
	h.deps.Recorder.Record(f)
}

func newFlowID() string {
	tok, err := randomToken()
	if err != nil {
		return ""
	}
	return "speed_" + tok[:24]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
