package sim

import (
	"context"
	"testing"
)

// TestJournalComplete plays every scenario with the cross-check on: each
// step's record of what it changed (the journal the truth is built from)
// must name everything the snapshots around the step show changed.
func TestJournalComplete(t *testing.T) {
	for _, name := range Scenarios() {
		s, err := LoadScenario(name)
		if err != nil {
			t.Fatal(err)
		}
		for seed := int64(0); seed < 3; seed++ {
			_, missed, err := s.run(context.Background(), RunConfig{Seed: seed}, true)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range missed {
				t.Errorf("%s seed %d: %s", name, seed, m)
			}
		}
	}
}
