package openai

import (
	"github.com/kirobar/kirobar/canon"
)

// ResponsesResponse renders a collected response as a Responses API
// response object (the non-streaming body). A response the upstream
// failed has status "failed" and the error; one cut at the output limit is
// "incomplete", as OpenAI reports them.
func ResponsesResponse(r canon.Response, id, model string, created int64, opt ResponsesOptions) []byte {
	st := newResponseState(id, model, created, opt)
	for _, b := range r.Content {
		if st.collectSearch(b) { // web search (responses_websearch.go)
			continue
		}
		var pos int
		switch b.Type {
		case canon.BlockText:
			pos = st.newItem(canon.TextBlock, "", "")
			st.items[pos].text = []byte(b.Text)
			if b.WebFields != nil {
				st.items[pos].annotations = b.Citations
			}
		case canon.BlockThinking:
			pos = st.newItem(canon.ThinkingBlock, "", "")
			st.items[pos].text = []byte(b.Thinking)
		case canon.BlockToolUse:
			pos = st.newItem(canon.ToolUseBlock, b.ID, b.Name)
			st.items[pos].text = []byte(b.Input)
		default:
			continue
		}
		st.items[pos].done = true
	}
	end := endFor(r.StopReason, r.Usage)
	if r.Err != nil {
		end = failEnd(r.Err)
	}
	dst := st.appendResponse(make([]byte, 0, 512), end)
	return append(dst, '\n')
}
