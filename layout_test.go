package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const modulePath = "github.com/kirobar/kirobar"

// TestBinaryHoldsNoTestCode: the product binary must not contain the fake
// upstream or the test rigs (a fake Kiro in the shipped binary is code a
// user runs and nobody meant them to).
func TestBinaryHoldsNoTestCode(t *testing.T) {
	for _, goos := range []string{"linux", "windows", "darwin"} {
		cmd := exec.Command("go", "list", "-deps", ".")
		cmd.Env = append(cmd.Environ(), "GOOS="+goos, "CGO_ENABLED=0")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps (%s): %v", goos, err)
		}
		for _, pkg := range strings.Fields(string(out)) {
			if strings.HasPrefix(pkg, modulePath+"/internal/testkit") || strings.HasPrefix(pkg, modulePath+"/cmd/") {
				t.Errorf("%s: the binary depends on %s", goos, pkg)
			}
		}
	}
}

// TestTestkitStaysInTests: outside internal/testkit and the tools under cmd/,
// only _test.go files may import the test-only packages, so production code
// cannot start depending on them unnoticed.
func TestTestkitStaysInTests(t *testing.T) {
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch path {
			case ".git", "internal/testkit", "cmd", "testdata":
				return filepath.SkipDir
			}
			if strings.HasPrefix(d.Name(), ".") && path != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, modulePath+"/internal/testkit") {
				t.Errorf("%s imports the test-only package %s", path, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
