package server

import (
	"context"
	"errors"
	"time"

	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/flows"
	"github.com/kirobar/kirobar/kiro/models"
)

const (
	// speedPrompt asks for a short, steady answer: enough tokens to time a
	// throughput, few enough to cost little.
	speedPrompt = "Count from 1 to 30 in words, separated by spaces. Reply with nothing else."
	// speedMaxTokens caps what one speed test may spend.
	speedMaxTokens = 200
)

// SpeedResult is one timed request pinned to an account.
type SpeedResult struct {
	AccountID string
	Model     string
	FlowID    string
	// TTFB is the time to the first text; Total to the end of the answer.
	TTFB, Total  time.Duration
	OutputTokens int
	Chars        int
	Credits      float64
	// Err is why the test failed, if it did; a failed test is still a
	// result (the error is its finding).
	Err error
}

// SpeedTest sends one tiny streamed request to exactly one account and
// times its answer. It takes the same path as every client request —
// payload build and size guard, lease, send, frame-damage check, token
// refresh or profile resolution and retry on that account, release, flow
// record — so what it measures is what clients get.
func (s *Server) SpeedTest(ctx context.Context, accountID string) SpeedResult {
	model := s.deps.DefaultModel
	if model == "" {
		model = models.Default
	}
	res := SpeedResult{AccountID: accountID, Model: model}
	start := time.Now()
	c := &call{surf: surfAnthropic, keyName: "dashboard", path: "/api/accounts/" + accountID + "/speedtest", start: start, pin: accountID, id: newID("speed_")}
	c.req = &canon.Request{
		Model: model, MaxTokens: speedMaxTokens, Stream: true,
		Messages: []canon.Message{{Role: "user", Content: canon.Content{{Type: "text", Text: speedPrompt}}}},
	}
	if s.deps.Flows != nil {
		c.flow = &flows.Flow{ID: c.id, Time: start.UTC(), KeyName: c.keyName, Surface: "speedtest", Path: c.path, ClientModel: model, Stream: true}
		res.FlowID = c.id
	}
	if ae := s.prepare(c); ae != nil {
		s.finish(c, nil, ae, nil)
		res.Err = ae
		return res
	}
	s.active.add()
	defer s.active.done()
	reqCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	u, err := s.open(reqCtx, c)
	if err != nil {
		ae := mapError(err, c.built.InputEstimate, c.window)
		s.finish(c, nil, ae, nil)
		res.Err = ae
		return res
	}
	var text []byte
	var failed *canon.StreamError
	for more := true; more; {
		var evs []canon.Event
		evs, more = u.next()
		for _, ev := range evs {
			switch {
			case ev.Kind == canon.BlockDelta && ev.Block == canon.TextBlock && ev.Delta != "":
				if res.TTFB == 0 {
					res.TTFB = time.Since(start)
				}
				text = append(text, ev.Delta...)
			case ev.Kind == canon.Error && failed == nil:
				failed = ev.Err
			}
		}
	}
	u.close()
	res.Total = time.Since(start)
	var ae *apiError
	if failed != nil {
		ae = &apiError{Status: 200, Type: failed.Type, Message: failed.Message, Class: "stream"}
		res.Err = errors.New(failed.Message)
	}
	usage := u.conv.Usage()
	res.OutputTokens, res.Chars, res.Credits = usage.OutputTokens, len([]rune(string(text))), usage.Credits
	s.finish(c, u, ae, text)
	return res
}
