package openai

import (
	"bytes"
	"fmt"
	json "github.com/goccy/go-json"
	"net/http"
	"strings"

	"github.com/kirobar/kirobar/canon"
)

// ResponsesOptions is what the Responses encoders need beyond the canonical
// request, plus what the server should log about the request.
type ResponsesOptions struct {
	// Stream is the request's stream flag.
	Stream bool
	// Instructions, MaxOutputTokens, ParallelToolCalls, ToolChoice,
	// ReasoningEffort, ReasoningSummary and Metadata are echoed in the
	// response object, as OpenAI does. ToolChoice is compact JSON.
	Instructions      string
	MaxOutputTokens   int
	ParallelToolCalls bool
	ToolChoice        json.RawMessage
	ReasoningEffort   string
	ReasoningSummary  string
	Metadata          json.RawMessage
	// Namespaced maps the canonical name of every function that came from
	// a namespace tool to its namespace and its own name, so a call the
	// model makes is reported the way the client declared it.
	Namespaced map[string]NamespacedTool
	// Custom holds the canonical names of custom (free-form) tools, whose
	// calls are reported as custom_tool_call items.
	Custom map[string]bool
	// IgnoredTools lists tools Kiro cannot run (hosted tools such as
	// web_search) as "type" or "type:name", for a log line.
	IgnoredTools []string
	// IgnoredInclude lists include entries kirobar cannot honour.
	IgnoredInclude []string
	// SearchSources is set when include asks for the sources of web
	// searches (responses_websearch.go).
	SearchSources bool
}

// NamespacedTool names a function inside a namespace tool.
type NamespacedTool struct {
	Namespace string
	Name      string
}

type responsesRequest struct {
	Model             string          `json:"model"`
	Instructions      json.RawMessage `json:"instructions"`
	Input             json.RawMessage `json:"input"`
	Tools             []responsesTool `json:"tools"`
	ToolChoice        json.RawMessage `json:"tool_choice"`
	ParallelToolCalls *bool           `json:"parallel_tool_calls"`
	Reasoning         *struct {
		Effort          string `json:"effort"`
		Summary         string `json:"summary"`
		GenerateSummary string `json:"generate_summary"`
	} `json:"reasoning"`
	MaxOutputTokens    *int            `json:"max_output_tokens"`
	Temperature        *float64        `json:"temperature"`
	TopP               *float64        `json:"top_p"`
	PreviousResponseID string          `json:"previous_response_id"`
	Conversation       json.RawMessage `json:"conversation"`
	Prompt             json.RawMessage `json:"prompt"`
	Background         bool            `json:"background"`
	Include            []string        `json:"include"`
	Stream             bool            `json:"stream"`
	Metadata           json.RawMessage `json:"metadata"`
	Text               *struct {
		Format *struct {
			Type   string          `json:"type"`
			Name   string          `json:"name"`
			Schema json.RawMessage `json:"schema"`
		} `json:"format"`
	} `json:"text"`
}

type responsesTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
	Format      *customFormat   `json:"format"`
	Tools       []responsesTool `json:"tools"`
	// web_search
	Filters *struct {
		AllowedDomains []string `json:"allowed_domains"`
	} `json:"filters"`
	UserLocation *canon.UserLocation `json:"user_location"`
}

type responsesItem struct {
	Type      string          `json:"type"`
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	CallID    string          `json:"call_id"`
	Name      string          `json:"name"`
	Namespace string          `json:"namespace"`
	Arguments string          `json:"arguments"`
	Input     string          `json:"input"`
	Output    json.RawMessage `json:"output"`
	Tools     []responsesTool `json:"tools"` // additional_tools
	ID        string          `json:"id"`
	Action    json.RawMessage `json:"action"` // web_search_call
}

type responsesPart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	Refusal  string `json:"refusal"`
	ImageURL string `json:"image_url"`
	FileID   string `json:"file_id"`
}

// DecodeResponses parses a Responses API request into the canonical
// request. Errors are *RequestError, safe to return to the client.
func DecodeResponses(body []byte) (*canon.Request, ResponsesOptions, error) {
	var opt ResponsesOptions
	var req responsesRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, opt, jsonError(err)
	}
	out, rerr := convertResponses(&req, &opt)
	if rerr != nil {
		return nil, opt, rerr
	}
	return out, opt, nil
}

func convertResponses(req *responsesRequest, opt *ResponsesOptions) (*canon.Request, *RequestError) {
	if req.Model == "" {
		return nil, badRequest("model", "model: field required")
	}
	if req.PreviousResponseID != "" {
		return nil, &RequestError{
			Status:  http.StatusBadRequest,
			Message: "previous_response_id: kirobar keeps no responses; send the whole conversation in input (with store: false)",
			Param:   "previous_response_id",
			Code:    CodePreviousResponse,
		}
	}
	if !isNull(req.Conversation) {
		return nil, badRequest("conversation", "conversation: kirobar keeps no conversations; send the whole conversation in input")
	}
	if !isNull(req.Prompt) {
		return nil, badRequest("prompt", "prompt: stored prompt templates are not available through kirobar; send instructions and input instead")
	}
	if req.Background {
		return nil, badRequest("background", "background: background responses are not supported; kirobar keeps no responses")
	}
	opt.Stream = req.Stream
	opt.ParallelToolCalls = req.ParallelToolCalls == nil || *req.ParallelToolCalls
	for _, inc := range req.Include {
		if inc == includeSearchSources {
			opt.SearchSources = true
			continue
		}
		opt.IgnoredInclude = append(opt.IgnoredInclude, inc)
	}
	if !isNull(req.Metadata) && firstByte(req.Metadata) == '{' {
		opt.Metadata = compactJSON(req.Metadata)
	}

	out := &canon.Request{
		Model:       req.Model,
		Stream:      req.Stream,
		Temperature: clampTemperature(req.Temperature),
		TopP:        req.TopP,
	}
	switch firstByte(req.Instructions) {
	case 0, 'n':
	case '"':
		if err := json.Unmarshal(req.Instructions, &opt.Instructions); err != nil {
			return nil, badRequest("instructions", "instructions: invalid string")
		}
		out.System = textBlocks(opt.Instructions)
	default:
		return nil, badRequest("instructions", "instructions: expected a string")
	}

	items, err := inputItems(req.Input)
	if err != nil {
		return nil, err
	}
	names, err := responsesTools(declaredTools(req.Tools, items), out, opt)
	if err != nil {
		return nil, err
	}
	if err := responsesToolChoice(req.ToolChoice, names, opt, out); err != nil {
		return nil, err
	}
	if err := responsesInput(items, names, out); err != nil {
		return nil, err
	}
	if req.MaxOutputTokens != nil {
		if *req.MaxOutputTokens < 0 {
			return nil, badRequest("max_output_tokens", "max_output_tokens: must be positive")
		}
		out.MaxTokens = *req.MaxOutputTokens
		opt.MaxOutputTokens = *req.MaxOutputTokens
	}
	if r := req.Reasoning; r != nil {
		opt.ReasoningSummary = r.Summary
		if opt.ReasoningSummary == "" {
			opt.ReasoningSummary = r.GenerateSummary
		}
		thinking, effort, err := thinkingFor("reasoning.effort", r.Effort)
		if err != nil {
			return nil, err
		}
		out.Thinking, out.OutputConfig = thinking, effort
		opt.ReasoningEffort = r.Effort
	}
	if req.Text != nil && req.Text.Format != nil {
		f := req.Text.Format
		note, err := jsonFormatNote("text.format", f.Type, f.Name, f.Schema)
		if err != nil {
			return nil, err
		}
		if note != "" {
			out.System = append(out.System, canon.Block{Type: canon.BlockText, Text: note})
		}
	}
	if verr := out.Validate(); verr != nil {
		return nil, badRequest("input", verr.Error())
	}
	return out, nil
}

// toolNames resolves the names of declared functions: the canonical name
// of every (namespace, name) pair, and which canonical names are taken.
type toolNames struct {
	canonical map[NamespacedTool]string
	taken     map[string]bool
	hosted    bool // a tool Kiro cannot run was declared
}

// canonicalName is the name the model sees for a function. Functions in
// history that are no longer declared keep their own name unless it is
// taken.
func (n *toolNames) canonicalName(namespace, name string) string {
	if c, ok := n.canonical[NamespacedTool{Namespace: namespace, Name: name}]; ok {
		return c
	}
	if namespace == "" || !n.taken[name] {
		return name
	}
	return joinNamespace(namespace, name)
}

// joinNamespace names a namespaced function whose own name is taken.
func joinNamespace(namespace, name string) string {
	return strings.TrimRight(namespace, "_") + "__" + name
}

// responsesTools flattens function, custom and namespace tools into
// canonical tools and lists the rest as ignored. Top-level functions keep
// their names; a namespaced function keeps its own name unless taken.
func responsesTools(tools []declaredTool, out *canon.Request, opt *ResponsesOptions) (*toolNames, *RequestError) {
	names := &toolNames{canonical: map[NamespacedTool]string{}, taken: map[string]bool{}}
	for _, t := range tools {
		if !runnable(t.Type) {
			continue
		}
		param := t.param + ".name"
		if t.Name == "" {
			return nil, badRequest(param, param+": field required")
		}
		if names.taken[t.Name] {
			return nil, badRequest(param, fmt.Sprintf("%s: duplicate function name %q", param, t.Name))
		}
		names.taken[t.Name] = true
	}
	for _, t := range tools {
		param := t.param
		switch t.Type {
		case "function", "custom":
			tool, err := declareTool(param, t.Name, t.responsesTool, opt)
			if err != nil {
				return nil, err
			}
			names.canonical[NamespacedTool{Name: t.Name}] = t.Name
			out.Tools = append(out.Tools, tool)
		case "namespace":
			if t.Name == "" {
				return nil, badRequest(param+".name", param+".name: field required")
			}
			for j, inner := range t.Tools {
				p := fmt.Sprintf("%s.tools[%d]", param, j)
				if !runnable(inner.Type) {
					opt.IgnoredTools = append(opt.IgnoredTools, ignoredName(inner.Type, t.Name+"/"+inner.Name))
					names.hosted = true
					continue
				}
				if inner.Name == "" {
					return nil, badRequest(p+".name", p+".name: field required")
				}
				key := NamespacedTool{Namespace: t.Name, Name: inner.Name}
				if _, dup := names.canonical[key]; dup {
					return nil, badRequest(p+".name", fmt.Sprintf("%s.name: duplicate function %q in namespace %q", p, inner.Name, t.Name))
				}
				name := inner.Name
				if names.taken[name] {
					name = joinNamespace(t.Name, inner.Name)
				}
				if names.taken[name] {
					return nil, badRequest(p+".name", fmt.Sprintf("%s.name: function %q of namespace %q clashes with another tool named %q", p, inner.Name, t.Name, name))
				}
				tool, err := declareTool(p, name, inner, opt)
				if err != nil {
					return nil, err
				}
				names.taken[name] = true
				names.canonical[key] = name
				if opt.Namespaced == nil {
					opt.Namespaced = map[string]NamespacedTool{}
				}
				opt.Namespaced[name] = key
				out.Tools = append(out.Tools, tool)
			}
		default:
			if webSearchTypes[t.Type] { // served by the web search loop (responses_websearch.go)
				if out.WebSearch() == nil {
					out.Tools = append(out.Tools, webSearchTool(t.responsesTool))
				}
				continue
			}
			opt.IgnoredTools = append(opt.IgnoredTools, ignoredName(t.Type, t.Name))
			names.hosted = true
		}
	}
	return names, nil
}

// runnable reports whether a tool type is one Kiro can run: functions, and
// custom tools offered as functions taking one string.
func runnable(typ string) bool {
	return typ == "function" || typ == "custom"
}

func functionTool(name string, t responsesTool) canon.Tool {
	schema := t.Parameters
	if isNull(schema) {
		schema = emptySchema
	}
	return canon.Tool{Name: name, Description: t.Description, InputSchema: schema}
}

func ignoredName(typ, name string) string {
	if typ == "" {
		typ = "untyped"
	}
	if name == "" {
		return typ
	}
	return typ + ":" + name
}

// responsesToolChoice maps tool_choice. A choice that requires a tool Kiro
// cannot run (a hosted tool, or "required" when only such tools exist) is
// a 400: ignoring it would hand back an answer the client did not ask for.
func responsesToolChoice(raw json.RawMessage, names *toolNames, opt *ResponsesOptions, out *canon.Request) *RequestError {
	const param = "tool_choice"
	opt.ToolChoice = json.RawMessage(`"auto"`)
	haveTools := len(out.Tools) > 0
	switch firstByte(raw) {
	case 0, 'n':
		if haveTools {
			out.ToolChoice = &canon.ToolChoice{Type: "auto"}
		}
		return nil
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return badRequest(param, "tool_choice: invalid string")
		}
		if s == "required" && !haveTools && names.hosted {
			return badRequest(param, "tool_choice: \"required\" can only be met by hosted tools, which Kiro cannot run")
		}
		choice, err := simpleToolChoice(param, s, haveTools)
		if err != nil {
			return err
		}
		out.ToolChoice = choice
		opt.ToolChoice = compactJSON(raw)
		return nil
	case '{':
	default:
		return badRequest(param, "tool_choice: expected a string or an object")
	}
	var v struct {
		Type      string `json:"type"`
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
		Mode      string `json:"mode"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return badRequest(param, "tool_choice: expected {\"type\":\"function\",\"name\":...}")
	}
	opt.ToolChoice = compactJSON(raw)
	switch v.Type {
	case "function", "custom":
		name, ok := names.canonical[NamespacedTool{Namespace: v.Namespace, Name: v.Name}]
		if !ok || opt.Custom[name] != (v.Type == "custom") {
			return badRequest(param, fmt.Sprintf("tool_choice: %s tool %q is not among the declared %s tools", v.Type, v.Name, v.Type))
		}
		out.ToolChoice = &canon.ToolChoice{Type: "tool", Name: name}
		return nil
	case "allowed_tools":
		choice, err := simpleToolChoice(param, v.Mode, haveTools)
		if err != nil {
			return err
		}
		out.ToolChoice = choice
		return nil
	case "":
		return badRequest(param, "tool_choice.type: field required")
	}
	if webSearchTypes[v.Type] && out.WebSearch() != nil {
		out.ToolChoice = &canon.ToolChoice{Type: "tool", Name: canon.WebSearchName}
		return nil
	}
	return badRequest(param, fmt.Sprintf("tool_choice: requires the %q tool, which Kiro cannot run; only function tools are served", v.Type))
}

// responsesInput converts the input items. Function calls join the
// assistant turn before them; consecutive function call outputs become one
// user turn of tool results; reasoning items are skipped, and
// additional_tools items were declared with the tools.
func responsesInput(items []responsesItem, names *toolNames, out *canon.Request) *RequestError {
	lastOutput := false
	for i, it := range items {
		param := fmt.Sprintf("input[%d]", i)
		isOutput := false
		typ := it.Type
		if typ == "" && it.Role != "" {
			typ = "message"
		}
		switch typ {
		case "message":
			if err := inputMessage(param, it, out); err != nil {
				return err
			}
		case "function_call", "custom_tool_call":
			if it.CallID == "" {
				return badRequest(param+".call_id", param+".call_id: field required")
			}
			if it.Name == "" {
				return badRequest(param+".name", param+".name: field required")
			}
			input := toolInput(it.Arguments)
			if typ == "custom_tool_call" {
				input = customInput(it.Input)
			}
			use := canon.Block{Type: canon.BlockToolUse, ID: it.CallID, Name: names.canonicalName(it.Namespace, it.Name), Input: input}
			if n := len(out.Messages); n > 0 && out.Messages[n-1].Role == "assistant" {
				out.Messages[n-1].Content = append(out.Messages[n-1].Content, use)
			} else {
				out.Messages = append(out.Messages, canon.Message{Role: "assistant", Content: canon.Content{use}})
			}
		case "function_call_output", "custom_tool_call_output":
			if it.CallID == "" {
				return badRequest(param+".call_id", param+".call_id: field required")
			}
			content, err := toolOutput(param+".output", it.Output)
			if err != nil {
				return err
			}
			result := canon.Block{Type: canon.BlockToolResult, ToolUseID: it.CallID, Content: content}
			if lastOutput {
				last := &out.Messages[len(out.Messages)-1]
				last.Content = append(last.Content, result)
			} else {
				out.Messages = append(out.Messages, canon.Message{Role: "user", Content: canon.Content{result}})
			}
			isOutput = true
		case "reasoning", "additional_tools":
			continue
		case "web_search_call":
			use := webSearchCall(it)
			if n := len(out.Messages); n > 0 && out.Messages[n-1].Role == "assistant" {
				out.Messages[n-1].Content = append(out.Messages[n-1].Content, use)
			} else {
				out.Messages = append(out.Messages, canon.Message{Role: "assistant", Content: canon.Content{use}})
			}
		case "item_reference":
			return badRequest(param+".type", param+".type: item references need stored responses, which kirobar does not keep; send the items themselves")
		case "":
			return badRequest(param+".type", param+".type: field required")
		default:
			return badRequest(param+".type", fmt.Sprintf("%s.type: unsupported input item type %q (message, function_call, function_call_output, custom_tool_call, custom_tool_call_output, additional_tools, reasoning, web_search_call)", param, typ))
		}
		lastOutput = isOutput
	}
	if len(out.Messages) == 0 {
		return badRequest("input", "input: at least one user or assistant message is required")
	}
	return nil
}

// inputMessage converts a message item. Developer and system messages
// before the conversation form the system prompt; later ones keep their
// place as "system" messages.
func inputMessage(param string, it responsesItem, out *canon.Request) *RequestError {
	switch it.Role {
	case "system", "developer", "user", "assistant":
	case "":
		return badRequest(param+".role", param+".role: field required")
	default:
		return badRequest(param+".role", fmt.Sprintf("%s.role: unexpected role %q (developer, system, user, assistant)", param, it.Role))
	}
	blocks, err := inputContent(param+".content", it.Content, it.Role == "user")
	if err != nil {
		return err
	}
	switch it.Role {
	case "system", "developer":
		if len(out.Messages) == 0 {
			out.System = append(out.System, blocks...)
			return nil
		}
		if len(blocks) > 0 {
			out.Messages = append(out.Messages, canon.Message{Role: "system", Content: blocks})
		}
	case "assistant":
		if len(blocks) > 0 {
			out.Messages = append(out.Messages, canon.Message{Role: "assistant", Content: blocks})
		}
	default:
		out.Messages = append(out.Messages, canon.Message{Role: it.Role, Content: blocks})
	}
	return nil
}

// inputContent converts message content: a string or a list of parts.
func inputContent(param string, raw json.RawMessage, images bool) (canon.Content, *RequestError) {
	switch firstByte(raw) {
	case 0, 'n':
		return nil, nil
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, badRequest(param, param+": invalid string")
		}
		return textBlocks(s), nil
	case '[':
	default:
		return nil, badRequest(param, param+": expected a string or an array of parts")
	}
	var parts []responsesPart
	if err := json.Unmarshal(raw, &parts); err != nil {
		return nil, badRequest(param, param+": expected an array of content parts")
	}
	var out canon.Content
	for j, p := range parts {
		pp := fmt.Sprintf("%s[%d]", param, j)
		switch p.Type {
		case "input_text", "output_text", "text":
			if p.Text != "" {
				out = append(out, canon.Block{Type: canon.BlockText, Text: p.Text})
			}
		case "refusal":
			if p.Refusal != "" {
				out = append(out, canon.Block{Type: canon.BlockText, Text: p.Refusal})
			}
		case "input_image":
			if !images {
				return nil, badRequest(pp+".type", pp+".type: images are only allowed in user messages and tool outputs")
			}
			if p.ImageURL == "" && p.FileID != "" {
				return nil, badRequest(pp+".file_id", pp+".file_id: uploaded files are not available through kirobar; send the image as a data URL in image_url")
			}
			blk, err := imageFromURL(pp+".image_url", p.ImageURL)
			if err != nil {
				return nil, err
			}
			out = append(out, blk)
		default:
			return nil, badRequest(pp+".type", fmt.Sprintf("%s.type: unsupported content part type %q (input_text, input_image, output_text)", pp, p.Type))
		}
	}
	return out, nil
}

// toolOutput converts a function call's output: a string, or a list of
// input_text and input_image parts (Codex sends images this way).
func toolOutput(param string, raw json.RawMessage) (canon.Content, *RequestError) {
	if firstByte(raw) == '{' {
		// Older clients wrapped the output as {"content": "...", "success": bool}.
		var v struct {
			Content json.RawMessage `json:"content"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, badRequest(param, param+": expected a string or an array of parts")
		}
		raw = v.Content
	}
	switch firstByte(raw) {
	case 0, 'n':
		return nil, nil
	case '"', '[':
		return inputContent(param, raw, true)
	}
	return nil, badRequest(param, param+": expected a string or an array of parts")
}

// compactJSON returns raw without insignificant space, or raw itself when
// it is not valid JSON (the caller already decoded it, so it is).
func compactJSON(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}
