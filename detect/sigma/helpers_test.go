package sigma

import (
	"path/filepath"
	"testing"

	"github.com/mdrkit/mdr/internal/shareddata"
)

// dataDir returns ../shared/data relative to the module root; tests that
// need it fail when it is missing.
func dataDir(t testing.TB) string {
	t.Helper()
	return shareddata.Dir(t)
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
