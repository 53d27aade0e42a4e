package stream

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/kirobar/kirobar/canon"
)

// dedupeMinLen is the shortest content whose exact, immediate repeat is
// treated as an upstream duplicate and dropped. Kiro's duplicated events
// repeat whole multi-token chunks; shorter repeats are usually real output
// (indentation, newlines, repeated words), so they are kept.
const dedupeMinLen = 32

func (c *Converter) assistantResponse(dst []canon.Event, payload []byte) []canon.Event {
	it, ok := newFieldIter(payload)
	if !ok {
		// A frame that passed the CRC check but carries no JSON object has
		// nothing to show; it is skipped like an unknown event.
		return dst
	}
	has := false
	for k, v, ok := it.next(); ok; k, v, ok = it.next() {
		switch string(k) {
		case "content":
			c.scratch, has = appendString(c.scratch[:0], v)
		case "followupPrompt":
			if !isNull(v) {
				return dst // a UI suggestion, not part of the answer
			}
		}
	}
	if !has || len(c.scratch) == 0 {
		return dst
	}
	if len(c.scratch) >= dedupeMinLen && string(c.scratch) == c.lastContent {
		return dst
	}
	s := string(c.scratch)
	c.lastContent = s
	// The model moved on from any tool call still waiting for stop:true.
	dst = c.settleTools(dst, true)
	if !c.opt.Thinking {
		return c.emitModel(dst, canon.TextBlock, s)
	}
	return c.thinkText(dst, s)
}

// reasoning handles native reasoningContentEvent text: a thinking block.
// Some deployments send the text as "text", others as "content".
func (c *Converter) reasoning(dst []canon.Event, payload []byte) []canon.Event {
	it, ok := newFieldIter(payload)
	if !ok {
		return dst
	}
	var text, content []byte
	for k, v, ok := it.next(); ok; k, v, ok = it.next() {
		switch string(k) {
		case "text":
			text = v
		case "content":
			content = v
		}
	}
	if text == nil || isNull(text) {
		text = content
	}
	if text == nil {
		return dst
	}
	var has bool
	if c.scratch, has = appendString(c.scratch[:0], text); !has || len(c.scratch) == 0 {
		return dst
	}
	dst = c.settleTools(dst, true)
	return c.emitModel(dst, canon.ThinkingBlock, string(c.scratch))
}

// numberField returns the number in the top-level field key of payload.
func numberField(payload []byte, key string) (float64, bool) {
	it, ok := newFieldIter(payload)
	if !ok {
		return 0, false
	}
	for k, v, ok := it.next(); ok; k, v, ok = it.next() {
		if string(k) != key {
			continue
		}
		f, err := strconv.ParseFloat(string(v), 64)
		return f, err == nil && finite(f)
	}
	return 0, false
}

func (c *Converter) metering(payload []byte) {
	if u, ok := numberField(payload, "usage"); ok {
		c.usage.Credits += u
	}
}

// contextUsage records how full the context is; with a known context window
// it gives the input tokens (unless exact counts arrived).
func (c *Converter) contextUsage(payload []byte) {
	pct, ok := numberField(payload, "contextUsagePercentage")
	if !ok || pct < 0 {
		return
	}
	c.usage.ContextPercent = pct
	if c.inputFromMD || c.opt.ContextWindow <= 0 {
		return
	}
	tokens := math.Round(pct / 100 * float64(c.opt.ContextWindow))
	if tokens < 1 {
		// Below the percentage's resolution: kirobar's estimate says more
		// than a zero would.
		return
	}
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
