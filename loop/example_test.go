package loop_test

import (
	"context"
	"fmt"

	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/loop"
	"github.com/mdrkit/mdr/store"
)

// Run the whole MDR loop on the simulated fleet with the native rules and the
// memory store: the attack, detection, triage, investigation, response under
// policy (the analyst "demo" approves what waits), remediation, the diff of
// every host against its snapshot, and the audit chain.
func Example() {
	ctx := context.Background()
	rules, err := engine.LoadSources(ctx, []engine.Source{loop.NativeRules()})
	if err != nil {
		fmt.Println(err)
		return
	}
	st := store.NewMemory()
	defer st.Close()
	res, err := loop.Run(ctx, loop.Config{Scenario: "phish-lateral", Seed: 1, Rules: rules, Store: st, Analyst: "demo"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range res.Stages {
		fmt.Println(s.Name)
	}
	fmt.Println("attack steps:", res.Phases)
	fmt.Println("top incident is the attack:", res.TopAttackEvents > 0)
	fmt.Println("attack changes left behind without a reason:", len(res.Missed))
	fmt.Println("audit chain verified:", res.AuditRecords > 0)
	// Output:
	// attack
	// detect
	// triage
	// investigate
	// respond
	// remediate
	// verify
	// audit
	// attack steps: [delivery execution credential-access persistence lateral-movement discovery]
	// top incident is the attack: true
	// attack changes left behind without a reason: 0
	// audit chain verified: true
}
