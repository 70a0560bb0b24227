package remediate_test

import (
	"context"
	"fmt"
	"time"

	"github.com/mdrkit/mdr/investigate"
	"github.com/mdrkit/mdr/remediate"
	"github.com/mdrkit/mdr/respond"
	"github.com/mdrkit/mdr/schema"
	"github.com/mdrkit/mdr/sim"
	"github.com/mdrkit/mdr/store"
)

// A scope as investigate.Graph.Scope returns it: a downloaded dropper that
// wrote a payload, ran it, and persisted it in a Run key.
func exampleScope(host string) *investigate.Scope {
	t := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	payload := `C:\ProgramData\upd\upd.exe`
	return &investigate.Scope{Items: []investigate.Item{
		{Kind: investigate.ItemProcess, EntityID: "process:dropper", Host: host, Name: `C:\Users\a\Downloads\dropper.exe`,
			Image: `C:\Users\a\Downloads\dropper.exe`, PID: 4242, Action: investigate.ActExecuted, Role: investigate.RoleAlert, First: t, EventIDs: []string{"e1"}},
		{Kind: investigate.ItemProcess, EntityID: "process:payload", Host: host, Name: payload, Image: payload, PID: 4343, ParentID: "process:dropper",
			Action: investigate.ActExecuted, Role: investigate.RoleImpact, First: t.Add(3 * time.Second), EventIDs: []string{"e3"}},
		{Kind: investigate.ItemFile, EntityID: schema.FileID(host, `C:\Users\a\Downloads\dropper.exe`), Host: host, Name: `C:\Users\a\Downloads\dropper.exe`,
			Action: investigate.ActCreated, Role: investigate.RoleCause, First: t.Add(-10 * time.Second), EventIDs: []string{"e0"}},
		{Kind: investigate.ItemFile, EntityID: schema.FileID(host, payload), Host: host, Name: payload,
			Action: investigate.ActCreated, First: t.Add(time.Second), EventIDs: []string{"e2"}},
		{Kind: investigate.ItemRegistry, EntityID: "reg:run", Host: host, Name: `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\Upd`,
			Data: payload, Action: investigate.ActCreated, First: t.Add(4 * time.Second), EventIDs: []string{"e4"}},
	}}
}

// Plan a scope: the payload process is stopped before its parent, each
// file quarantined after the process running it stops, then deleted; the
// Run value deleted.
func ExamplePlanner_Plan() {
	p, err := remediate.NewPlanner(remediate.PlannerConfig{}).Plan(context.Background(), "incident-1", exampleScope("WKS-1"))
	if err != nil {
		panic(err)
	}
	for _, s := range p.Steps {
		fmt.Println(s.ID, s.Command.Action, s.Command.Target.Name(), "after", s.DependsOn)
	}
	// Output:
	// stop_process-2 stop process after []
	// delete_registry-1 delete er:registry_entry after []
	// stop_process-1 stop process after [stop_process-2]
	// quarantine_file-2 contain file after [stop_process-2]
	// quarantine_file-1 contain file after [stop_process-1]
	// delete_file-2 delete file after [quarantine_file-2]
	// delete_file-1 delete file after [quarantine_file-1]
}

// Apply a plan through a respond.Dispatcher to an actuator (here the
// simulated fleet), with every step persisted, audited and verified by its
// post-condition.
func ExampleExecutor_Apply() {
	ctx := context.Background()
	fleet, _ := sim.New(sim.Config{Seed: 1})
	_ = fleet.AddHost(sim.HostSpec{Name: "WKS-1", IP: "10.0.0.7", Role: "workstation"})
	_, _ = fleet.SetRegistry("WKS-1", `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\Upd`, "REG_SZ", `C:\ProgramData\upd\upd.exe`)

	st := store.NewMemory()
	d, _ := respond.NewDispatcher(ctx, respond.Config{Store: st, Policy: respond.Policy{Level: respond.AutomationFull}, Enforce: true})
	defer d.Close()
	_ = d.Register(ctx, "fleet", fleet)
	ex, _ := remediate.NewExecutor(st, d, remediate.ActuatorQuerier(fleet), remediate.Config{Principal: "analyst"})

	p, _ := remediate.NewPlanner(remediate.PlannerConfig{}).Plan(ctx, "incident-1", exampleScope("WKS-1"))
	res, err := ex.Apply(ctx, p)
	if err != nil {
		panic(err)
	}
	for i, s := range p.Steps {
		fmt.Println(s.ID, res.Steps[i].State, "not found:", res.Steps[i].NotFound)
	}
	n, _ := store.Verify(ctx, st)
	fmt.Println("audit chain verified:", n > 0)
	// Output:
	// stop_process-2 verified not found: true
	// delete_registry-1 verified not found: false
	// stop_process-1 verified not found: true
	// quarantine_file-2 verified not found: true
	// quarantine_file-1 verified not found: true
	// delete_file-2 verified not found: true
	// delete_file-1 verified not found: true
	// audit chain verified: true
}
