package cli

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

// FuzzClaudeSettings: whatever settings.json holds, the edit either
// refuses it or writes JSON in which every other setting means what it
// meant, the env points at kirobar, and a second edit changes nothing.
func FuzzClaudeSettings(f *testing.F) {
	for _, s := range []string{"", "{}", `{"env":{}}`, `{"model":"opus","env":{"ANTHROPIC_API_KEY":"sk"},"x":[1,{"y":null}]}`,
		`{"env":{"ANTHROPIC_AUTH_TOKEN":"a","ANTHROPIC_API_KEY":"b"}}`, `{"a":1,"a":2}`, `{"env":"x"}`, `[1]`, `{"k":1.5e300}`, "{\"\\u00e9\":\"\\ud83d\\ude00\"}"} {
		f.Add([]byte(s))
	}
	tg := Target{Listen: "127.0.0.1:8999", Key: testSetupKey}
	ch := claudeSettingsChange(tg, "http://127.0.0.1:8999")
	f.Fuzz(func(t *testing.T, in []byte) {
		out, _, err := ch.edit(in)
		if err != nil {
			return
		}
		var before, after map[string]any
		if len(bytes.TrimSpace(in)) > 0 {
			if err := json.Unmarshal(in, &before); err != nil {
				return // the ordered decoder accepts what json.Unmarshal would not (duplicate handling aside)
			}
		}
		if err := json.Unmarshal(out, &after); err != nil {
			t.Fatalf("edit of %q wrote invalid JSON %q: %v", in, out, err)
		}
		env, _ := after["env"].(map[string]any)
		if env["ANTHROPIC_BASE_URL"] != "http://127.0.0.1:8999" || (env["ANTHROPIC_AUTH_TOKEN"] != testSetupKey && env["ANTHROPIC_API_KEY"] != testSetupKey) {
			t.Fatalf("edit of %q: env %v", in, env)
		}
		for k, v := range before {
			if k != "env" && !reflect.DeepEqual(after[k], v) {
				t.Fatalf("edit of %q changed %s: %v -> %v", in, k, v, after[k])
			}
		}
		if oldEnv, ok := before["env"].(map[string]any); ok {
			for k, v := range oldEnv {
				if k != "ANTHROPIC_BASE_URL" && k != "ANTHROPIC_AUTH_TOKEN" && k != "ANTHROPIC_API_KEY" && !reflect.DeepEqual(env[k], v) {
					t.Fatalf("edit of %q changed env.%s", in, k)
				}
			}
		}
		again, _, err := ch.edit(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("a second edit of %q changed it again (%v):\n%s\n%s", in, err, out, again)
		}
	})
}

// FuzzCodexConfig: whatever config.toml holds, the edit either refuses it
// or writes TOML with kirobar's provider and nothing else changed, and a
// second edit changes nothing.
func FuzzCodexConfig(f *testing.F) {
	for _, s := range []string{"", "model = \"o3\"\n", "[model_providers.kirobar]\nbase_url = \"x\"\n[profiles.a]\nmodel = \"b\"\n",
		"# c\n\n[a]\nb = [\n  [1],\n]\n", "model_provider = \"openai\"\r\n[x]\r\ny = 1", "[model_providers]\nkirobar = {}\n", "a = \"\"\"\n[b]\n\"\"\"\n"} {
		f.Add(s)
	}
	ch := codexConfigChange(Target{Listen: "127.0.0.1:8999", Key: testSetupKey}, "http://127.0.0.1:8999")
	f.Fuzz(func(t *testing.T, in string) {
		out, _, err := ch.edit([]byte(in))
		if err != nil {
			return
		}
		var after map[string]any
		if err := toml.Unmarshal(out, &after); err != nil {
			t.Fatalf("edit of %q wrote invalid TOML %q: %v", in, out, err)
		}
		again, _, err := ch.edit(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("a second edit of %q changed it again (%v):\n%s\n%s", in, err, out, again)
		}
	})
}
