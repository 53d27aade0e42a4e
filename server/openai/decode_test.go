package openai

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kirobar/kirobar/canon"
)

// decoded renders a decoder's result for golden comparison.
func decoded(t *testing.T, req *canon.Request, opt any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(struct {
		Request *canon.Request
		Options any
	}{req, opt}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecodeGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "requests", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no request fixtures: %v", err)
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			if strings.HasPrefix(name, "chat_") {
				req, opt, err := DecodeChat(body)
				if err != nil {
					t.Fatalf("DecodeChat: %v", err)
				}
				got = decoded(t, req, opt)
			} else {
				req, opt, err := DecodeResponses(body)
				if err != nil {
					t.Fatalf("DecodeResponses: %v", err)
				}
				got = decoded(t, req, opt)
			}
			golden(t, filepath.Join("decoded", name+".json"), got)
		})
	}
}

// TestDecodeCodexFirstRequest checks what matters about Codex's first
// request: the prompt stays the question, developer messages are the
// system prompt, and the model sees every function and the web search
// tool, which kirobar serves.
func TestDecodeCodexFirstRequest(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "requests", "responses_codex_first.json"))
	if err != nil {
		t.Fatal(err)
	}
	req, opt, err := DecodeResponses(body)
	if err != nil {
		t.Fatalf("DecodeResponses: %v", err)
	}
	last := req.Messages[len(req.Messages)-1]
	if last.Role != "user" || last.Content.Text("") != "say hi" {
		t.Errorf("question = %s %q, want user \"say hi\"", last.Role, last.Content.Text(""))
	}
	for _, m := range req.Messages {
		if m.Role != "user" {
			t.Errorf("unexpected %s message in a first request", m.Role)
		}
	}
	if len(req.System) != 2 || !strings.Contains(req.System[1].Text, "You are Codex") {
		t.Errorf("system = %+v, want the two developer messages", req.System)
	}
	var names []string
	for _, tool := range req.Tools {
		names = append(names, tool.Name)
		if tool.IsWebSearch() {
			if tool.Type != canon.WebSearchType {
				t.Errorf("web search tool type %q", tool.Type)
			}
			continue
		}
		if !json.Valid(tool.InputSchema) {
			t.Errorf("tool %s schema is not JSON", tool.Name)
		}
	}
	want := "exec_command write_stdin update_plan spawn_agent send_input wait close_agent web_search"
	if strings.Join(names, " ") != want {
		t.Errorf("tools = %v, want %s", names, want)
	}
	if len(opt.IgnoredTools) != 0 {
		t.Errorf("ignored tools = %v", opt.IgnoredTools)
	}
	if opt.Namespaced["spawn_agent"] != (NamespacedTool{Namespace: "multi_agent_v1", Name: "spawn_agent"}) {
		t.Errorf("namespaced = %v", opt.Namespaced)
	}
	if req.ToolChoice == nil || req.ToolChoice.Type != "auto" || !opt.ParallelToolCalls || !opt.Stream || !req.Stream {
		t.Errorf("tool choice %+v, parallel %v, stream %v/%v", req.ToolChoice, opt.ParallelToolCalls, opt.Stream, req.Stream)
	}
	if req.Thinking != nil {
		t.Errorf("thinking %+v without a reasoning effort", req.Thinking)
	}
	if strings.Join(opt.IgnoredInclude, ",") != "reasoning.encrypted_content" {
		t.Errorf("ignored include = %v", opt.IgnoredInclude)
	}
	if err := req.Validate(); err != nil {
		t.Errorf("canonical request invalid: %v", err)
	}
}

func TestDecodeCodexToolRound(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "requests", "responses_codex_tool_round.json"))
	if err != nil {
		t.Fatal(err)
	}
	req, opt, err := DecodeResponses(body)
	if err != nil {
		t.Fatalf("DecodeResponses: %v", err)
	}
	roles := make([]string, len(req.Messages))
	for i, m := range req.Messages {
		roles[i] = m.Role
	}
	if got := strings.Join(roles, " "); got != "user assistant user system user" {
		t.Fatalf("roles = %s", got)
	}
	asst := req.Messages[1].Content
	if len(asst) != 3 || asst[0].Text != "Listing the files." || asst[1].Name != "exec_command" || asst[2].Name != "spawn_agent" || asst[2].ID != "tooluse_B2" {
		t.Errorf("assistant turn = %+v", asst)
	}
	results := req.Messages[2].Content
	if len(results) != 2 || results[0].ToolUseID != "tooluse_A1" || results[1].ToolUseID != "tooluse_B2" {
		t.Fatalf("tool results = %+v", results)
	}
	if img := results[1].Content[1]; img.Type != canon.BlockImage || img.Source.MediaType != "image/png" {
		t.Errorf("tool output image = %+v", img)
	}
	// A namespaced function whose name is taken is renamed, and tool_choice
	// and the options follow the rename.
	if req.ToolChoice == nil || req.ToolChoice.Type != "tool" || req.ToolChoice.Name != "multi_agent_v1__wait" {
		t.Errorf("tool choice = %+v", req.ToolChoice)
	}
	if opt.Namespaced["multi_agent_v1__wait"] != (NamespacedTool{Namespace: "multi_agent_v1", Name: "wait"}) {
		t.Errorf("namespaced = %v", opt.Namespaced)
	}
	if strings.Join(opt.IgnoredTools, ",") != "file_search" {
		t.Errorf("ignored tools = %v", opt.IgnoredTools)
	}
	// The custom apply_patch tool is offered as a function of one string
	// whose description carries the grammar.
	patch := req.Tools[len(req.Tools)-1]
	if patch.Name != "apply_patch" || !opt.Custom["apply_patch"] || string(patch.InputSchema) != string(customSchema) ||
		!strings.Contains(patch.Description, "Lark grammar:\n```\nstart: begin_patch hunk+ end_patch") || !strings.HasSuffix(patch.Description, "```\n\nApply a patch.") {
		t.Errorf("custom tool = %+v", patch)
	}
	if req.Thinking == nil || req.Thinking.Type != "adaptive" || req.OutputConfig.Effort != "high" {
		t.Errorf("thinking = %+v %+v", req.Thinking, req.OutputConfig)
	}
	if req.MaxTokens != 4096 || opt.ParallelToolCalls || *req.Temperature != 0.4 {
		t.Errorf("max tokens %d, parallel %v, temperature %v", req.MaxTokens, opt.ParallelToolCalls, *req.Temperature)
	}
	if !strings.Contains(req.System[len(req.System)-1].Text, `{"type":"object","properties":{"summary":{"type":"string"}}}`) {
		t.Errorf("json_schema format not turned into an instruction: %+v", req.System)
	}
}

func TestDecodeChatToolRound(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "requests", "chat_tool_round.json"))
	if err != nil {
		t.Fatal(err)
	}
	req, opt, err := DecodeChat(body)
	if err != nil {
		t.Fatalf("DecodeChat: %v", err)
	}
	if req.System.Text("|") != "You are terse.|Prefer tools." {
		t.Errorf("system = %q", req.System.Text("|"))
	}
	roles := make([]string, len(req.Messages))
	for i, m := range req.Messages {
		roles[i] = m.Role
	}
	if got := strings.Join(roles, " "); got != "user assistant user system user" {
		t.Fatalf("roles = %s", got)
	}
	if img := req.Messages[0].Content[1]; img.Type != canon.BlockImage || img.Source.MediaType != "image/jpeg" || img.Source.Data != "/9j/4AAQSkZJRg==" {
		t.Errorf("image = %+v", img)
	}
	calls := req.Messages[1].Content
	if len(calls) != 2 || string(calls[1].Input) != `{"city":"Oslo"}` {
		t.Errorf("parallel calls = %+v", calls)
	}
	results := req.Messages[2].Content
	if len(results) != 2 || results[1].Content.Text("") != "4C, snow" {
		t.Errorf("grouped tool results = %+v", results)
	}
	if req.ToolChoice.Type != "any" || req.MaxTokens != 300 || *req.Temperature != 1 || strings.Join(req.StopSequences, ",") != "\n\n" {
		t.Errorf("choice %+v, max %d, temperature %v, stop %q", req.ToolChoice, req.MaxTokens, *req.Temperature, req.StopSequences)
	}
	if string(req.Tools[1].InputSchema) != string(emptySchema) {
		t.Errorf("tool without parameters has schema %s", req.Tools[1].InputSchema)
	}
	if opt.Stream || opt.IncludeUsage || opt.N != 1 {
		t.Errorf("options = %+v", opt)
	}
}

func TestDecodeChatReasoning(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "requests", "chat_reasoning_stream.json"))
	if err != nil {
		t.Fatal(err)
	}
	req, opt, err := DecodeChat(body)
	if err != nil {
		t.Fatalf("DecodeChat: %v", err)
	}
	if req.Thinking == nil || req.Thinking.Type != "adaptive" || req.OutputConfig.Effort != "low" {
		t.Errorf("thinking = %+v %+v", req.Thinking, req.OutputConfig)
	}
	if req.MaxTokens != 2000 {
		t.Errorf("max_completion_tokens should win over max_tokens: %d", req.MaxTokens)
	}
	if strings.Join(req.StopSequences, ",") != "QED,∎" {
		t.Errorf("stop = %q", req.StopSequences)
	}
	if got := string(req.Messages[1].Content[1].Input); got != `{"raw_arguments":"not json"}` {
		t.Errorf("broken arguments kept as %s", got)
	}
	if req.ToolChoice.Type != "tool" || req.ToolChoice.Name != "calc" {
		t.Errorf("tool choice = %+v", req.ToolChoice)
	}
	if !opt.Stream || !opt.IncludeUsage || strings.Join(opt.Ignored, ",") != "web_search_options,logprobs" {
		t.Errorf("options = %+v", opt)
	}
}

func TestDecodeStringInput(t *testing.T) {
	req, opt, err := DecodeResponses([]byte(`{"model":"gpt-5","instructions":"Be brief.","input":"hello","reasoning":{"effort":"none"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Messages) != 1 || req.Messages[0].Content.Text("") != "hello" || req.System.Text("") != "Be brief." {
		t.Errorf("request = %+v", req)
	}
	if req.Thinking != nil || opt.Instructions != "Be brief." || !opt.ParallelToolCalls {
		t.Errorf("thinking %+v, options %+v", req.Thinking, opt)
	}
}

func TestDecodeChatErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body, param, msg string
	}{
		{"not json", `{"model":`, "", "invalid JSON"},
		{"wrong type", `{"model":"m","messages":"hi"}`, "messages", "expected array"},
		{"no model", `{"messages":[{"role":"user","content":"hi"}]}`, "model", "model: field required"},
		{"no messages", `{"model":"m","messages":[]}`, "messages", "at least one"},
		{"only system", `{"model":"m","messages":[{"role":"system","content":"x"}]}`, "messages", "at least one"},
		{"n > 1", `{"model":"m","n":3,"messages":[{"role":"user","content":"hi"}]}`, "n", "exactly one choice"},
		{"n = 0", `{"model":"m","n":0,"messages":[{"role":"user","content":"hi"}]}`, "n", "at least 1"},
		{"remote image", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}`, "messages[0].content[0].image_url.url", "remote image URLs are not supported"},
		{"not an image", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":"data:text/plain;base64,aGk="}]}]}`, "messages[0].content[0].image_url.url", "is not an image"},
		{"not base64", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,abc"}}]}]}`, "messages[0].content[0].image_url.url", "base64"},
		{"image in system", `{"model":"m","messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]},{"role":"user","content":"x"}]}`, "messages[0].content[0].type", "only allowed in user"},
		{"audio part", `{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]}`, "messages[0].content[0].type", "unsupported content part"},
		{"bad role", `{"model":"m","messages":[{"role":"robot","content":"x"}]}`, "messages[0].role", "unexpected role"},
		{"function role", `{"model":"m","messages":[{"role":"function","name":"f","content":"x"}]}`, "messages[0].role", "deprecated"},
		{"tool without id", `{"model":"m","messages":[{"role":"tool","content":"x"}]}`, "messages[0].tool_call_id", "field required"},
		{"call without id", `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f"}}]}]}`, "messages[0].tool_calls[0].id", "field required"},
		{"functions", `{"model":"m","functions":[{"name":"f"}],"messages":[{"role":"user","content":"x"}]}`, "functions", "deprecated"},
		{"hosted tool", `{"model":"m","tools":[{"type":"web_search"}],"messages":[{"role":"user","content":"x"}]}`, "tools[0].type", "function and custom tools only"},
		{"unnamed custom tool", `{"model":"m","tools":[{"type":"custom","custom":{"description":"x"}}],"messages":[{"role":"user","content":"x"}]}`, "tools[0].custom.name", "field required"},
		{"custom tool clash", `{"model":"m","tools":[{"type":"function","function":{"name":"x"}},{"type":"custom","name":"x"}],"messages":[{"role":"user","content":"x"}]}`, "tools[1].name", "duplicate"},
		{"custom tool bad format", `{"model":"m","tools":[{"type":"custom","custom":{"name":"x","format":{"type":"yaml"}}}],"messages":[{"role":"user","content":"x"}]}`, "tools[0].custom.format.type", "unknown custom tool format"},
		{"custom grammar without definition", `{"model":"m","tools":[{"type":"custom","custom":{"name":"x","format":{"type":"grammar","grammar":{"syntax":"lark"}}}}],"messages":[{"role":"user","content":"x"}]}`, "tools[0].custom.format.definition", "needs a definition"},
		{"custom call without name", `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"custom","custom":{"input":"x"}}]}]}`, "messages[0].tool_calls[0].custom.name", "field required"},
		{"custom choice for a function", `{"model":"m","tool_choice":{"type":"custom","custom":{"name":"f"}},"tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"x"}]}`, "tool_choice", "not among"},
		{"function choice for a custom tool", `{"model":"m","tool_choice":{"type":"function","function":{"name":"x"}},"tools":[{"type":"custom","name":"x"}],"messages":[{"role":"user","content":"x"}]}`, "tool_choice", "not among"},
		{"duplicate tool", `{"model":"m","tools":[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"x"}]}`, "tools[1].function.name", "duplicate"},
		{"unknown choice", `{"model":"m","tool_choice":{"type":"function","function":{"name":"g"}},"tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"x"}]}`, "tool_choice", "not among"},
		{"required without tools", `{"model":"m","tool_choice":"required","messages":[{"role":"user","content":"x"}]}`, "tool_choice", "needs at least one"},
		{"bad effort", `{"model":"m","reasoning_effort":"maximal","messages":[{"role":"user","content":"x"}]}`, "reasoning_effort", "unknown reasoning effort"},
		{"bad stop", `{"model":"m","stop":5,"messages":[{"role":"user","content":"x"}]}`, "stop", "expected a string"},
		{"negative max", `{"model":"m","max_tokens":-1,"messages":[{"role":"user","content":"x"}]}`, "max_tokens", "positive"},
		{"audio output", `{"model":"m","modalities":["text","audio"],"messages":[{"role":"user","content":"x"}]}`, "modalities", "not supported"},
		{"bad format", `{"model":"m","response_format":{"type":"yaml"},"messages":[{"role":"user","content":"x"}]}`, "response_format", "unsupported format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := DecodeChat([]byte(tc.body))
			if err == nil {
				t.Fatal("decoded without error")
			}
			re := asRequestError(t, err)
			if re.Status != http.StatusBadRequest || re.Param != tc.param || !strings.Contains(re.Message, tc.msg) {
				t.Errorf("error = %+v, want param %q and message containing %q", re, tc.param, tc.msg)
			}
		})
	}
}

func TestDecodeResponsesErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body, param, code, msg string
	}{
		{"not json", `[`, "", "", "invalid JSON"},
		{"no model", `{"input":"hi"}`, "model", "", "field required"},
		{"no input", `{"model":"m"}`, "input", "", "field required"},
		{"empty input", `{"model":"m","input":[]}`, "input", "", "at least one"},
		{"previous response", `{"model":"m","input":"hi","previous_response_id":"resp_1"}`, "previous_response_id", CodePreviousResponse, "keeps no responses"},
		{"conversation", `{"model":"m","input":"hi","conversation":"conv_1"}`, "conversation", "", "keeps no conversations"},
		{"background", `{"model":"m","input":"hi","background":true}`, "background", "", "not supported"},
		{"prompt template", `{"model":"m","input":"hi","prompt":{"id":"pmpt_1"}}`, "prompt", "", "templates"},
		{"item reference", `{"model":"m","input":[{"type":"item_reference","id":"msg_1"}]}`, "input[0].type", "", "item references"},
		{"unknown item", `{"model":"m","input":[{"type":"computer_call_output","call_id":"c"}]}`, "input[0].type", "", "unsupported input item"},
		{"no type or role", `{"model":"m","input":[{"content":"x"}]}`, "input[0].type", "", "field required"},
		{"bad role", `{"model":"m","input":[{"role":"critic","content":"x"}]}`, "input[0].role", "", "unexpected role"},
		{"remote image", `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":"https://x/y.png"}]}]}`, "input[0].content[0].image_url", "", "remote image URLs"},
		{"file id image", `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"file_1"}]}]}`, "input[0].content[0].file_id", "", "uploaded files"},
		{"input file", `{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_data":"x"}]}]}`, "input[0].content[0].type", "", "unsupported content part"},
		{"image from assistant", `{"model":"m","input":[{"role":"assistant","content":[{"type":"input_image","image_url":"data:image/png;base64,AA=="}]}]}`, "input[0].content[0].type", "", "only allowed in user"},
		{"call without id", `{"model":"m","input":[{"type":"function_call","name":"f","arguments":"{}"}]}`, "input[0].call_id", "", "field required"},
		{"output without id", `{"model":"m","input":[{"type":"function_call_output","output":"x"}]}`, "input[0].call_id", "", "field required"},
		{"bad output", `{"model":"m","input":[{"type":"function_call_output","call_id":"c","output":5}]}`, "input[0].output", "", "expected a string"},
		{"hosted choice", `{"model":"m","input":"hi","tools":[{"type":"file_search"}],"tool_choice":{"type":"file_search"}}`, "tool_choice", "", "Kiro cannot run"},
		{"required hosted only", `{"model":"m","input":"hi","tools":[{"type":"file_search"}],"tool_choice":"required"}`, "tool_choice", "", "hosted tools"},
		{"web search choice without the tool", `{"model":"m","input":"hi","tools":[{"type":"file_search"}],"tool_choice":{"type":"web_search"}}`, "tool_choice", "", "Kiro cannot run"},
		{"unknown function choice", `{"model":"m","input":"hi","tools":[{"type":"function","name":"f"}],"tool_choice":{"type":"function","name":"g"}}`, "tool_choice", "", "not among"},
		{"duplicate function", `{"model":"m","input":"hi","tools":[{"type":"function","name":"f"},{"type":"function","name":"f"}]}`, "tools[1].name", "", "duplicate"},
		{"unnamed function", `{"model":"m","input":"hi","tools":[{"type":"function"}]}`, "tools[0].name", "", "field required"},
		{"unnamed namespace", `{"model":"m","input":"hi","tools":[{"type":"namespace","tools":[]}]}`, "tools[0].name", "", "field required"},
		{"namespace clash", `{"model":"m","input":"hi","tools":[{"type":"function","name":"f"},{"type":"function","name":"ns__f"},{"type":"namespace","name":"ns","tools":[{"type":"function","name":"f"}]}]}`, "tools[2].tools[0].name", "", "clashes"},
		{"bad effort", `{"model":"m","input":"hi","reasoning":{"effort":"extreme"}}`, "reasoning.effort", "", "unknown reasoning effort"},
		{"instructions array", `{"model":"m","input":"hi","instructions":["x"]}`, "instructions", "", "expected a string"},
		{"negative max", `{"model":"m","input":"hi","max_output_tokens":-5}`, "max_output_tokens", "", "positive"},
		{"schema missing", `{"model":"m","input":"hi","text":{"format":{"type":"json_schema","name":"x"}}}`, "text.format", "", "needs a schema"},
		{"additional tool clash", `{"model":"m","tools":[{"type":"function","name":"f"}],"input":[{"type":"additional_tools","role":"developer","tools":[{"type":"custom","name":"f"}]},{"role":"user","content":"hi"}]}`, "input[0].tools[0].name", "", "duplicate"},
		{"additional namespace duplicate", `{"model":"m","tools":[{"type":"namespace","name":"ns","tools":[{"type":"function","name":"f"}]}],"input":[{"type":"additional_tools","tools":[{"type":"namespace","name":"ns","tools":[{"type":"custom","name":"f"}]}]},{"role":"user","content":"hi"}]}`, "input[0].tools[0].tools[0].name", "", "duplicate function"},
		{"additional tools not a list", `{"model":"m","input":[{"type":"additional_tools","tools":{"type":"custom"}},{"role":"user","content":"hi"}]}`, "input[0].tools", "", "input[0].tools: expected array"},
		{"custom bad format", `{"model":"m","input":"hi","tools":[{"type":"custom","name":"x","format":{"type":"json"}}]}`, "tools[0].format.type", "", "unknown custom tool format"},
		{"custom grammar without definition", `{"model":"m","input":"hi","tools":[{"type":"namespace","name":"ns","tools":[{"type":"custom","name":"x","format":{"type":"grammar","syntax":"regex"}}]}]}`, "tools[0].tools[0].format.definition", "", "needs a definition"},
		{"custom choice for a function", `{"model":"m","input":"hi","tools":[{"type":"function","name":"f"}],"tool_choice":{"type":"custom","name":"f"}}`, "tool_choice", "", "not among"},
		{"custom call without name", `{"model":"m","input":[{"type":"custom_tool_call","call_id":"c","input":"x"}]}`, "input[0].name", "", "field required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := DecodeResponses([]byte(tc.body))
			if err == nil {
				t.Fatal("decoded without error")
			}
			re := asRequestError(t, err)
			if re.Status != http.StatusBadRequest || re.Param != tc.param || re.Code != tc.code || !strings.Contains(re.Message, tc.msg) {
				t.Errorf("error = %+v, want param %q, code %q, message containing %q", re, tc.param, tc.code, tc.msg)
			}
		})
	}
}
