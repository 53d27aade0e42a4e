package db

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// EnvURL names the environment variable that overrides [store] url, so a
// team's instances can share one config file and get the database (and
// its password) from their service manager.
const EnvURL = "KIROBAR_DATABASE_URL"

// Config is the [store] section: where kirobar keeps its accounts, their
// live state and the flow index.
type Config struct {
	// URL of a PostgreSQL database ("postgres://user:password@host/db")
	// that several kirobar instances share. Empty keeps everything in
	// kirobar.db in the home directory, for one kirobar on one machine.
	URL string `toml:"url"`
	// Instance names this kirobar among a team's instances: on the
	// dashboard, in each flow it served and in /metrics. Empty: the host
	// name and the listen port.
	Instance string `toml:"instance"`
}

// DefaultConfig is one SQLite file in the home directory.
func DefaultConfig() Config { return Config{} }

// Shared reports whether the store is a database other instances share.
func (c Config) Shared() bool { return c.URL != "" }

// WithEnv returns the section with $KIROBAR_DATABASE_URL applied.
func (c Config) WithEnv(getenv func(string) string) Config {
	if u := getenv(EnvURL); u != "" {
		c.URL = u
	}
	return c
}

// Validate checks the URL's form without connecting. Its errors never
// repeat the URL, which may hold a password.
func (c Config) Validate() error {
	if c.URL == "" {
		return nil
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return errors.New("store.url is not a URL: write it as postgres://user:password@host:5432/database")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return fmt.Errorf("store.url: the scheme %q is not supported; kirobar shares its state through PostgreSQL (postgres://user:password@host:5432/database)", u.Scheme)
	}
	if u.Host == "" && u.Query().Get("host") == "" {
		return errors.New("store.url names no host: write it as postgres://user:password@host:5432/database")
	}
	if strings.Trim(u.Path, "/") == "" {
		return errors.New("store.url names no database: write it as postgres://user:password@host:5432/database")
	}
	return nil
}

// Redact returns a URL safe to log and show: the password is replaced and
// query parameters other than harmless ones are dropped.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	q := url.Values{}
	for k, v := range u.Query() {
		switch k {
		case "sslmode", "connect_timeout", "application_name", "search_path", "target_session_attrs":
			q[k] = v
		}
	}
	u.RawQuery = q.Encode()
	return u.Redacted()
}

// OpenStore opens what cfg names: the shared PostgreSQL database, or the
// SQLite file at sqlitePath.
func OpenStore(cfg Config, sqlitePath string) (*gorm.DB, error) {
	if cfg.Shared() {
		return OpenPostgres(cfg.URL)
	}
	return Open(sqlitePath)
}

// pgConnectTimeout bounds connecting when the URL sets no connect_timeout,
// so an unreachable database is reported instead of waited for.
const pgConnectTimeout = "10"

// OpenPostgres connects to a PostgreSQL database through pgx and checks
// that it answers. Errors name the database by its redacted URL.
func OpenPostgres(raw string) (*gorm.DB, error) {
	if err := (Config{URL: raw}).Validate(); err != nil {
		return nil, err
	}
	dsn, err := withDefaults(raw)
	if err != nil {
		return nil, err
	}
	gdb, err := gorm.Open(postgres.New(postgres.Config{DSN: dsn}), &gorm.Config{
		Logger:  logger.Discard,
		NowFunc: func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		return nil, fmt.Errorf("open database %s: %s", Redact(raw), scrub(err, raw))
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", Redact(raw), err)
	}
	// Requests write account state and flows through a few connections;
	// refresh coordination holds one per account being refreshed.
	sqlDB.SetMaxOpenConns(16)
	sqlDB.SetMaxIdleConns(8)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	return gdb, nil
}

// withDefaults adds kirobar's connection parameters unless the URL sets
// them: a connect timeout and an application name PostgreSQL's
// pg_stat_activity shows.
func withDefaults(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("store.url is not a URL")
	}
	q := u.Query()
	if q.Get("connect_timeout") == "" {
		q.Set("connect_timeout", pgConnectTimeout)
	}
	if q.Get("application_name") == "" {
		q.Set("application_name", "kirobar")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// scrub keeps a driver error from repeating the password.
func scrub(err error, raw string) string {
	msg := err.Error()
	for _, s := range Secrets(raw) {
		msg = strings.ReplaceAll(msg, s, "xxxxx")
	}
	return msg
}

// IsPostgres reports whether gdb is a PostgreSQL database, where several
// instances may share the tables and coordinate through locks.
func IsPostgres(gdb *gorm.DB) bool {
	return gdb != nil && gdb.Dialector != nil && gdb.Dialector.Name() == "postgres"
}

// Secrets are the parts of a store URL no log, flow or bundle may hold:
// its password, raw and percent-escaped.
func Secrets(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return nil
	}
	pw, ok := u.User.Password()
	if !ok || pw == "" {
		return nil
	}
	out := []string{pw}
	if esc := url.QueryEscape(pw); esc != pw {
		out = append(out, esc)
	}
	return out
}

// PGText makes s storable in a PostgreSQL text column, which holds
// neither NUL nor invalid UTF-8 (SQLite keeps both): each becomes U+FFFD.
// Strings that need no change are returned as they are, without copying.
func PGText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// Unreachable tells a database that could not be reached — the network,
// a server shutting down or restarting, a transaction PostgreSQL asks to
// retry — from one that refused a statement for what it holds, which
// would be refused again.
func Unreachable(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code[:2] {
		case "08", "57": // connection exception; operator intervention (shutdown)
			return true
		}
		return pe.Code == "40001" || pe.Code == "40P01" // serialization failure, deadlock
	}
	return true // no answer from the server at all
}
