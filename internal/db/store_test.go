package db

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kirobar/kirobar/internal/testkit/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"", true},
		{"postgres://u:p@db:5432/kirobar", true},
		{"postgresql://u@db/kirobar?sslmode=require", true},
		{"postgres:///kirobar?host=/var/run/postgresql", true},
		{"mysql://u:p@db/kirobar", false},
		{"postgres://u:p@db:5432/", false},
		{"postgres://u:p@db:5432", false},
		{"host=db user=u password=p", false},
		{"postgres://u:p@db:bad port/kirobar", false},
	} {
		err := Config{URL: tc.url}.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%q: err = %v, want ok=%v", tc.url, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), "p@") {
			t.Errorf("%q: the error repeats the URL: %v", tc.url, err)
		}
	}
}

func TestWithEnv(t *testing.T) {
	env := map[string]string{EnvURL: "postgres://e@db/x"}
	if got := (Config{URL: "postgres://c@db/y"}).WithEnv(func(k string) string { return env[k] }); got.URL != env[EnvURL] {
		t.Errorf("env did not override: %q", got.URL)
	}
	if got := (Config{URL: "postgres://c@db/y"}).WithEnv(func(string) string { return "" }); got.URL != "postgres://c@db/y" {
		t.Errorf("empty env overrode: %q", got.URL)
	}
}

func TestRedact(t *testing.T) {
	got := Redact("postgres://kirobar:s3cret@db:5432/kirobar?sslmode=require&password=s3cret&sslkey=/k")
	if strings.Contains(got, "s3cret") || strings.Contains(got, "sslkey") {
		t.Fatalf("Redact leaked: %s", got)
	}
	if !strings.Contains(got, "db:5432/kirobar") || !strings.Contains(got, "sslmode=require") {
		t.Fatalf("Redact lost the address: %s", got)
	}
}

// TestOpenPostgres connects to a real server, and a wrong password is an
// error that names the database without the password.
func TestOpenPostgres(t *testing.T) {
	url := pgtest.DB(t)
	gdb, err := OpenStore(Config{URL: url}, "/nonexistent/kirobar.db")
	if err != nil {
		t.Fatal(err)
	}
	defer Close(gdb)
	if !IsPostgres(gdb) {
		t.Fatal("IsPostgres = false")
	}
	var app string
	if err := gdb.Raw("SELECT current_setting('application_name')").Scan(&app).Error; err != nil || app != "kirobar" {
		t.Fatalf("application_name = %q, %v", app, err)
	}
	bad := strings.Replace(url, pgtest.Password, "wrong-"+pgtest.Password, 1)
	_, err = OpenPostgres(bad)
	if err == nil {
		t.Fatal("a wrong password connected")
	}
	if strings.Contains(err.Error(), pgtest.Password) {
		t.Fatalf("the error repeats the password: %v", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("the error does not name the database: %v", err)
	}
}

func TestSQLiteIsNotPostgres(t *testing.T) {
	gdb, err := OpenStore(Config{}, t.TempDir()+"/kirobar.db")
	if err != nil {
		t.Fatal(err)
	}
	defer Close(gdb)
	if IsPostgres(gdb) {
		t.Fatal("SQLite reported as PostgreSQL")
	}
}

func TestUnreachable(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"network", errors.New("dial tcp 127.0.0.1:5432: connect: connection refused"), true},
		{"shutting down", &pgconn.PgError{Code: "57P01"}, true},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"serialization", &pgconn.PgError{Code: "40001"}, true},
		{"bad text", &pgconn.PgError{Code: "22021"}, false},
		{"unique violation", fmt.Errorf("store: %w", &pgconn.PgError{Code: "23505"}), false},
	} {
		if got := Unreachable(tc.err); got != tc.want {
			t.Errorf("%s: Unreachable = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestPGText(t *testing.T) {
	for in, want := range map[string]string{"plain": "plain", "a\x00b": "a\uFFFDb", "bad \xff utf8": "bad \uFFFD utf8", "": ""} {
		if got := PGText(in); got != want {
			t.Errorf("PGText(%q) = %q, want %q", in, got, want)
		}
	}
}
