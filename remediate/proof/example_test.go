package proof_test

import (
	"context"
	"fmt"

	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/loop"
	"github.com/mdrkit/mdr/remediate/proof"
)

// Prove remediation on the simulated fleet: play a scenario, detect it, plan
// and apply remediation for every incident, then compare every host with its
// snapshot from before the attack.
func ExampleRun() {
	ctx := context.Background()
	rules, err := engine.LoadSources(ctx, []engine.Source{loop.NativeRules()})
	if err != nil {
		fmt.Println(err)
		return
	}
	det, err := engine.NewDetector(rules, engine.DefaultConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := proof.Run(ctx, proof.Config{Scenario: "phish-lateral", Seed: 4, Detector: det, Principal: "j.analyst"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, in := range rep.Incidents {
		c := in.Result.Counts
		fmt.Printf("%d steps: %d verified, %d waiting for an analyst, %d failed\n", len(in.Plan.Steps), c.Verified, c.Pending, c.Failed)
	}
	fmt.Println("attack changes left without a reason:", len(rep.Missed))
	for _, e := range rep.Explained {
		fmt.Println("left with a reason:", e)
	}
	fmt.Println("audit chain verified:", rep.AuditRecords > 0)
	// Output:
	// 13 steps: 12 verified, 1 waiting for an analyst, 0 failed
	// 5 steps: 5 verified, 0 waiting for an analyst, 0 failed
	// attack changes left without a reason: 0
	// audit chain verified: true
}
