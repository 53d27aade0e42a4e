package stream

import (
	"encoding/json"
	"math"

	"github.com/kirobar/kirobar/internal/canon"
)

// dedupeMinLen is the shortest content whose exact, immediate repeat is
// treated as an upstream duplicate and dropped. Kiro's duplicated events
// repeat whole multi-token chunks; shorter repeats are usually real output
// (indentation, newlines, repeated words), so they are kept.
const dedupeMinLen = 32

// contentPayload is an assistantResponseEvent or reasoningContentEvent
// payload. Reasoning text arrives as "text" from some deployments and as
// "content" from others; both are read.
type contentPayload struct {
	Content        string          `json:"content"`
	Text           string          `json:"text"`
	FollowupPrompt json.RawMessage `json:"followupPrompt"`
}

func (c *Converter) assistantResponse(dst []canon.Event, payload []byte) []canon.Event {
	var p contentPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		// A frame that passed the CRC check but carries no JSON object has
		// nothing to show; it is skipped like an unknown event.
		return dst
	}
	if len(p.FollowupPrompt) > 0 && string(p.FollowupPrompt) != "null" {
		return dst // a UI suggestion, not part of the answer
	}
	s := p.Content
	if s == "" {
		return dst
	}
	if len(s) >= dedupeMinLen && s == c.lastContent {
		return dst
	}
	c.lastContent = s
	// The model moved on from any tool call still waiting for stop:true.
	dst = c.settleTools(dst, true)
	if !c.opt.Thinking {
		return c.emitModel(dst, canon.TextBlock, s)
	}
	return c.thinkText(dst, s)
}

// reasoning handles native reasoningContentEvent text: a thinking block.
func (c *Converter) reasoning(dst []canon.Event, payload []byte) []canon.Event {
	var p contentPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return dst
	}
	s := p.Text
	if s == "" {
		s = p.Content
	}
	if s == "" {
		return dst
	}
	dst = c.settleTools(dst, true)
	return c.emitModel(dst, canon.ThinkingBlock, s)
}

type meteringPayload struct {
	Usage float64 `json:"usage"`
}

func (c *Converter) metering(payload []byte) {
	var p meteringPayload
	if err := json.Unmarshal(payload, &p); err != nil || !finite(p.Usage) {
		return
	}
	c.usage.Credits += p.Usage
}

type contextUsagePayload struct {
	Percent *float64 `json:"contextUsagePercentage"`
}

// contextUsage records how full the context is; with a known context window
// it gives the input tokens (unless exact counts arrived).
func (c *Converter) contextUsage(payload []byte) {
	var p contextUsagePayload
	if err := json.Unmarshal(payload, &p); err != nil || p.Percent == nil || !finite(*p.Percent) || *p.Percent < 0 {
		return
	}
	pct := *p.Percent
	c.usage.ContextPercent = pct
	if c.inputFromMD || c.opt.ContextWindow <= 0 {
		return
	}
	tokens := math.Round(pct / 100 * float64(c.opt.ContextWindow))
	if tokens > math.MaxInt32 {
		tokens = math.MaxInt32
	}
	c.usage.InputTokens = int(tokens)
	c.usage.InputExact = true
}

type metadataPayload struct {
	TokenUsage *struct {
		InputTokens           *int `json:"inputTokens"`
		UncachedInputTokens   *int `json:"uncachedInputTokens"`
		CacheReadInputTokens  *int `json:"cacheReadInputTokens"`
		CacheWriteInputTokens *int `json:"cacheWriteInputTokens"`
		OutputTokens          *int `json:"outputTokens"`
	} `json:"tokenUsage"`
}

// metadata takes real token counts from messageMetadataEvent/metadataEvent;
// they win over the contextUsage-derived input and the output estimate.
func (c *Converter) metadata(payload []byte) {
	var p metadataPayload
	if err := json.Unmarshal(payload, &p); err != nil || p.TokenUsage == nil {
		return
	}
	tu := p.TokenUsage
	if tu.OutputTokens != nil && *tu.OutputTokens >= 0 {
		c.usage.OutputTokens = *tu.OutputTokens
		c.outputExact = true
	}
	in, ok := 0, false
	if tu.InputTokens != nil && *tu.InputTokens >= 0 {
		in, ok = *tu.InputTokens, true
	} else {
		for _, v := range []*int{tu.UncachedInputTokens, tu.CacheReadInputTokens, tu.CacheWriteInputTokens} {
			if v != nil && *v >= 0 {
				in, ok = in+*v, true
			}
		}
	}
	if ok {
		c.usage.InputTokens, c.usage.InputExact = in, true
		c.inputFromMD = true
	}
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
