package canon

import (
	"encoding/json"
	"strings"
)

// Response is a whole response assembled from a stream, for the
// non-streaming form of every surface.
type Response struct {
	Content    []Block
	StopReason string
	Usage      Usage
	Err        *StreamError
}

// Collector assembles a Response from stream events. The zero value is
// ready to use.
type Collector struct {
	resp  Response
	parts map[int]*strings.Builder
	pos   map[int]int // stream index -> position in resp.Content
}

// Add folds one event into the response.
func (c *Collector) Add(ev Event) {
	if c.parts == nil {
		c.parts = map[int]*strings.Builder{}
		c.pos = map[int]int{}
	}
	switch ev.Kind {
	case BlockStart:
		b := Block{}
		switch ev.Block {
		case TextBlock:
			b.Type = BlockText
		case ThinkingBlock:
			b.Type = BlockThinking
		case ToolUseBlock:
			b.Type = BlockToolUse
			b.ID, b.Name = ev.ID, ev.Name
		case ServerToolUseBlock:
			b.Type = BlockServerToolUse
			b.ID, b.Name = ev.ID, ev.Name
		case WebSearchResultBlock:
			b = searchResultBlock(ev.ID, ev.Search)
		}
		c.pos[ev.Index] = len(c.resp.Content)
		c.resp.Content = append(c.resp.Content, b)
		c.parts[ev.Index] = &strings.Builder{}
	case BlockDelta:
		if ev.Citation != nil {
			c.cite(ev.Index, *ev.Citation)
			return
		}
		if sb := c.parts[ev.Index]; sb != nil {
			sb.WriteString(ev.Delta)
		}
	case BlockStop:
		i, ok := c.pos[ev.Index]
		if !ok {
			return
		}
		b := &c.resp.Content[i]
		s := c.parts[ev.Index].String()
		switch b.Type {
		case BlockText:
			b.Text = s
		case BlockThinking:
			b.Thinking, b.Signature = s, ev.Signature
		case BlockToolUse, BlockServerToolUse:
			if strings.TrimSpace(s) == "" {
				s = "{}"
			}
			b.Input = json.RawMessage(s)
		}
		delete(c.parts, ev.Index)
	case MessageStop:
		c.resp.StopReason, c.resp.Usage = ev.StopReason, ev.Usage
	case Error:
		c.resp.Err = ev.Err
	}
}

// Response returns what was collected so far.
func (c *Collector) Response() Response { return c.resp }
