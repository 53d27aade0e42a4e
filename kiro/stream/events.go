package stream

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/kirobar/kirobar/canon"
)

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
	// Every event is a new delta, even when it repeats the one before: the
	// official client appends each content to the answer as it comes
	// (aws/amazon-q-developer-cli: crates/chat-cli/src/cli/chat/parser.rs,
	// ResponseParser::recv), so a repeat is real text ("ha" "ha", two equal
	// lines of code) and dropping it would corrupt the answer.
	s := string(c.scratch)
	c.sawContent, c.toolEnded = true, false
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
	c.sawContent, c.toolEnded = true, false
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

// metering sums the credits of a meteringEvent. Like contextUsageEvent it
// ends a complete stream: accounts that never send metadataEvent (Builder ID)
// end every turn with these two (Quorinex/Kiro-Go#158, PR #154).
func (c *Converter) metering(payload []byte) {
	c.ended = true
	if u, ok := numberField(payload, "usage"); ok {
		c.usage.Credits += u
	}
}

// contextUsage records how full the context is; with a known context window
// it gives the input tokens (unless exact counts arrived).
func (c *Converter) contextUsage(payload []byte) {
	c.ended = true
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

// metadataPayload is a metadataEvent (official MetadataEvent{tokenUsage,
// stopReason, stopDetails}: aws/amazon-q-developer-cli:
// crates/amzn-codewhisperer-streaming-client/src/types/_metadata_event.rs,
// _token_usage.rs, _stop_details.rs, _refusal_details.rs) or a
// messageMetadataEvent, which some deployments fill with tokenUsage too.
// Counts decode as floats so that a count written as 12.0 still counts.
type metadataPayload struct {
	TokenUsage *struct {
		InputTokens           *float64 `json:"inputTokens"`
		UncachedInputTokens   *float64 `json:"uncachedInputTokens"`
		CacheReadInputTokens  *float64 `json:"cacheReadInputTokens"`
		CacheWriteInputTokens *float64 `json:"cacheWriteInputTokens"`
		OutputTokens          *float64 `json:"outputTokens"`
	} `json:"tokenUsage"`
	StopReason  string `json:"stopReason"`
	StopDetails *struct {
		Refusal *struct {
			Category         string `json:"category"`
			Explanation      string `json:"explanation"`
			RecommendedModel string `json:"recommendedModel"`
		} `json:"refusal"`
	} `json:"stopDetails"`
}

// metadata takes real token counts from messageMetadataEvent/metadataEvent;
// they win over the contextUsage-derived input and the output estimate. A
// metadataEvent (final) also ends the stream and carries the model's stop
// reason; the official client reads the stop reason from it alone.
func (c *Converter) metadata(payload []byte, final bool) {
	if final {
		c.ended = true
	}
	var p metadataPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return
	}
	if final {
		if stop := mapStopReason(p.StopReason); stop != "" {
			c.upstreamStop = stop
		}
		if d := p.StopDetails; d != nil && d.Refusal != nil {
			c.note(refusalNote(d.Refusal.Category, d.Refusal.Explanation, d.Refusal.RecommendedModel))
		}
	}
	tu := p.TokenUsage
	if tu == nil {
		return
	}
	if n, ok := count(tu.OutputTokens); ok {
		c.usage.OutputTokens = n
		c.outputExact = true
	}
	in, ok := count(tu.InputTokens)
	if !ok {
		for _, v := range []*float64{tu.UncachedInputTokens, tu.CacheReadInputTokens, tu.CacheWriteInputTokens} {
			if n, has := count(v); has {
				in, ok = in+n, true
			}
		}
	}
	if ok {
		c.usage.InputTokens, c.usage.InputExact = in, true
		c.inputFromMD = true
	}
}

// count turns a reported token count into an int; negative, fractional
// garbage or absurd values are not counts.
func count(v *float64) (int, bool) {
	if v == nil || !finite(*v) || *v < 0 || *v > math.MaxInt32 {
		return 0, false
	}
	return int(*v), true
}

// mapStopReason maps Kiro's StopReason to the Messages API's stop reason
// (aws/amazon-q-developer-cli:
// crates/amzn-codewhisperer-streaming-client/src/types/_stop_reason.rs).
// UNKNOWN and values newer than kirobar map to "": the converter then infers
// the stop reason from what it delivered.
func mapStopReason(s string) string {
	switch strings.ToUpper(s) {
	case "END_TURN":
		return canon.StopEndTurn
	case "TOOL_USE":
		return canon.StopToolUse
	case "MAX_TOKENS":
		return canon.StopMaxTokens
	case "MODEL_CONTEXT_WINDOW_EXCEEDED":
		return canon.StopContextWindow
	case "PAUSE_TURN":
		return canon.StopPauseTurn
	case "CONTENT_FILTERED":
		return canon.StopRefusal
	}
	return ""
}

func refusalNote(category, explanation, model string) string {
	n := "the upstream stopped the answer under its content policy"
	if category != "" {
		n += " (category " + clip(category, 40) + ")"
	}
	if explanation != "" {
		n += ": " + clip(explanation, 200)
	}
	if model != "" {
		n += "; it recommends the model " + clip(model, 60)
	}
	return n
}

// invalidState records an invalidStateEvent{reason, message}
// (crates/amzn-codewhisperer-streaming-client/src/types/_invalid_state_event.rs,
// reason INVALID_TASK_ASSIST_PLAN). The official client logs it and keeps
// reading (crates/chat-cli/src/cli/chat/parser.rs), so it does not end the
// stream here either; Finish fails the stream when nothing but it came.
func (c *Converter) invalidState(payload []byte) {
	var p struct {
		Reason  string `json:"reason"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(payload, &p) // an unreadable payload still says the state was invalid
	detail := clip(p.Reason, 60)
	if p.Message != "" {
		if detail != "" {
			detail += ": "
		}
		detail += clip(p.Message, 200)
	}
	if detail == "" {
		detail = "no reason given"
	}
	c.invalid = detail
	c.note("the upstream reported an invalid conversation state (" + detail + ")")
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
