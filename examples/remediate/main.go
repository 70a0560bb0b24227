// Command remediate shows package remediate embedded in a host program:
// an attack plays on the simulated fleet (the host product's EDR would be
// the actuator instead), detection and investigation feed a remediation
// plan, the plan is applied through the governed dispatcher and every step
// verified, every host is compared with its snapshot from before the
// attack, and finally the whole plan is rolled back from history.
//
//	go run ./examples/remediate
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/loop"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/remediate"
	"github.com/mdrkit/mdr/remediate/proof"
	"github.com/mdrkit/mdr/respond"
	"github.com/mdrkit/mdr/sim"
	"github.com/mdrkit/mdr/store"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "remediate:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer) error {
	simRun, err := sim.Generate(ctx, "phish-lateral", 4)
	if err != nil {
		return err
	}
	var nd bytes.Buffer
	if err := simRun.Fleet.WriteNDJSON(&nd, 0); err != nil {
		return err
	}
	rules, err := engine.LoadSources(ctx, []engine.Source{loop.NativeRules()})
	if err != nil {
		return err
	}
	det, err := engine.NewDetector(rules, engine.DefaultConfig())
	if err != nil {
		return err
	}
	rd, err := reader.New(&nd, "sim", reader.Options{})
	if err != nil {
		return err
	}
	// Detect, build the graph, group the alerts, scope and plan each group.
	an, err := remediate.PlanEvents(ctx, rd.All(), det, remediate.PipelineConfig{})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d events, %d alerts, %d incidents\n", an.Events, len(an.Alerts), len(an.Incidents))

	// The dispatcher governs every command; the actuator is the fleet.
	st := store.NewMemory()
	d, err := respond.NewDispatcher(ctx, respond.Config{Store: st, Policy: respond.Policy{Level: respond.AutomationFull}, Enforce: true})
	if err != nil {
		return err
	}
	defer d.Close()
	if err := proof.Register(ctx, d, simRun.Fleet); err != nil {
		return err
	}
	ex, err := remediate.NewExecutor(st, d, remediate.ActuatorQuerier(simRun.Fleet), remediate.Config{
		Principal: "j.analyst",
		OnFailure: remediate.Compensate, // a failed step reverts what was applied
		Approve:   func(s *remediate.Step) bool { return s.Kind == remediate.KindDeleteAccount },
	})
	if err != nil {
		return err
	}
	var plans []*remediate.Plan
	for _, ip := range an.Incidents {
		p := ip.Plan
		fmt.Fprintf(w, "\nplan %s: %d steps, %d not restorable\n", p.IncidentID, len(p.Steps), len(p.NotRestorable))
		res, err := ex.Apply(ctx, p)
		if err != nil {
			return err
		}
		for i, s := range res.Steps {
			fmt.Fprintf(w, "  %-10s %s\n", s.State, p.Steps[i].Reason)
		}
		fmt.Fprintf(w, "  verified %d, failed %d, not found %d, pending approval %d\n", res.Counts.Verified, res.Counts.Failed, res.Counts.NotFound, res.Counts.Pending)
		plans = append(plans, p)
	}

	// Every host against its snapshot from before the attack.
	out := proof.Compare(simRun, plans)
	hosts := make([]string, 0, len(out.Diff))
	for h := range out.Diff {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	fmt.Fprintln(w)
	for _, h := range hosts {
		fmt.Fprintf(w, "%s: %d differences from the snapshot (benign activity of the scenario included)\n", h, len(out.Diff[h]))
	}
	fmt.Fprintf(w, "left without a reason: %d; benign touched: %d\n", len(out.Missed), len(out.Touched))

	// Verify again on demand, then roll the first plan back from history.
	if len(plans) > 0 {
		v, err := ex.Verify(ctx, plans[0].ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "\nre-verified %s: %d verified, %d unverified\n", plans[0].ID, v.Counts.Verified, v.Counts.Unverified)
		u, err := ex.Undo(ctx, plans[0].ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "rolled back %s: %d steps reverted\n", plans[0].ID, u.Counts.Reverted)
	}
	n, err := store.Verify(ctx, st)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "audit chain: %d records, verified\n", n)
	return nil
}
