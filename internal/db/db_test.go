package db

import (
	"os"
	"path/filepath"
	"testing"
)

func TestOpenWALAndMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kirobar.db")
	gdb, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(gdb)
	var mode string
	if err := gdb.Raw("PRAGMA journal_mode").Scan(&mode).Error; err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Fatalf("journal_mode = %q, want wal", mode)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v, want 0600", st.Mode().Perm())
	}
}
