package canon

import "testing"

func TestCollector(t *testing.T) {
	var c Collector
	for _, ev := range []Event{
		{Kind: BlockStart, Index: 0, Block: ThinkingBlock},
		{Kind: BlockDelta, Index: 0, Delta: "hmm"},
		{Kind: BlockStop, Index: 0, Signature: "sig"},
		{Kind: BlockStart, Index: 1, Block: TextBlock},
		{Kind: BlockDelta, Index: 1, Delta: "Hel"},
		{Kind: BlockDelta, Index: 1, Delta: "lo"},
		{Kind: BlockStop, Index: 1},
		{Kind: BlockStart, Index: 2, Block: ToolUseBlock, ID: "t1", Name: "Bash"},
		{Kind: BlockDelta, Index: 2, Delta: `{"command":`},
		{Kind: BlockDelta, Index: 2, Delta: `"ls"}`},
		{Kind: BlockStop, Index: 2},
		{Kind: BlockStart, Index: 3, Block: ToolUseBlock, ID: "t2", Name: "Empty"},
		{Kind: BlockStop, Index: 3},
		{Kind: MessageStop, StopReason: StopToolUse, Usage: Usage{InputTokens: 10, OutputTokens: 3}},
	} {
		c.Add(ev)
	}
	r := c.Response()
	if len(r.Content) != 4 {
		t.Fatalf("blocks = %d", len(r.Content))
	}
	if r.Content[0].Thinking != "hmm" || r.Content[0].Signature != "sig" {
		t.Fatalf("thinking = %+v", r.Content[0])
	}
	if r.Content[1].Text != "Hello" {
		t.Fatalf("text = %q", r.Content[1].Text)
	}
	if string(r.Content[2].Input) != `{"command":"ls"}` || r.Content[2].Name != "Bash" {
		t.Fatalf("tool = %+v", r.Content[2])
	}
	if string(r.Content[3].Input) != `{}` {
		t.Fatalf("empty tool input = %s", r.Content[3].Input)
	}
	if r.StopReason != StopToolUse || r.Usage.OutputTokens != 3 {
		t.Fatalf("stop = %q %+v", r.StopReason, r.Usage)
	}
}
