package scenario_test

import (
	"testing"

	"github.com/mdrkit/mdr/internal/scenario"
)

// TestStepOf checks the per-event step labels against the facts: the counts
// of attack and benign events, every step present, steps in story order, and
// the events the facts name labelled with their step.
func TestStepOf(t *testing.T) {
	for _, seed := range []int64{0, 1, 7, 99} {
		sc := scenario.Generate(scenario.Config{Seed: seed})
		count := map[scenario.Step]int{}
		order := map[scenario.Step]int{}
		for i, s := range scenario.Steps {
			order[s] = i
		}
		last := -1
		for i, r := range sc.Events {
			st := sc.StepOf(i)
			count[st]++
			if st == scenario.NoStep {
				continue
			}
			if order[st] < last {
				t.Errorf("seed %d: event %d is %s after a later step", seed, i, st)
			}
			last = order[st]
			if r.Str("ProcessGuid") == sc.Facts.ToolGUID && r.Str("EventID") == "1" && st != scenario.StepCredentials {
				t.Errorf("seed %d: the tool's start is %q, want %s", seed, st, scenario.StepCredentials)
			}
		}
		if n := count[scenario.NoStep]; n != sc.Facts.NoiseEvents {
			t.Errorf("seed %d: %d benign events, facts say %d", seed, n, sc.Facts.NoiseEvents)
		}
		if n := len(sc.Events) - count[scenario.NoStep]; n != sc.Facts.AttackEvents {
			t.Errorf("seed %d: %d attack events, facts say %d", seed, n, sc.Facts.AttackEvents)
		}
		for _, s := range scenario.Steps {
			if count[s] == 0 {
				t.Errorf("seed %d: no event of step %s", seed, s)
			}
		}
		if sc.StepOf(-1) != scenario.NoStep || sc.StepOf(len(sc.Events)) != scenario.NoStep {
			t.Errorf("seed %d: out-of-range index has a step", seed)
		}
	}
}
