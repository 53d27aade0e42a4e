package dashboard

import (
	"context"
	"time"

	"github.com/valyala/fasthttp"
)

// speedTimeout bounds one speed test.
const speedTimeout = 90 * time.Second

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
	if !h.deps.Server.Running() {
		writeError(ctx, fasthttp.StatusServiceUnavailable, "the proxy is stopped; start it to run a speed test")
		return
	}
	sctx, cancel := context.WithTimeout(h.ctx, speedTimeout)
	defer cancel()
	r := h.deps.Server.SpeedTest(sctx, v.ID)
	res := speedResult{
		AccountID: r.AccountID, Model: r.Model, FlowID: r.FlowID,
		TTFBMS: ms(r.TTFB), TotalMS: ms(r.Total),
		OutputTokens: r.OutputTokens, Chars: r.Chars, Credits: r.Credits,
	}
	if gen := r.Total - r.TTFB; r.TTFB > 0 && gen > 0 {
		res.TokensPerSec = float64(r.OutputTokens) / gen.Seconds()
		res.CharsPerSec = float64(r.Chars) / gen.Seconds()
	}
	if r.Err != nil {
		res.Error = r.Err.Error()
	}
	// A failed test is still a result (the error is its finding), so it
	// answers 200 with error set.
	writeJSON(ctx, fasthttp.StatusOK, res)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
