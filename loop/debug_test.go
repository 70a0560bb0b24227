package loop_test

import (
	"context"
	"testing"

	"github.com/mdrkit/mdr/loop"
	"github.com/mdrkit/mdr/store"
)

func TestDebugLoop(t *testing.T) {
	r := testRules(t)
	for _, name := range []string{"ransomware-staging", "lateral-service"} {
		res, err := loop.Run(context.Background(), loop.Config{Scenario: name, Seed: 1, Rules: r, Store: store.NewMemory(), Analyst: "demo"})
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range res.Incidents {
			t.Logf("%s: %s %.0f %s alerts=%d hosts=%v", name, in.IncidentID, in.Score, in.Level, in.Alerts, in.Hosts)
			for _, rl := range in.Rules {
				t.Logf("    %s %s %d", rl.Level, rl.Title, rl.Count)
			}
		}
		for _, p := range res.Plans {
			t.Logf("plan %s: %d steps", p.Plan.IncidentID, len(p.Plan.Steps))
		}
	}
}
