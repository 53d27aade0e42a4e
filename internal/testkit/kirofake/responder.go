package kirofake

import "strings"

// TextReply answers with s in a few chunks, then a meteringEvent, a
// contextUsageEvent and a metadataEvent with END_TURN, like a complete
// short answer.
func TextReply(s string) Reply {
	return Reply{Events: append(Text(s, 3), Metering(0.01), ContextUsage(1), Metadata("END_TURN"))}
}

// ToolReply asks for one tool call with the given JSON input, preceded by a
// short text, ending like a complete turn (metadataEvent TOOL_USE).
func ToolReply(id, name, inputJSON string) Reply {
	events := Text("Let me do that.", 1)
	events = append(events, ToolCall(id, name, inputJSON, 3)...)
	return Reply{Events: append(events, Metering(0.02), ContextUsage(1), Metadata("TOOL_USE"))}
}

// CutReply is a stream the service cut: the text of s, then the end of the
// body without any end event (no metadataEvent, meteringEvent or
// contextUsageEvent), as when the upstream drops an answer mid-way.
func CutReply(s string) Reply {
	return Reply{Events: Text(s, 3)}
}

// ErrorReply answers with a status and a body instead of a stream.
func ErrorReply(status int, body string) Reply {
	return Reply{Status: status, Body: body}
}

// ToolRoundTrip is a responder for one tool round trip: a call without tool
// results asks for tool name with id and input; a call carrying tool
// results answers final followed by the text of the results (joined by a
// space), so a test sees the tool's output travel back.
func ToolRoundTrip(name, id, input, final string) func(*Request) Reply {
	return func(r *Request) Reply {
		if len(r.ToolResults) == 0 {
			return ToolReply(id, name, input)
		}
		parts := []string{}
		if final != "" {
			parts = append(parts, final)
		}
		for _, tr := range r.ToolResults {
			if t := tr.Text(); t != "" {
				parts = append(parts, t)
			}
		}
		return TextReply(strings.Join(parts, " "))
	}
}
