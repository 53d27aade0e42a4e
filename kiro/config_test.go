package kiro

import (
	"strings"
	"testing"
	"time"

	"github.com/kirobar/kirobar/internal/duration"
	"github.com/pelletier/go-toml/v2"
)

func TestDefaultConfigIsValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    func(*Config)
		wantKey string // "" = valid
	}{
		{"ide style", func(c *Config) { c.APIStyle = StyleIDE }, ""},
		{"http proxy", func(c *Config) { c.Proxy = "http://127.0.0.1:3128" }, ""},
		{"socks5 proxy with auth", func(c *Config) { c.Proxy = "socks5://user:pw@127.0.0.1:1080" }, ""},
		{"plain http url", func(c *Config) { c.IDEURL = "http://127.0.0.1:8080/" }, ""},
		{"unknown style", func(c *Config) { c.APIStyle = "legacy" }, "api_style"},
		{"empty region", func(c *Config) { c.Region = "" }, "region"},
		{"region with dot", func(c *Config) { c.Region = "us-east-1.evil" }, "region"},
		{"relative api url", func(c *Config) { c.APIURL = "runtime.kiro.dev" }, "api_url"},
		{"ftp ide url", func(c *Config) { c.IDEURL = "ftp://q.{region}.amazonaws.com" }, "ide_url"},
		{"auth url with query", func(c *Config) { c.AuthURL = "https://x/?a=1" }, "auth_url"},
		{"oidc url without host", func(c *Config) { c.OIDCURL = "https://" }, "oidc_url"},
		{"proxy scheme", func(c *Config) { c.Proxy = "ftp://proxy:21" }, "proxy"},
		{"proxy without host", func(c *Config) { c.Proxy = "http://" }, "proxy"},
		{"zero first byte timeout", func(c *Config) { c.FirstByteTimeout = 0 }, "first_byte_timeout"},
		{"zero idle timeout", func(c *Config) { c.IdleTimeout = 0 }, "idle_timeout"},
		{"zero connect timeout", func(c *Config) { c.ConnectTimeout = 0 }, "connect_timeout"},
		{"empty version", func(c *Config) { c.KiroVersion = "" }, "kiro_version"},
		{"old version", func(c *Config) { c.KiroVersion = "0.11.107" }, "kiro_version"},
		{"two-part version", func(c *Config) { c.KiroVersion = "1.1" }, "kiro_version"},
		{"version with letters", func(c *Config) { c.KiroVersion = "1.0.x" }, "kiro_version"},
		{"newer version", func(c *Config) { c.KiroVersion = "2.0.3" }, ""},
		{"zero idle conns", func(c *Config) { c.MaxIdleConns = 0 }, "max_idle_conns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.edit(&cfg)
			err := cfg.Validate()
			if tc.wantKey == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantKey) {
				t.Fatalf("err = %v, want one naming %s", err, tc.wantKey)
			}
		})
	}
}

func TestProxyPasswordNotInValidateError(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Proxy = "gopher://user:hunter2secretpw@proxy:70"
	if err := cfg.Validate(); err == nil || strings.Contains(err.Error(), "hunter2secretpw") {
		t.Fatalf("err = %v", err)
	}
	cfg.Proxy = "http://user:hunter2secretpw@proxy:70%zz"
	if err := cfg.Validate(); err == nil || strings.Contains(err.Error(), "hunter2secretpw") {
		t.Fatalf("err = %v", err)
	}
}

func TestConfigTOML(t *testing.T) {
	const doc = `
region = "eu-central-1"
api_style = "ide"
api_url = "https://runtime.{region}.kiro.dev"
ide_url = "https://q.{region}.amazonaws.com"
auth_url = "https://prod.{region}.auth.desktop.kiro.dev"
oidc_url = "https://oidc.{region}.amazonaws.com"
proxy = "socks5://127.0.0.1:1080"
first_byte_timeout = "45s"
idle_timeout = "2m"
connect_timeout = "10s"
kiro_version = "1.1.14"
max_idle_conns = 64
`
	cfg := DefaultConfig()
	if err := toml.NewDecoder(strings.NewReader(doc)).DisallowUnknownFields().Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-central-1" || cfg.APIStyle != StyleIDE || cfg.FirstByteTimeout != duration.Duration(45*time.Second) ||
		cfg.IdleTimeout.D() != 2*time.Minute || cfg.MaxIdleConns != 64 || cfg.Proxy != "socks5://127.0.0.1:1080" {
		t.Fatalf("decoded %+v", cfg)
	}
	out, err := toml.Marshal(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	back := Config{}
	if err := toml.Unmarshal(out, &back); err != nil || back != DefaultConfig() {
		t.Fatalf("default config does not survive TOML: %v\n%s", err, out)
	}
}
