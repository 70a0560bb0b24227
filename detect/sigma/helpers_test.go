package sigma

import (
	"os"
	"path/filepath"
	"testing"
)

// dataDir returns ../shared/data relative to the module root; tests that
// need it fail when it is missing.
func dataDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
	d := filepath.Join(dir, "..", "shared", "data")
	if _, err := os.Stat(d); err != nil {
		t.Fatalf("test data missing: %v", err)
	}
	return d
}

// corpusDirs are the rule directories of the SigmaHQ corpus.
var corpusDirs = []string{"rules", "rules-emerging-threats", "rules-threat-hunting", "rules-placeholder", "rules-compliance"}

func corpusPaths(t testing.TB) []string {
	d := dataDir(t)
	out := make([]string, len(corpusDirs))
	for i, c := range corpusDirs {
		out[i] = filepath.Join(d, "sigma", c)
	}
	return out
}
