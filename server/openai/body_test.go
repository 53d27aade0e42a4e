package openai

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/openai/openai-go"
	"github.com/openai/openai-go/responses"

	"github.com/kirobar/kirobar/canon"
)

// collected folds a stream case into the response the server would hold.
func collected(name string) canon.Response {
	var c canon.Collector
	for _, tc := range streamCases() {
		if tc.name != name {
			continue
		}
		for _, ev := range tc.events {
			if ev.Kind != 0 {
				c.Add(ev)
			}
		}
	}
	return c.Response()
}

func TestChatResponseGolden(t *testing.T) {
	for _, name := range []string{"text", "tools", "custom", "thinking", "max_tokens"} {
		t.Run(name, func(t *testing.T) {
			golden(t, "chat_body_"+name+".json", ChatResponse(collected(name), "chatcmpl-kb1", "claude-sonnet-4.5", 1760000000, testChatOptions()))
		})
	}
}

func TestChatResponseParsesWithSDK(t *testing.T) {
	for _, tc := range []struct {
		name, finish, reasoning string
		content                 *string
		calls                   int
	}{
		{name: "text", finish: "stop", content: ptr("Hello, \"world\" <3\n")},
		{name: "tools", finish: "tool_calls", content: ptr("I'll look."), calls: 2},
		{name: "thinking", finish: "stop", content: ptr("Hi!"), reasoning: `"The user wants a greeting."`},
		{name: "max_tokens", finish: "length", content: ptr("Once upon a")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cc openai.ChatCompletion
			if err := json.Unmarshal(ChatResponse(collected(tc.name), "chatcmpl-kb1", "m", 1, testChatOptions()), &cc); err != nil {
				t.Fatal(err)
			}
			ch := cc.Choices[0]
			if string(ch.FinishReason) != tc.finish || ch.Message.Content != *tc.content || len(ch.Message.ToolCalls) != tc.calls {
				t.Errorf("choice = %s", ch.RawJSON())
			}
			if got := ch.Message.JSON.ExtraFields["reasoning_content"].Raw(); tc.reasoning != "" && got != tc.reasoning {
				t.Errorf("reasoning_content = %s", got)
			}
			if cc.Object != "chat.completion" || cc.Usage.TotalTokens != 137 {
				t.Errorf("object %q usage %+v", cc.Object, cc.Usage)
			}
		})
	}
}

func TestChatResponseToolsOnly(t *testing.T) {
	r := canon.Response{
		Content:    []canon.Block{{Type: canon.BlockToolUse, ID: "t1", Name: "f"}},
		StopReason: canon.StopToolUse,
	}
	var v struct {
		Choices []struct {
			Message struct {
				Content   *string `json:"content"`
				ToolCalls []struct {
					Function struct{ Arguments string } `json:"function"`
				} `json:"tool_calls"`
			} `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(ChatResponse(r, "id", "m", 1, ChatOptions{}), &v); err != nil {
		t.Fatal(err)
	}
	msg := v.Choices[0].Message
	if msg.Content != nil || msg.ToolCalls[0].Function.Arguments != "{}" {
		t.Errorf("content %v, arguments %q; want null and {}", msg.Content, msg.ToolCalls[0].Function.Arguments)
	}
}

func TestResponsesResponseGolden(t *testing.T) {
	for _, name := range []string{"text", "tools", "custom", "thinking", "max_tokens"} {
		t.Run(name, func(t *testing.T) {
			golden(t, "responses_body_"+name+".json", ResponsesResponse(collected(name), "resp_kb1", "gpt-5", 1760000000, testResponsesOptions()))
		})
	}
}

func TestResponsesResponseParsesWithSDK(t *testing.T) {
	for _, tc := range []struct {
		name, status, text string
		items              int
	}{
		{"text", "completed", "Hello, \"world\" <3\n", 1},
		{"tools", "completed", "I'll look.", 3},
		{"thinking", "completed", "Hi!", 2},
		{"max_tokens", "incomplete", "Once upon a", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r responses.Response
			if err := json.Unmarshal(ResponsesResponse(collected(tc.name), "resp_kb1", "gpt-5", 1, testResponsesOptions()), &r); err != nil {
				t.Fatal(err)
			}
			if string(r.Status) != tc.status || len(r.Output) != tc.items || r.OutputText() != tc.text {
				t.Errorf("status %q, items %d, text %q", r.Status, len(r.Output), r.OutputText())
			}
			if r.Usage.TotalTokens != 137 {
				t.Errorf("usage = %+v", r.Usage)
			}
		})
	}
}

func TestResponsesResponseFailed(t *testing.T) {
	r := collected("text")
	r.Err = &canon.StreamError{Type: "invalid_request_error", Message: "bad image"}
	var resp responses.Response
	if err := json.Unmarshal(ResponsesResponse(r, "resp_1", "m", 1, ResponsesOptions{}), &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Status != "failed" || resp.Error.Code != "invalid_prompt" || resp.Error.Message != "bad image" {
		t.Errorf("status %q error %+v", resp.Status, resp.Error)
	}
}

func TestErrorBody(t *testing.T) {
	for _, tc := range []struct {
		message, typ, param, code, want string
	}{
		{"Model context limit reached.", "invalid_request_error", "messages", CodeContextLengthExceeded,
			`{"error":{"message":"Model context limit reached.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}` + "\n"},
		{"pool exhausted", "requests", "", "", `{"error":{"message":"pool exhausted","type":"requests","param":null,"code":null}}` + "\n"},
	} {
		if got := string(ErrorBody(tc.message, tc.typ, tc.param, tc.code)); got != tc.want {
			t.Errorf("ErrorBody = %s, want %s", got, tc.want)
		}
	}
	re := &RequestError{Status: 400, Message: "n: no", Param: "n"}
	var v struct {
		Error struct{ Message, Type, Param string } `json:"error"`
	}
	if err := json.Unmarshal(re.Body(), &v); err != nil || v.Error.Type != "invalid_request_error" || v.Error.Param != "n" {
		t.Errorf("RequestError.Body = %s (%v)", re.Body(), err)
	}
}

func TestErrorType(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   string
	}{
		{http.StatusBadRequest, "invalid_request_error"},
		{http.StatusUnauthorized, "invalid_request_error"},
		{http.StatusForbidden, "invalid_request_error"},
		{http.StatusNotFound, "invalid_request_error"},
		{http.StatusRequestEntityTooLarge, "invalid_request_error"},
		{http.StatusTooManyRequests, "requests"},
		{http.StatusInternalServerError, "server_error"},
		{http.StatusBadGateway, "server_error"},
		{http.StatusServiceUnavailable, "server_error"},
	} {
		if got := ErrorType(tc.status); got != tc.want {
			t.Errorf("ErrorType(%d) = %q, want %q", tc.status, got, tc.want)
		}
	}
}

func ptr(s string) *string { return &s }
