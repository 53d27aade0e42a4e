package server_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// clientBin finds a real client installed by .ci/setup (make sets
// KIROBAR_CLIENTS). Locally a missing client skips the test; in CI it
// fails, so the end-to-end tests can never silently stop running.
func clientBin(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("KIROBAR_CLIENTS")
	if dir == "" {
		dir = filepath.Join("..", ".ci", "clients")
	}
	bin, err := filepath.Abs(filepath.Join(dir, "node_modules", ".bin", name))
	if err == nil {
		if _, err = os.Stat(bin); err == nil {
			return bin
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed (%v): run .ci/setup", name, err)
	}
	t.Skipf("%s is not installed; run `make setup` (or bash .ci/setup)", name)
	return ""
}

// clientEnv is a clean environment for a client run: its own HOME, no
// inherited API keys or proxies, no telemetry.
func clientEnv(home string, extra ...string) []string {
	env := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8", "TERM=dumb"}
	return append(env, extra...)
}

func runClient(t *testing.T, dir string, env []string, bin string, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdin = nil
	out, err := cmd.CombinedOutput()
	return out, err
}
