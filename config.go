package main

import (
	"bytes"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/flows"
	"github.com/kirobar/kirobar/internal/db"
	"github.com/kirobar/kirobar/kiro"
	"github.com/kirobar/kirobar/kiro/models"
	"github.com/kirobar/kirobar/server"
)

//go:embed config.toml.example
var exampleConfig []byte

// Config is config.toml: each package owns its section and its defaults.
type Config struct {
	Server   server.Config   `toml:"server"`
	Kiro     kiro.Config     `toml:"kiro"`
	Accounts accounts.Config `toml:"accounts"`
	Flows    flows.Config    `toml:"flows"`
	Store    db.Config       `toml:"store"`
	Models   ModelsConfig    `toml:"models"`
	Tray     TrayConfig      `toml:"tray"`
	Log      LogConfig       `toml:"log"`
}

// ModelsConfig maps client model names to Kiro models.
type ModelsConfig struct {
	// Default serves names that no alias, table entry or family rule knows.
	Default string `toml:"default"`
	// Aliases map a client's model name to a Kiro model id; they are
	// consulted first and extend the built-in aliases.
	Aliases map[string]string `toml:"aliases"`
}

// TrayConfig is the [tray] section.
type TrayConfig struct {
	// Enabled false runs headless even where a tray is available.
	Enabled bool `toml:"enabled"`
}

// LogConfig is the [log] section.
type LogConfig struct {
	// Level is debug, info, warn or error.
	Level string `toml:"level"`
}

// defaultConfig composes every package's defaults.
func defaultConfig() Config {
	return Config{
		Server:   server.DefaultConfig(),
		Kiro:     kiro.DefaultConfig(),
		Accounts: accounts.DefaultConfig(),
		Flows:    flows.DefaultConfig(),
		Store:    db.DefaultConfig(),
		Models:   ModelsConfig{Default: models.Default, Aliases: map[string]string{}},
		Tray:     TrayConfig{Enabled: true},
		Log:      LogConfig{Level: "info"},
	}
}

// parseConfig decodes TOML strictly over the defaults: an unknown key or a
// wrong type is an error naming the file, line and column.
func parseConfig(name string, data []byte) (Config, error) {
	cfg := defaultConfig()
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		var serr *toml.StrictMissingError
		if errors.As(err, &serr) && len(serr.Errors) > 0 {
			e := serr.Errors[0]
			row, col := e.Position()
			return Config{}, fmt.Errorf("%s:%d:%d: unknown key %q", name, row, col, strings.Join(e.Key(), "."))
		}
		var derr *toml.DecodeError
		if errors.As(err, &derr) {
			row, col := derr.Position()
			return Config{}, fmt.Errorf("%s:%d:%d: %s", name, row, col, derr.Error())
		}
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	if err := cfg.validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	return cfg, nil
}

func (c Config) validate() error {
	if err := c.Server.Validate(); err != nil {
		return err
	}
	if err := c.Kiro.Validate(); err != nil {
		return err
	}
	if err := c.Store.Validate(); err != nil {
		return err
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level %q: use debug, info, warn or error", c.Log.Level)
	}
	return nil
}

// keyPlaceholder is the line in config.toml.example that a first start
// replaces with a freshly generated client key.
const keyPlaceholder = "api_keys = []"

// loadConfig reads home/config.toml, creating it on first start from the
// embedded example with a generated client key.
func loadConfig(home string) (Config, string, error) {
	path := filepath.Join(home, "config.toml")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		data, err = firstConfig()
		if err != nil {
			return Config{}, path, err
		}
		if err := writeFileAtomic(path, data, 0o600); err != nil {
			return Config{}, path, fmt.Errorf("write %s: %w", path, err)
		}
	} else if err != nil {
		return Config{}, path, fmt.Errorf("read config: %w", err)
	}
	cfg, err := parseConfig(path, data)
	if err != nil {
		return cfg, path, err
	}
	// $KIROBAR_DATABASE_URL overrides [store] url: a team's instances may
	// share one config file and get the database from their service.
	cfg.Store = cfg.Store.WithEnv(os.Getenv)
	if err := cfg.Store.Validate(); err != nil {
		return Config{}, path, fmt.Errorf("%s: %w", db.EnvURL, err)
	}
	return cfg, path, nil
}

// firstConfig is the example with a generated client key.
func firstConfig() ([]byte, error) {
	if !bytes.Contains(exampleConfig, []byte(keyPlaceholder)) {
		return nil, errors.New("config.toml.example lacks the api_keys line")
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("generate client key: %w", err)
	}
	key := "kb-" + hex.EncodeToString(b[:])
	return bytes.Replace(exampleConfig, []byte(keyPlaceholder), []byte(`api_keys = ["`+key+`"]`), 1), nil
}

// writeFileAtomic writes via a temp file and rename, so a crash never
// leaves half a config.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// resolveHome picks the home directory: --home, KIROBAR_HOME, else the
// OS user config dir + /kirobar. It is created with mode 0700.
func resolveHome(flagHome string) (string, error) {
	home := flagHome
	if home == "" {
		home = os.Getenv("KIROBAR_HOME")
	}
	if home == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("find home directory: %w (set KIROBAR_HOME)", err)
		}
		home = filepath.Join(dir, "kirobar")
	}
	abs, err := filepath.Abs(home)
	if err != nil {
		return "", fmt.Errorf("home %s: %w", home, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return "", fmt.Errorf("create home %s: %w", abs, err)
	}
	return abs, nil
}
