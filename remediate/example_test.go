package remediate_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/loop"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/remediate"
	"github.com/mdrkit/mdr/remediate/proof"
	"github.com/mdrkit/mdr/respond"
	"github.com/mdrkit/mdr/sim"
	"github.com/mdrkit/mdr/store"
)

// Plan remediation from the telemetry of an attack on the simulated fleet,
// apply the plan through the response dispatcher, verify it again, and roll
// it back.
func Example() {
	ctx := context.Background()
	run, _ := sim.Generate(ctx, "phish-lateral", 4)
	var nd bytes.Buffer
	_ = run.Fleet.WriteNDJSON(&nd, 0)
	rules, _ := engine.LoadSources(ctx, []engine.Source{loop.NativeRules()})
	det, _ := engine.NewDetector(rules, engine.DefaultConfig())
	rd, _ := reader.New(&nd, "sim", reader.Options{})

	// Plan: detection, incidents, scope, one plan per incident.
	an, err := remediate.PlanEvents(ctx, rd.All(), det, remediate.PipelineConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	p := an.Incidents[0].Plan

	// Apply through a dispatcher whose actuator is the fleet.
	st := store.NewMemory()
	d, _ := respond.NewDispatcher(ctx, respond.Config{Store: st, Policy: respond.Policy{Level: respond.AutomationFull}, Enforce: true})
	defer d.Close()
	act := &proof.Actuator{Fleet: run.Fleet}
	_ = d.Register(ctx, "fleet", act)
	ex, err := remediate.NewExecutor(st, d, remediate.ActuatorQuerier(act), remediate.Config{Principal: "j.analyst", OnFailure: remediate.Compensate})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := ex.Apply(ctx, p)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("applied %d steps: %d verified, %d waiting for approval\n", len(p.Steps), res.Counts.Verified, res.Counts.Pending)

	v, _ := ex.Verify(ctx, p.ID)
	fmt.Println("verified again:", v.Counts.Verified)
	u, _ := ex.Undo(ctx, p.ID)
	fmt.Println("rolled back:", u.Counts.Reverted) // the reversible steps
	_, err = store.Verify(ctx, st)
	fmt.Println("audit chain verifies:", err == nil)
	// Output:
	// applied 14 steps: 13 verified, 1 waiting for approval
	// verified again: 13
	// rolled back: 10
	// audit chain verifies: true
}
