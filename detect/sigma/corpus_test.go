package sigma

import (
	"errors"
	"testing"
)

// TestCorpusCompiles compiles all 3,780 rules of the SigmaHQ corpus with the
// built-in Windows pipeline: at least 99.5 % must compile, and every
// rejection is listed with its reason.
func TestCorpusCompiles(t *testing.T) {
	c, err := New(WithPipeline(WindowsPipeline()))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := c.CompileFiles(corpusPaths(t)...)
	var le *LoadError
	rejected := 0
	if err != nil {
		if !errors.As(err, &le) {
			t.Fatal(err)
		}
		rejected = len(le.Problems)
		for _, p := range le.Problems {
			t.Logf("rejected: %v", p)
		}
	}
	total := len(rules) + rejected
	if total != 3780 {
		t.Errorf("corpus has %d rules, want 3780", total)
	}
	pct := 100 * float64(len(rules)) / float64(total)
	t.Logf("compiled %d of %d Sigma rules (%.2f %%), %d rejected", len(rules), total, pct, rejected)
	if pct < 99.5 {
		t.Errorf("compiled %.2f %% of the corpus, want >= 99.5 %%", pct)
	}
}
