package openai

import (
	"strconv"
	"strings"

	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/internal/jsonw"
)

// Response statuses as the Responses API names them.
const (
	statusInProgress = "in_progress"
	statusCompleted  = "completed"
	statusIncomplete = "incomplete"
	statusFailed     = "failed"
)

// outItem is one output item of a response: a message, a reasoning item,
// a function call or a custom tool call. text holds the message text, the
// reasoning text or the call's arguments (for a custom tool, the JSON the
// model wrote around its free-form input).
type outItem struct {
	kind   canon.BlockKind
	id     string
	text   []byte
	callID string
	name   string
	ns     string
	custom bool
	done   bool

	// web_search_call (callID is the server tool use id) and message
	// annotations (responses_websearch.go)
	query       string
	sources     []string
	failed      bool
	announced   bool // output_item.added was sent
	withSources bool
	annotations []canon.Citation
}

// responseState is what the stream encoder and the body writer share: the
// identity of the response and its output items.
type responseState struct {
	id      string
	model   string
	created int64
	opt     ResponsesOptions
	base    string // id without its resp_ prefix, for item ids
	items   []outItem
}

func newResponseState(id, model string, created int64, opt ResponsesOptions) responseState {
	base, _ := strings.CutPrefix(id, "resp_")
	return responseState{id: id, model: model, created: created, opt: opt, base: base}
}

// newItem appends an output item for a block and returns its position.
// Item ids derive from the response id and the output index, so they are
// stable within a response; a function call's call_id is the tool use id.
func (r *responseState) newItem(kind canon.BlockKind, toolID, name string) int {
	pos := len(r.items)
	prefix := "msg_"
	switch kind {
	case canon.ThinkingBlock:
		prefix = "rs_"
	case canon.ToolUseBlock:
		prefix = "fc_"
	case canon.ServerToolUseBlock:
		prefix = "ws_"
	}
	custom := kind == canon.ToolUseBlock && r.opt.Custom[name]
	if custom {
		prefix = "ctc_"
	}
	it := outItem{kind: kind, id: prefix + r.base + "_" + strconv.Itoa(pos), custom: custom}
	if kind == canon.ServerToolUseBlock {
		it.callID, it.withSources = toolID, r.opt.SearchSources
	}
	if kind == canon.ToolUseBlock {
		it.callID, it.name = toolID, name
		if ref, ok := r.opt.Namespaced[name]; ok {
			it.name, it.ns = ref.Name, ref.Namespace
		}
	}
	r.items = append(r.items, it)
	return pos
}

// appendItem appends an item as the API shows it: complete when done,
// otherwise in progress with empty content.
func appendItem(dst []byte, it *outItem) []byte {
	dst = append(dst, `{"id":`...)
	dst = jsonw.String(dst, it.id)
	switch it.kind {
	case canon.ThinkingBlock:
		dst = append(dst, `,"type":"reasoning","summary":[`...)
		if it.done {
			dst = appendSummaryPart(dst, it.text)
		}
		return append(dst, "]}"...)
	case canon.ToolUseBlock:
		if it.custom {
			return appendCustomCall(dst, it)
		}
		dst = append(dst, `,"type":"function_call","status":`...)
		dst = jsonw.String(dst, itemStatus(it))
		dst = append(dst, `,"arguments":`...)
		if it.done {
			dst = jsonw.String(dst, arguments(it.text))
		} else {
			dst = append(dst, `""`...)
		}
		dst = appendCallRef(dst, it)
		return append(dst, '}')
	case canon.ServerToolUseBlock:
		return appendSearchItem(dst, it)
	}
	dst = append(dst, `,"type":"message","status":`...)
	dst = jsonw.String(dst, itemStatus(it))
	dst = append(dst, `,"content":[`...)
	if it.done {
		dst = appendTextPart(dst, it.text, it.annotations)
	}
	return append(dst, `],"role":"assistant"}`...)
}

// appendCallRef appends what names a call: its call_id, the tool's own
// name and, for a tool declared in a namespace, the namespace.
func appendCallRef(dst []byte, it *outItem) []byte {
	dst = append(dst, `,"call_id":`...)
	dst = jsonw.String(dst, it.callID)
	dst = append(dst, `,"name":`...)
	dst = jsonw.String(dst, it.name)
	if it.ns != "" {
		dst = append(dst, `,"namespace":`...)
		dst = jsonw.String(dst, it.ns)
	}
	return dst
}

func itemStatus(it *outItem) string {
	if it.done {
		return statusCompleted
	}
	return statusInProgress
}

// arguments is a finished call's arguments; a call without any has "{}".
func arguments(b []byte) string {
	if len(strings.TrimSpace(string(b))) == 0 {
		return "{}"
	}
	return string(b)
}

func appendTextPart(dst []byte, text []byte, annotations []canon.Citation) []byte {
	dst = append(dst, `{"type":"output_text","annotations":`...)
	dst = appendAnnotations(dst, annotations)
	dst = append(dst, `,"logprobs":[],"text":`...)
	dst = jsonw.String(dst, string(text))
	return append(dst, '}')
}

func appendSummaryPart(dst []byte, text []byte) []byte {
	dst = append(dst, `{"type":"summary_text","text":`...)
	dst = jsonw.String(dst, string(text))
	return append(dst, '}')
}

// responseEnd is how a response ended, for the response object.
type responseEnd struct {
	status     string
	usage      *canon.Usage
	errCode    string
	errMessage string
	incomplete string // incomplete_details.reason
}

// appendResponse appends the response object, with the finished items as
// its output, echoing the request settings as OpenAI does.
func (r *responseState) appendResponse(dst []byte, end responseEnd) []byte {
	dst = append(dst, `{"id":`...)
	dst = jsonw.String(dst, r.id)
	dst = append(dst, `,"object":"response","created_at":`...)
	dst = strconv.AppendInt(dst, r.created, 10)
	dst = append(dst, `,"status":`...)
	dst = jsonw.String(dst, end.status)
	dst = append(dst, `,"background":false,"error":`...)
	if end.errCode != "" {
		dst = append(dst, `{"code":`...)
		dst = jsonw.String(dst, end.errCode)
		dst = append(dst, `,"message":`...)
		dst = jsonw.String(dst, end.errMessage)
		dst = append(dst, '}')
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"incomplete_details":`...)
	if end.incomplete != "" {
		dst = append(dst, `{"reason":`...)
		dst = jsonw.String(dst, end.incomplete)
		dst = append(dst, '}')
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"instructions":`...)
	dst = appendNullableString(dst, r.opt.Instructions)
	dst = append(dst, `,"max_output_tokens":`...)
	if r.opt.MaxOutputTokens > 0 {
		dst = jsonw.Int(dst, r.opt.MaxOutputTokens)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"model":`...)
	dst = jsonw.String(dst, r.model)
	dst = append(dst, `,"output":[`...)
	first := true
	for i := range r.items {
		if !r.items[i].done {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendItem(dst, &r.items[i])
	}
	dst = append(dst, `],"parallel_tool_calls":`...)
	dst = strconv.AppendBool(dst, r.opt.ParallelToolCalls)
	dst = append(dst, `,"previous_response_id":null,"reasoning":{"effort":`...)
	dst = appendNullableString(dst, r.opt.ReasoningEffort)
	dst = append(dst, `,"summary":`...)
	dst = appendNullableString(dst, r.opt.ReasoningSummary)
	dst = append(dst, `},"store":false,"text":{"format":{"type":"text"}},"tool_choice":`...)
	if len(r.opt.ToolChoice) > 0 {
		dst = append(dst, r.opt.ToolChoice...)
	} else {
		dst = append(dst, `"auto"`...)
	}
	dst = append(dst, `,"tools":[],"truncation":"disabled","usage":`...)
	if end.usage != nil {
		dst = appendResponsesUsage(dst, *end.usage)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"user":null,"metadata":`...)
	if len(r.opt.Metadata) > 0 {
		dst = append(dst, r.opt.Metadata...)
	} else {
		dst = append(dst, "{}"...)
	}
	return append(dst, '}')
}

// appendResponsesUsage appends usage with the detail objects Codex reads.
func appendResponsesUsage(dst []byte, u canon.Usage) []byte {
	dst = append(dst, `{"input_tokens":`...)
	dst = jsonw.Int(dst, u.InputTokens)
	dst = append(dst, `,"input_tokens_details":{"cached_tokens":0},"output_tokens":`...)
	dst = jsonw.Int(dst, u.OutputTokens)
	dst = append(dst, `,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":`...)
	dst = jsonw.Int(dst, u.InputTokens+u.OutputTokens)
	return append(dst, '}')
}

// endFor maps a canonical stop to how the response ends. Hitting the
// output limit is "incomplete" with reason max_output_tokens, as OpenAI
// reports it; running out of context window fails the response with code
// context_length_exceeded, on which Codex compacts the conversation.
func endFor(stop string, usage canon.Usage) responseEnd {
	u := usage
	switch stop {
	case canon.StopMaxTokens:
		return responseEnd{status: statusIncomplete, usage: &u, incomplete: "max_output_tokens"}
	case canon.StopRefusal:
		return responseEnd{status: statusIncomplete, usage: &u, incomplete: "content_filter"}
	case canon.StopContextWindow:
		return responseEnd{status: statusFailed, usage: &u, errCode: CodeContextLengthExceeded,
			errMessage: "the conversation reached the model's context window; compact or shorten it"}
	}
	return responseEnd{status: statusCompleted, usage: &u}
}

// failEnd is the end of a response the upstream failed mid-stream.
func failEnd(e *canon.StreamError) responseEnd {
	end := responseEnd{status: statusFailed, errCode: CodeServerError, errMessage: "upstream failed mid-stream"}
	if e == nil {
		return end
	}
	if e.Message != "" {
		end.errMessage = e.Message
	}
	if e.Type == "invalid_request_error" {
		end.errCode = "invalid_prompt"
	}
	return end
}
