// Package openai is kirobar's OpenAI surface: Chat Completions, the
// Responses API (what Codex CLI speaks) and the model list. It is pure
// conversion code with no I/O: decoders turn request bodies into the
// canonical request (the Anthropic Messages shape, see canon), and
// append-style encoders turn canonical stream events into the server-sent
// events and JSON bodies OpenAI's own API sends, because the official SDKs
// and Codex parse them strictly.
//
// Decisions worth knowing when reading the server logs or a client trace:
//
//   - Errors in the middle of a Chat Completions stream are a chunk
//     data: {"error":{...}} followed by data: [DONE]. The official SDKs
//     (Python, Node, Go) raise on a chunk carrying "error" before they read
//     further, and [DONE] lets line-oriented clients end the stream instead
//     of waiting on a socket the server is about to close.
//   - Keep-alive pings are a lone SSE comment line (": ping\n") without the
//     blank line that would dispatch an event: openai-go's decoder turns a
//     comment followed by a blank line into an empty event and fails to
//     decode it.
//   - Responses namespace tools (Codex groups MCP and multi-agent functions
//     this way) are flattened so the model sees every function. A function
//     keeps its own name unless that name is already taken, in which case it
//     becomes "<namespace>__<name>". Calls are mapped back: the
//     function_call item carries the inner name and a "namespace" field, as
//     Codex expects.
//   - Tools declared in additional_tools input items (Codex's code mode on
//     its default models sends no top-level tools, only these) are
//     declared like top-level tools, wherever the item stands.
//   - Custom (free-form) tools, such as Codex's exec (JavaScript that
//     Codex runs) and apply_patch, are offered to Kiro as functions taking
//     one string, "input", whose description quotes the tool's grammar. A
//     call comes back as a custom_tool_call item (Responses) or a "custom"
//     tool call (Chat Completions) carrying the text; since Kiro delivers a
//     tool call whole, its input is sent in one delta.
//   - The hosted web_search tool is served with Kiro's own web search (see
//     responses_websearch.go and server/websearch.go). Other hosted tools
//     (file_search, ...) cannot run on Kiro. They are dropped and listed in
//     ResponsesOptions.IgnoredTools for a log line, unless tool_choice
//     requires one, which is a 400.
//   - Thinking is returned: as reasoning_content deltas on Chat Completions
//     and as a reasoning item with one summary_text part on Responses.
//     Reasoning items a client sends back are ignored; kirobar has no
//     encrypted reasoning to honour.
//   - kirobar stores no responses, so previous_response_id is a 400.
package openai
