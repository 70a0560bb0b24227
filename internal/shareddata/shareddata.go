// Package shareddata locates the team's shared test and benchmark data
// (../shared/data beside the repository root) for tests and benchmarks.
// When the folder is missing the test fails: tests that need real data never
// skip.
package shareddata

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the absolute path of ../shared/data relative to the module
// root (the directory holding go.mod), failing tb when it is missing.
func Dir(tb testing.TB) string {
	tb.Helper()
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatalf("shared data: %v", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			dir := filepath.Join(filepath.Dir(d), "shared", "data")
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				tb.Fatalf("shared data folder %s is missing: the tests need ../shared/data beside the checkout (see README)", dir)
			}
			return dir
		}
		if filepath.Dir(d) == d {
			tb.Fatalf("shared data: no go.mod above %s", wd)
		}
	}
}

// Path returns the path of a file under the shared data folder, failing tb
// when it does not exist.
func Path(tb testing.TB, rel ...string) string {
	tb.Helper()
	p := filepath.Join(append([]string{Dir(tb)}, rel...)...)
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("shared data file missing: %v", err)
	}
	return p
}

// EventFiles are the JSON-lines event logs of the shared data, relative to
// its events folder (the benchmark file excluded).
var EventFiles = []string{
	"sigma_regression.jsonl",
	"evtx_attack_samples.jsonl",
	"evtx_to_mitre_attack.jsonl",
	"benign_baseline.jsonl",
	"linux.jsonl",
}
