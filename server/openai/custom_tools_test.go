package openai

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kirobar/kirobar/canon"
)

// sseEvent is one server-sent event of a Responses stream.
type sseEvent struct {
	name string
	data map[string]any
	raw  string
}

// readSSE splits a Responses stream into events, checking what every
// client relies on: the event line names the data's type and sequence
// numbers count from 0.
func readSSE(t *testing.T, body []byte) []sseEvent {
	t.Helper()
	var out []sseEvent
	for _, block := range strings.Split(strings.TrimSuffix(string(body), "\n\n"), "\n\n") {
		var ev sseEvent
		for _, line := range strings.Split(block, "\n") {
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.raw = strings.TrimPrefix(line, "data: ")
				if err := json.Unmarshal([]byte(ev.raw), &ev.data); err != nil {
					t.Fatalf("event data %s: %v", ev.raw, err)
				}
			}
		}
		if ev.data["type"] != ev.name {
			t.Fatalf("event %q carries type %v", ev.name, ev.data["type"])
		}
		if seq, _ := ev.data["sequence_number"].(float64); int(seq) != len(out) {
			t.Fatalf("event %d (%s) has sequence_number %v", len(out), ev.name, ev.data["sequence_number"])
		}
		out = append(out, ev)
	}
	return out
}

// jsonEqual compares a decoded value with the JSON a test expects.
func jsonEqual(t *testing.T, what string, got any, want string) {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: bad expectation %s: %v", what, want, err)
	}
	if !reflect.DeepEqual(got, w) {
		g, _ := json.Marshal(got)
		t.Errorf("%s =\n %s\nwant\n %s", what, g, want)
	}
}

func customCase(t *testing.T) []canon.Event {
	t.Helper()
	for _, c := range streamCases() {
		if c.name == "custom" {
			return c.events
		}
	}
	t.Fatal("no custom stream case")
	return nil
}

// TestResponsesStreamCustomToolCall checks a custom tool call event by
// event against the shapes of OpenAI's Responses API (openai-python
// ResponseCustomToolCall, ResponseCustomToolCallInputDeltaEvent and
// ResponseCustomToolCallInputDoneEvent): Codex runs the item it gets in
// response.output_item.done.
func TestResponsesStreamCustomToolCall(t *testing.T) {
	events := readSSE(t, encodeAll(newTestResponsesStream(), customCase(t)))
	var names []string
	for _, ev := range events {
		names = append(names, ev.name)
	}
	want := []string{
		"response.created", "response.in_progress",
		"response.output_item.added", "response.content_part.added", "response.output_text.delta",
		"response.output_text.done", "response.content_part.done", "response.output_item.done",
		"response.output_item.added", "response.custom_tool_call_input.delta",
		"response.custom_tool_call_input.done", "response.output_item.done",
		"response.output_item.added", "response.function_call_arguments.delta",
		"response.function_call_arguments.done", "response.output_item.done",
		"response.completed",
	}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("events:\n got %v\nwant %v", names, want)
	}
	script, _ := json.Marshal(customScript)
	jsonEqual(t, "custom call added", events[8].data,
		`{"type":"response.output_item.added","sequence_number":8,"output_index":1,"item":{"id":"ctc_kb1_1","type":"custom_tool_call","status":"in_progress","call_id":"tooluse_C3","name":"exec","namespace":"functions","input":""}}`)
	jsonEqual(t, "input delta", events[9].data,
		`{"type":"response.custom_tool_call_input.delta","sequence_number":9,"item_id":"ctc_kb1_1","output_index":1,"delta":`+string(script)+`}`)
	jsonEqual(t, "input done", events[10].data,
		`{"type":"response.custom_tool_call_input.done","sequence_number":10,"item_id":"ctc_kb1_1","output_index":1,"input":`+string(script)+`}`)
	doneItem := `{"id":"ctc_kb1_1","type":"custom_tool_call","status":"completed","call_id":"tooluse_C3","name":"exec","namespace":"functions","input":` + string(script) + `}`
	jsonEqual(t, "custom call done", events[11].data["item"], doneItem)
	// The namespaced function after it keeps its namespace.
	jsonEqual(t, "function call done", events[15].data["item"],
		`{"id":"fc_kb1_2","type":"function_call","status":"completed","arguments":"{\"duration_ms\":10}","call_id":"tooluse_D4","name":"sleep","namespace":"clock"}`)
	final := events[16].data["response"].(map[string]any)
	output := final["output"].([]any)
	if len(output) != 3 {
		t.Fatalf("final output = %v", output)
	}
	jsonEqual(t, "final custom item", output[1], doneItem)
}

// TestResponsesStreamCustomToolCallParsesWithSDK: an SDK that predates
// custom tools still reads the stream to its end.
func TestResponsesStreamCustomToolCallParsesWithSDK(t *testing.T) {
	p := parseResponses(t, encodeAll(newTestResponsesStream(), customCase(t)))
	if p.finalType != "response.completed" || len(p.final.Output) != 3 || p.text.String() != "Running a script." {
		t.Fatalf("final %s, %d items, text %q", p.finalType, len(p.final.Output), p.text.String())
	}
	if got := p.final.Output[1].Type; got != "custom_tool_call" {
		t.Errorf("item type = %q", got)
	}
}

func TestResponsesBodyCustomToolCall(t *testing.T) {
	var r struct {
		Output []map[string]any `json:"output"`
	}
	if err := json.Unmarshal(ResponsesResponse(collected("custom"), "resp_kb1", "gpt-5", 1, testResponsesOptions()), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Output) != 3 {
		t.Fatalf("output = %v", r.Output)
	}
	script, _ := json.Marshal(customScript)
	jsonEqual(t, "custom item", r.Output[1],
		`{"id":"ctc_kb1_1","type":"custom_tool_call","status":"completed","call_id":"tooluse_C3","name":"exec","namespace":"functions","input":`+string(script)+`}`)
}

// TestResponsesCustomToolCallNoNamespace: a top-level custom tool's call
// carries no namespace, and an unclosed call is finished at the end.
func TestResponsesCustomToolCallNoNamespace(t *testing.T) {
	s := NewResponsesStream("resp_x", "m", 1, ResponsesOptions{Custom: map[string]bool{"apply_patch": true}})
	out := s.Begin(nil)
	out = s.Event(out, canon.Event{Kind: canon.BlockStart, Index: 0, Block: canon.ToolUseBlock, ID: "t1", Name: "apply_patch"})
	out = s.Event(out, canon.Event{Kind: canon.BlockDelta, Index: 0, Block: canon.ToolUseBlock, Delta: `{"input":"*** Begin Patch\n*** End Patch\n"}`})
	out = s.Event(out, canon.Event{Kind: canon.MessageStop, StopReason: canon.StopToolUse})
	events := readSSE(t, out)
	last := events[len(events)-2]
	if last.name != "response.output_item.done" {
		t.Fatalf("events = %v", events)
	}
	jsonEqual(t, "item", last.data["item"],
		`{"id":"ctc_x_0","type":"custom_tool_call","status":"completed","call_id":"t1","name":"apply_patch","input":"*** Begin Patch\n*** End Patch\n"}`)
}

// TestChatStreamCustomToolCall checks the chunks of a custom tool call
// against openai-python's ChoiceDeltaToolCall (type "custom", custom.name,
// custom.input), and that the input put together from them is the
// model's text.
func TestChatStreamCustomToolCall(t *testing.T) {
	out := string(encodeAll(newTestChatStream(), customCase(t)))
	type call struct{ id, typ, name, input, args string }
	calls := map[int]*call{}
	finish := ""
	for _, line := range strings.Split(out, "\n\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var chunk struct {
			Choices []struct {
				Delta struct {
					ToolCalls []struct {
						Index    int                               `json:"index"`
						ID       string                            `json:"id"`
						Type     string                            `json:"type"`
						Function *struct{ Name, Arguments string } `json:"function"`
						Custom   *struct{ Name, Input string }     `json:"custom"`
					} `json:"tool_calls"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			t.Fatalf("chunk %s: %v", data, err)
		}
		for _, ch := range chunk.Choices {
			if ch.FinishReason != nil {
				finish = *ch.FinishReason
			}
			for _, tc := range ch.Delta.ToolCalls {
				c := calls[tc.Index]
				if c == nil {
					c = &call{}
					calls[tc.Index] = c
				}
				c.id += tc.ID
				c.typ += tc.Type
				if tc.Function != nil && tc.Custom != nil {
					t.Errorf("a tool call delta carries both function and custom: %s", data)
				}
				if tc.Function != nil {
					c.name += tc.Function.Name
					c.args += tc.Function.Arguments
				}
				if tc.Custom != nil {
					c.name += tc.Custom.Name
					c.input += tc.Custom.Input
				}
			}
		}
	}
	if len(calls) != 2 || finish != "tool_calls" {
		t.Fatalf("calls %v, finish %q", calls, finish)
	}
	if c := *calls[0]; c != (call{id: "tooluse_C3", typ: "custom", name: "exec", input: customScript}) {
		t.Errorf("custom call = %+v", c)
	}
	if c := *calls[1]; c != (call{id: "tooluse_D4", typ: "function", name: "sleep", args: `{"duration_ms":10}`}) {
		t.Errorf("function call = %+v", c)
	}
}

func TestChatResponseCustomToolCall(t *testing.T) {
	var v struct {
		Choices []struct {
			Message struct {
				ToolCalls []map[string]any `json:"tool_calls"`
			} `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(ChatResponse(collected("custom"), "id", "m", 1, testChatOptions()), &v); err != nil {
		t.Fatal(err)
	}
	calls := v.Choices[0].Message.ToolCalls
	script, _ := json.Marshal(customScript)
	jsonEqual(t, "custom call", calls[0], `{"id":"tooluse_C3","type":"custom","custom":{"name":"exec","input":`+string(script)+`}}`)
	jsonEqual(t, "function call", calls[1], `{"id":"tooluse_D4","type":"function","function":{"name":"sleep","arguments":"{\"duration_ms\":10}"}}`)
}

// TestDecodeCodexCodeMode decodes the first request of Codex 0.169 on its
// default model (captured from the real binary): no top-level tools, an
// additional_tools item of namespaces, and the custom exec tool.
func TestDecodeCodexCodeMode(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "requests", "responses_codex_code_mode.json"))
	if err != nil {
		t.Fatal(err)
	}
	req, opt, err := DecodeResponses(body)
	if err != nil {
		t.Fatalf("DecodeResponses: %v", err)
	}
	var names []string
	for _, tool := range req.Tools {
		names = append(names, tool.Name)
	}
	want := "exec wait request_user_input request_user_input_async sleep followup_task interrupt_agent list_agents send_message spawn_agent wait_agent"
	if strings.Join(names, " ") != want {
		t.Errorf("tools = %v, want %s", names, want)
	}
	exec := req.Tools[0]
	if string(exec.InputSchema) != string(customSchema) || !opt.Custom["exec"] || len(opt.Custom) != 1 {
		t.Errorf("exec schema %s, custom %v", exec.InputSchema, opt.Custom)
	}
	// The grammar comes first, then Codex's own description with the
	// nested tools the script calls.
	grammarAt := strings.Index(exec.Description, "PRAGMA_LINE: /[ \\t]*\\/\\/ @exec:[^\\r\\n]*/")
	declAt := strings.Index(exec.Description, "declare const tools: { exec_command(args: {")
	if grammarAt < 0 || declAt < grammarAt || !strings.HasPrefix(exec.Description, "Free-form tool") {
		t.Errorf("exec description lacks the grammar before the nested tools (grammar at %d, exec_command at %d)", grammarAt, declAt)
	}
	for name, ns := range map[string]string{"exec": "functions", "wait": "functions", "sleep": "clock", "spawn_agent": "collaboration"} {
		if got := opt.Namespaced[name]; got != (NamespacedTool{Namespace: ns, Name: name}) {
			t.Errorf("namespaced[%s] = %+v, want namespace %s", name, got, ns)
		}
	}
	if len(opt.IgnoredTools) != 0 {
		t.Errorf("ignored tools = %v", opt.IgnoredTools)
	}
	last := req.Messages[len(req.Messages)-1]
	if last.Role != "user" || last.Content.Text("") != "say hi" {
		t.Errorf("question = %s %q", last.Role, last.Content.Text(""))
	}
	system := req.System.Text("\n")
	for _, part := range []string{"You are Codex", "<skills_instructions>", "<multi_agent_role>", "<multi_agent_mode>"} {
		if !strings.Contains(system, part) {
			t.Errorf("developer message %q is not in the system prompt", part)
		}
	}
	if req.ToolChoice == nil || req.ToolChoice.Type != "auto" || opt.ParallelToolCalls {
		t.Errorf("tool choice %+v, parallel %v", req.ToolChoice, opt.ParallelToolCalls)
	}
	if req.Thinking == nil || req.OutputConfig.Effort != "low" || opt.ReasoningEffort != "low" {
		t.Errorf("thinking %+v %+v", req.Thinking, req.OutputConfig)
	}
	if err := req.Validate(); err != nil {
		t.Errorf("canonical request invalid: %v", err)
	}
}

// TestDecodeCodexCodeModeToolRound decodes the request Codex sent after
// running the exec call kirobar returned (captured from the real binary):
// the custom_tool_call in the functions namespace pairs with the declared
// exec tool, and its output, a list of input_text parts, is the result.
func TestDecodeCodexCodeModeToolRound(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "requests", "responses_codex_code_mode_tool_round.json"))
	if err != nil {
		t.Fatal(err)
	}
	req, _, err := DecodeResponses(body)
	if err != nil {
		t.Fatalf("DecodeResponses: %v", err)
	}
	n := len(req.Messages)
	asst, results := req.Messages[n-2], req.Messages[n-1]
	if asst.Role != "assistant" || len(asst.Content) != 2 || asst.Content[0].Text != "Let me do that." {
		t.Fatalf("assistant turn = %+v", asst)
	}
	use := asst.Content[1]
	var input struct {
		Input string `json:"input"`
	}
	if err := json.Unmarshal(use.Input, &input); err != nil {
		t.Fatal(err)
	}
	if use.Type != canon.BlockToolUse || use.Name != "exec" || use.ID != "tooluse_cm_1" || !strings.Contains(input.Input, "tools.exec_command({cmd:") {
		t.Errorf("exec call = %+v", use)
	}
	if req.Tools[0].Name != "exec" {
		t.Errorf("the call's tool is not declared first: %s", req.Tools[0].Name)
	}
	if results.Role != "user" || len(results.Content) != 1 || results.Content[0].ToolUseID != "tooluse_cm_1" {
		t.Fatalf("result turn = %+v", results)
	}
	if got := results.Content[0].Content.Text(""); !strings.Contains(got, "Script completed") || !strings.Contains(got, "written-by-exec") {
		t.Errorf("result text = %q", got)
	}
	if err := req.Validate(); err != nil {
		t.Errorf("canonical request invalid: %v", err)
	}
}

// TestDecodeAdditionalTools: tools declared in additional_tools items,
// wherever they stand, join the top-level ones under the same naming
// rules, and tool_choice can name a custom tool.
func TestDecodeAdditionalTools(t *testing.T) {
	body := `{"model":"m","tools":[{"type":"function","name":"wait"}],
	"tool_choice":{"type":"custom","name":"patch","namespace":"edit"},
	"input":[
		{"role":"user","content":"hi"},
		{"type":"additional_tools","role":"developer","tools":[
			{"type":"namespace","name":"agents","tools":[{"type":"function","name":"wait","description":"Wait for agents."}]},
			{"type":"custom","name":"run","description":"Run it.","format":{"type":"text"}}
		]},
		{"role":"assistant","content":"ok"},
		{"type":"additional_tools","tools":[{"type":"namespace","name":"edit","tools":[
			{"type":"custom","name":"patch","format":{"type":"grammar","syntax":"regex","definition":"^\\*\\*\\* .*$"}}]}]},
		{"type":"custom_tool_call","call_id":"c1","name":"patch","namespace":"edit","input":"*** x"},
		{"type":"custom_tool_call_output","call_id":"c1","output":"done"}
	]}`
	req, opt, err := DecodeResponses([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range req.Tools {
		names = append(names, tool.Name)
	}
	if got := strings.Join(names, " "); got != "wait agents__wait run patch" {
		t.Fatalf("tools = %s", got)
	}
	if opt.Namespaced["agents__wait"] != (NamespacedTool{Namespace: "agents", Name: "wait"}) || opt.Namespaced["patch"] != (NamespacedTool{Namespace: "edit", Name: "patch"}) {
		t.Errorf("namespaced = %v", opt.Namespaced)
	}
	if !opt.Custom["run"] || !opt.Custom["patch"] || opt.Custom["wait"] || opt.Custom["agents__wait"] {
		t.Errorf("custom = %v", opt.Custom)
	}
	if d := req.Tools[2].Description; d != "Free-form tool: its input is plain text, not JSON. Put the whole text, exactly as the tool should receive it, in the string field \"input\".\n\nRun it." {
		t.Errorf("text-format description = %q", d)
	}
	if d := req.Tools[3].Description; !strings.Contains(d, "regular expression:\n```\n^\\*\\*\\* .*$\n```") {
		t.Errorf("regex description = %q", d)
	}
	if req.ToolChoice == nil || req.ToolChoice.Type != "tool" || req.ToolChoice.Name != "patch" {
		t.Errorf("tool choice = %+v", req.ToolChoice)
	}
	roles := make([]string, len(req.Messages))
	for i, m := range req.Messages {
		roles[i] = m.Role
	}
	if got := strings.Join(roles, " "); got != "user assistant user" {
		t.Fatalf("roles = %s (additional_tools items must add no message)", got)
	}
	use := req.Messages[1].Content[1]
	if use.Name != "patch" || string(use.Input) != `{"input":"*** x"}` {
		t.Errorf("custom call = %+v", use)
	}
}

func TestDecodeChatCustomTools(t *testing.T) {
	body := `{"model":"m","tool_choice":{"type":"custom","custom":{"name":"patch"}},
	"tools":[
		{"type":"custom","custom":{"name":"patch","description":"Apply a patch.","format":{"type":"grammar","grammar":{"syntax":"lark","definition":"start: \"*** Begin Patch\""}}}},
		{"type":"custom","name":"note","description":"Take a note."},
		{"type":"function","function":{"name":"f"}}
	],
	"messages":[
		{"role":"user","content":"go"},
		{"role":"assistant","tool_calls":[{"id":"c1","type":"custom","custom":{"name":"patch","input":"*** Begin Patch"}}]},
		{"role":"tool","tool_call_id":"c1","content":"applied"}
	]}`
	req, opt, err := DecodeChat([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Tools) != 3 || !opt.Custom["patch"] || !opt.Custom["note"] || opt.Custom["f"] {
		t.Fatalf("tools %+v, custom %v", req.Tools, opt.Custom)
	}
	if d := req.Tools[0].Description; !strings.Contains(d, "Lark grammar:\n```\nstart: \"*** Begin Patch\"\n```\n\nApply a patch.") {
		t.Errorf("nested grammar description = %q", d)
	}
	if string(req.Tools[1].InputSchema) != string(customSchema) || !strings.HasSuffix(req.Tools[1].Description, "\n\nTake a note.") {
		t.Errorf("flat custom tool = %+v", req.Tools[1])
	}
	if req.ToolChoice == nil || req.ToolChoice.Type != "tool" || req.ToolChoice.Name != "patch" {
		t.Errorf("tool choice = %+v", req.ToolChoice)
	}
	use := req.Messages[1].Content[0]
	if use.Name != "patch" || use.ID != "c1" || string(use.Input) != `{"input":"*** Begin Patch"}` {
		t.Errorf("custom call in history = %+v", use)
	}
}

func TestCustomText(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{`{"input":"a\nb"}`, "a\nb"},
		{`  {"input" : "x", "extra": 1} `, "x"},
		{`{"code":"only field"}`, "only field"},
		{`{"input":{"nested":true}}`, `{"nested":true}`},
		{`{"a":"1","b":"2"}`, `{"a":"1","b":"2"}`},
		{`not json at all`, "not json at all"},
		{`{"input":"cut`, `{"input":"cut`},
		{``, ""},
		{`{}`, "{}"},
	} {
		if got := customText([]byte(tc.raw)); got != tc.want {
			t.Errorf("customText(%q) = %q, want %q", tc.raw, got, tc.want)
		}
	}
}

func TestCustomToolGrammarBound(t *testing.T) {
	long := strings.Repeat("é", maxGrammar) // two bytes a character
	tool, err := customTool("tools[0]", "x", "", &customFormat{Type: "grammar", Syntax: "lark", Definition: long})
	if err != nil {
		t.Fatal(err)
	}
	if len(tool.Description) > maxGrammar+300 || !strings.Contains(tool.Description, "(grammar cut at 4096 of 8192 bytes)") {
		t.Errorf("description of %d bytes ends %q", len(tool.Description), tool.Description[len(tool.Description)-60:])
	}
	if !strings.Contains(tool.Description, "é\n…") {
		t.Error("grammar not cut at a character boundary")
	}
	tool, err = customTool("tools[0]", "x", "Desc.", &customFormat{Type: "grammar", Syntax: "ebnf", Definition: "a ::= 'b'"})
	if err != nil || !strings.Contains(tool.Description, "this ebnf grammar:\n```\na ::= 'b'\n```\n\nDesc.") {
		t.Errorf("other syntax: %q, %v", tool.Description, err)
	}
}
