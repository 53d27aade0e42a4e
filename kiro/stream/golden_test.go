package stream

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kirobar/kirobar/canon"
	"github.com/kirobar/kirobar/kiro/eventstream"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGolden converts every testdata/golden/*.in.json and compares the
// canonical events with the matching .golden.json. Run with -update to
// rewrite the expectations after reviewing a deliberate change.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "golden", "*.in.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, path := range inputs {
		name := strings.TrimSuffix(filepath.Base(path), ".in.json")
		t.Run(name, func(t *testing.T) {
			in, err := readInput(path)
			if err != nil {
				t.Fatal(err)
			}
			frames := make([]eventstream.Message, 0, len(in.Frames))
			for _, f := range in.Frames {
				frames = append(frames, f.message())
			}
			evs, _ := run(in.options(), frames, causeError(in.Cause))
			if err := wellFormed(evs); err != nil {
				t.Fatalf("malformed stream: %v\n%s", err, dump(evs))
			}
			got, err := json.MarshalIndent(toJSON(evs), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			goldenPath := strings.TrimSuffix(path, ".in.json") + ".golden.json"
			if *update {
				if err := os.WriteFile(goldenPath, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(goldenPath)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("events differ from %s\ngot:\n%s", goldenPath, got)
			}
		})
	}
}

func dump(evs []canon.Event) string {
	b, _ := json.MarshalIndent(toJSON(evs), "", "  ")
	return string(b)
}
