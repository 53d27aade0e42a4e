package doctor

// The first requests current clients send, as observed in clients.md,
// shortened: the shape (roles, tool kinds, schema dialect, thinking and
// metadata fields) is what the self-test exercises, not the size.
var clientShapes = []clientShape{
	{
		name: "Claude Code",
		path: "/v1/messages?beta=true",
		header: map[string]string{
			"anthropic-version": "2023-06-01",
			"anthropic-beta":    "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27",
			"User-Agent":        "claude-cli/2.1.328 (external, cli)",
		},
		prompt: "doctor: say hi",
		done:   `"type":"message_stop"`,
		body: `{
  "model": "claude-opus-5-5",
  "max_tokens": 128000,
  "stream": true,
  "system": [
    {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude.", "cache_control": {"type": "ephemeral"}},
    {"type": "text", "text": "You are an interactive CLI tool that helps users with software engineering tasks."}
  ],
  "messages": [
    {"role": "user", "content": [{"type": "text", "text": "doctor: say hi", "cache_control": {"type": "ephemeral"}}]},
    {"role": "system", "content": "<env>Working directory: /tmp/project\nPlatform: linux</env>"}
  ],
  "tools": [
    {"name": "Bash", "description": "Executes a given bash command.",
     "input_schema": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
       "properties": {"command": {"type": "string", "description": "The command to execute"},
                      "timeout": {"type": "number"}},
       "required": ["command"], "additionalProperties": false}},
    {"name": "Read", "description": "Reads a file from the local filesystem.",
     "input_schema": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
       "properties": {"file_path": {"type": "string"}, "offset": {"type": "integer"}, "limit": {"type": "integer"}},
       "required": ["file_path"], "additionalProperties": false}},
    {"name": "WebFetch", "description": "Fetches content from a URL.", "defer_loading": true,
     "input_schema": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
       "properties": {"url": {"type": "string", "format": "uri"}, "prompt": {"type": "string"}},
       "required": ["url", "prompt"], "additionalProperties": false}}
  ],
  "thinking": {"type": "adaptive", "display": "omitted"},
  "output_config": {"effort": "medium"},
  "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
  "metadata": {"user_id": "{\"device_id\":\"0f0e\",\"account_uuid\":\"\",\"session_id\":\"0b4445e1-f5be-49e1-87ce-62bbc28ad705\"}"}
}`,
	},
	{
		name:   "Codex CLI",
		path:   "/v1/responses",
		prompt: "doctor: say hi",
		done:   `"type":"response.completed"`,
		body: `{
  "model": "gpt-5",
  "stream": true,
  "store": false,
  "input": [
    {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "You are Codex, a coding agent."}]},
    {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "<permissions>read-only sandbox</permissions>"}]},
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<environment_context><cwd>/tmp/project</cwd></environment_context>"}]},
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "doctor: say hi"}]}
  ],
  "tools": [
    {"type": "function", "name": "exec_command", "description": "Runs a command in a PTY.", "strict": false,
     "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}, "workdir": {"type": "string"}}, "required": ["cmd"], "additionalProperties": false}},
    {"type": "namespace", "name": "multi_agent_v1", "description": "Spawn and manage sub-agents.",
     "tools": [
       {"type": "function", "name": "spawn_agent", "description": "Start a sub-agent.",
        "parameters": {"type": "object", "properties": {"task": {"type": "string"}}, "required": ["task"]}}
     ]},
    {"type": "web_search"}
  ],
  "tool_choice": "auto",
  "parallel_tool_calls": true,
  "reasoning": {"summary": "auto"},
  "include": ["reasoning.encrypted_content"],
  "prompt_cache_key": "0b4445e1-f5be-49e1-87ce-62bbc28ad705",
  "client_metadata": {"originator": "codex_exec"}
}`,
	},
	{
		name:   "chat completion",
		path:   "/v1/chat/completions",
		prompt: "doctor: say hi",
		done:   "data: [DONE]",
		body: `{
  "model": "gpt-4o",
  "stream": true,
  "messages": [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "doctor: say hi"}
  ],
  "tools": [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city.",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
  ],
  "tool_choice": "auto"
}`,
	},
}
