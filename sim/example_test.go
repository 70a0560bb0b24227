package sim_test

import (
	"context"
	"fmt"

	"github.com/mdrkit/mdr/respond"
	"github.com/mdrkit/mdr/sim"
)

// Run a built-in attack scenario, look at its ground truth, then act on
// the fleet through its respond.Actuator and check the host against its
// state before the attack.
func Example() {
	ctx := context.Background()
	run, err := sim.Generate(ctx, "phish-lateral", 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("attack steps:", run.Scenario.Phases)
	wks := run.HostIDs["wks"]

	// Quarantine the dropped tool; the response carries the undo.
	cmd := respond.Command{Action: respond.ActionContain, Target: respond.Target{File: &respond.File{Path: run.Vars["tool"]}}}
	resp, err := run.Fleet.Execute(ctx, cmd.OnHost(wks))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("quarantine:", resp.Status, "undo:", resp.Undo.Action, resp.Undo.Target.Name())

	now, _ := run.Fleet.Snapshot(wks)
	left := sim.Diff(run.Baseline[wks], now).Except(run.Truth.BenignChanges.Artifacts())
	files := 0
	for _, c := range left {
		if c.Artifact.Kind == sim.KindFile {
			files++
		}
	}
	fmt.Println("attack files still on the workstation:", files)
	// Output:
	// attack steps: [delivery execution credential-access persistence lateral-movement discovery]
	// quarantine: 200 undo: allow file
	// attack files still on the workstation: 2
}

// Snapshot a host, change it, and list the differences.
func ExampleDiff() {
	f, _ := sim.New(sim.Config{Seed: 1})
	_ = f.AddHost(sim.HostSpec{Name: "WKS-A"})
	before, _ := f.Snapshot("WKS-A")
	_, _ = f.SetRegistry("WKS-A", `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\Updater`, "REG_SZ", `C:\Users\Public\u.exe`)
	_, _ = f.SetAccountEnabled("WKS-A", "Guest", true)
	after, _ := f.Snapshot("WKS-A")
	fmt.Print(sim.Diff(before, after))
	// Output:
	// ~ account Guest: S-1-5-21-1660510915-1112765783-344235899-501, enabled false -> S-1-5-21-1660510915-1112765783-344235899-501, enabled true
	// + registry HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\Updater: REG_SZ C:\Users\Public\u.exe
}
