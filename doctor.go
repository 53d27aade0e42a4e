package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"

	"github.com/pelletier/go-toml/v2"

	"github.com/kirobar/kirobar/accounts"
	"github.com/kirobar/kirobar/internal/db"
	"github.com/kirobar/kirobar/internal/doctor"
	"github.com/kirobar/kirobar/kiro"
)

// doctorEnv describes this machine's kirobar to the checks.
func doctorEnv(home string) doctor.Env {
	path := filepath.Join(home, "config.toml")
	env := doctor.Env{Home: home, ConfigPath: path}
	cfg := defaultConfig()
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		env.ConfigExists, env.ConfigErr = true, fmt.Errorf("read %s: %w", path, err)
	default:
		env.ConfigExists = true
		parsed, perr := parseConfig(path, data)
		if perr != nil {
			env.ConfigErr = perr
		} else {
			cfg = parsed
			env.Changed, env.ConfigErr = changedKeys(defaultConfig(), cfg)
		}
	}
	env.Kiro, env.ListenAddr = cfg.Kiro, cfg.Server.Listen
	env.LoadAccounts = func() ([]accounts.View, error) { return loadAccountViews(home, cfg) }
	return env
}

// loadAccountViews lists the stored accounts; no database yet means none.
func loadAccountViews(home string, cfg Config) ([]accounts.View, error) {
	store := cfg.Store.WithEnv(os.Getenv)
	dbPath := filepath.Join(home, "kirobar.db")
	if _, err := os.Stat(dbPath); !store.Shared() && errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	gdb, err := db.OpenStore(store, dbPath)
	if err != nil {
		return nil, err
	}
	defer func() { _ = db.Close(gdb) }() // only read from; closing cannot lose anything
	kc, err := kiro.NewClient(cfg.Kiro, nil)
	if err != nil {
		return nil, err
	}
	m, err := accounts.NewManager(gdb, kc, cfg.Accounts, accounts.Options{Home: home})
	if err != nil {
		return nil, err
	}
	return m.List(), nil
}

// changedKeys lists the dotted config keys whose values differ from the
// defaults. The generated client key is left out: every install has one.
func changedKeys(def, cur Config) ([]string, error) {
	flat := func(c Config) (map[string]any, error) {
		b, err := toml.Marshal(c)
		if err != nil {
			return nil, fmt.Errorf("encode config: %w", err)
		}
		var m map[string]any
		if err := toml.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("decode config: %w", err)
		}
		out := map[string]any{}
		flatten("", m, out)
		return out, nil
	}
	a, err := flat(def)
	if err != nil {
		return nil, err
	}
	b, err := flat(cur)
	if err != nil {
		return nil, err
	}
	var keys []string
	for k, v := range b {
		if k == "server.api_keys" {
			continue
		}
		if dv, ok := a[k]; !ok || !reflect.DeepEqual(dv, v) {
			keys = append(keys, k)
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// flatten turns nested tables into dotted keys; a table of values with no
// subtables (like [models.aliases]) counts as one key.
func flatten(prefix string, m map[string]any, out map[string]any) {
	for k, v := range m {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok && prefix == "" {
			flatten(key, sub, out)
			continue
		}
		out[key] = v
	}
}
