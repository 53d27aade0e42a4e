package main

import (
	"strings"
	"testing"
)

// FuzzParseConfig feeds arbitrary bytes to the strict config decoder. It
// must never panic, every error must name the file (users fix config.toml
// by the position it gives), and whatever it accepts must be a config
// kirobar can run with: it validates, and it never exposes the listener
// beyond loopback without a client key.
func FuzzParseConfig(f *testing.F) {
	f.Add(exampleConfig)
	for _, s := range []string{
		"",
		"[server]\nlisten = \"127.0.0.1:9000\"\n",
		"[server]\nlisten = \"0.0.0.0:9000\"\napi_keys = []\n",
		"[server]\nlisten = \"0.0.0.0:9000\"\napi_keys = [\"kb-0123456789\"]\n",
		"[server]\nping_interval = \"-1s\"\n",
		"[server]\nmax_body_mb = 0\n",
		"[server]\nlisen = 1\n",
		"[kiro]\nregion = \"../../etc\"\n",
		"[kiro]\napi_url = \"ftp://x\"\n",
		"[models.aliases]\n\"gpt-5\" = \"claude-sonnet-4.5\"\n",
		"[log]\nlevel = \"loud\"\n",
		"[accounts]\nbreaker_threshold = 0\n",
		"[flows]\nenabled = false\n",
		"[[server]]\n",
		"server = 1\n",
		"[server]\nread_timeout = \"1h\"\nshutdown_grace = 5\n",
		"\xff\xfe[server]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := parseConfig("fuzz.toml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.toml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if err := cfg.validate(); err != nil {
			t.Fatalf("accepted a config that does not validate: %v", err)
		}
		if err := cfg.Server.Validate(); err != nil {
			t.Fatalf("accepted a server section that does not validate: %v", err)
		}
	})
}
