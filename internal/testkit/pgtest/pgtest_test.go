package pgtest

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// query runs sql on url and returns the one text it answers ("" for a
// statement that answers nothing).
func query(t *testing.T, url, sql string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer func() { _ = c.Close(ctx) }()
	if !strings.HasPrefix(sql, "SELECT") {
		if _, err := c.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return ""
	}
	var s string
	if err := c.QueryRow(ctx, sql).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

// TestDBIsolated: each test gets its own database on the shared server.
func TestDBIsolated(t *testing.T) {
	a, b := DB(t), DB(t)
	if a == b {
		t.Fatalf("two databases with one URL %s", a)
	}
	if got := query(t, a, "SELECT current_database()"); !strings.HasPrefix(got, "t") {
		t.Errorf("database %q", got)
	}
	if got := query(t, a, "SELECT current_user"); got != User {
		t.Errorf("user %q, want %q", got, User)
	}
}

// TestPasswordChecked: TCP connections need the password, so a URL
// without it is refused (the tests can rely on secrets being in URLs).
func TestPasswordChecked(t *testing.T) {
	url := DB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bad := strings.Replace(url, Password, "wrong", 1)
	if c, err := pgx.Connect(ctx, bad); err == nil {
		_ = c.Close(ctx)
		t.Fatal("a wrong password was accepted")
	}
}

// TestStopResume: a server of the test's own stops (connections fail)
// and resumes on the same port with its data.
func TestStopResume(t *testing.T) {
	s := Start(t)
	url := s.CreateDB(t)
	query(t, url, "CREATE TABLE kept AS SELECT 'x'::text AS v")
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c, err := pgx.Connect(ctx, url); err == nil {
		_ = c.Close(ctx)
		t.Fatal("connected to a stopped server")
	}
	if err := s.Resume(); err != nil {
		t.Fatal(err)
	}
	if got := query(t, url, "SELECT v FROM kept"); got != "x" {
		t.Errorf("after resume: %q", got)
	}
}
