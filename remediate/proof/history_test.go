package proof_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mdrkit/mdr/engine"
	"github.com/mdrkit/mdr/reader"
	"github.com/mdrkit/mdr/remediate"
	"github.com/mdrkit/mdr/remediate/proof"
	"github.com/mdrkit/mdr/respond"
	"github.com/mdrkit/mdr/sim"
	"github.com/mdrkit/mdr/store"
	"github.com/mdrkit/mdr/store/badger"
)

// TestReverifyAndUndo applies the phishing scenario's plans on the badger
// store, then, as a later process would: re-verifies them against new
// telemetry in which the attacker sets the Run value again (that step
// becomes unverified, the others stay verified), and undoes the whole
// plan from history through a new dispatcher, which puts the reversible
// changes back (the quarantined files, the registry value, the task, the
// service) and reports the irreversible ones (stopped processes) as
// errors without stopping.
func TestReverifyAndUndo(t *testing.T) {
	ctx := t.Context()
	st, err := badger.Open(badger.DefaultConfig(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	det, err := engine.NewDetector(sigma(t), engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := proof.Run(ctx, proof.Config{Scenario: "phish-lateral", Seed: 4, Detector: det, Store: st})
	if err != nil || !rep.OK() {
		t.Fatalf("%v %+v %+v", err, rep.Missed, rep.Touched)
	}
	fleet := rep.Run.Fleet
	var wksPlan *remediate.Plan
	for _, in := range rep.Incidents {
		if in.Plan.Step("delete_registry-1") != nil {
			wksPlan = in.Plan
		}
	}
	if wksPlan == nil {
		t.Fatal("no plan deletes the Run value")
	}
	runStep := wksPlan.Step("delete_registry-1")
	key := runStep.Command.Target.RegistryEntry.Key

	// a later process: new dispatcher over the same store
	newExecutor := func() (*remediate.Executor, *respond.Dispatcher) {
		d, err := respond.NewDispatcher(ctx, respond.Config{Store: st, Policy: respond.Policy{Level: respond.AutomationFull}, Enforce: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := proof.Register(ctx, d, fleet); err != nil {
			t.Fatal(err)
		}
		ex, err := remediate.NewExecutor(st, d, remediate.ActuatorQuerier(fleet), remediate.Config{Principal: "analyst"})
		if err != nil {
			t.Fatal(err)
		}
		return ex, d
	}

	// re-infection: the Run value is set again
	from := len(fleet.Events(0))
	if _, err := fleet.SetRegistry(runStep.Host, key, "REG_SZ", `C:\ProgramData\again.exe`); err != nil {
		t.Fatal(err)
	}
	var nd bytes.Buffer
	if err := fleet.WriteNDJSON(&nd, from); err != nil {
		t.Fatal(err)
	}
	rd, err := reader.New(&nd, "later", reader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ex, d := newExecutor()
	res, err := ex.Reverify(ctx, wksPlan.ID, rd.All())
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range wksPlan.Steps {
		rec := res.Steps[i]
		switch {
		case s.ID == runStep.ID && rec.State != remediate.StateUnverified:
			t.Errorf("re-set Run value: step %s is %s", s.ID, rec.State)
		case s.ID != runStep.ID && s.Check != nil && rec.State == remediate.StateUnverified:
			t.Errorf("step %s unverified by unrelated telemetry: %s", s.ID, rec.Detail)
		}
	}
	if _, err := fleet.DeleteRegistry(runStep.Host, key); err != nil {
		t.Fatal(err)
	}
	d.Close()

	// whole-plan undo from history
	ex, d = newExecutor()
	defer d.Close()
	before := fleet.SnapshotAll()
	res, err = ex.Undo(ctx, wksPlan.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res.Err, remediate.ErrNotReversible) {
		t.Errorf("undo of stopped processes should be reported not reversible: %v", res.Err)
	}
	after := fleet.SnapshotAll()
	restored := map[sim.ArtifactKind]int{}
	for h := range after {
		for _, c := range sim.Diff(before[h], after[h]) {
			restored[c.Artifact.Kind]++
		}
	}
	for _, k := range []sim.ArtifactKind{sim.KindFile, sim.KindTask, sim.KindService} {
		if restored[k] == 0 {
			t.Errorf("undo restored no %s: %v", k, restored)
		}
	}
	if res.Counts.Reverted == 0 {
		t.Errorf("counts %+v", res.Counts)
	}
	if _, err := store.Verify(ctx, st); err != nil {
		t.Fatal(err)
	}
	t.Logf("undo: %+v; restored %v; errors: %v", res.Counts, restored, res.Err)
}

// TestCompensateOnSim applies a phishing plan with one step that the
// fleet refuses (a registry key without a value path: 400) in Compensate
// mode: the run stops, every failure is collected, and the steps applied
// so far are reverted in reverse order, so the fleet is back to its state
// before the run but for the processes stopped (not reversible, reported).
func TestCompensateOnSim(t *testing.T) {
	ctx := t.Context()
	run, err := sim.Generate(ctx, "phish-lateral", 6)
	if err != nil {
		t.Fatal(err)
	}
	var nd bytes.Buffer
	if err := run.Fleet.WriteNDJSON(&nd, 0); err != nil {
		t.Fatal(err)
	}
	rd, err := reader.New(&nd, "sim", reader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	det, err := engine.NewDetector(sigma(t), engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	an, err := remediate.PlanEvents(ctx, rd.All(), det, remediate.PipelineConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var p *remediate.Plan
	for _, ip := range an.Incidents {
		if p == nil || len(ip.Plan.Steps) > len(p.Steps) {
			p = ip.Plan
		}
	}
	// the poisoned step runs after the task is deleted
	var after string
	for _, s := range p.Steps {
		if s.Kind == remediate.KindDeleteTask {
			after = s.ID
		}
	}
	if after == "" {
		t.Fatal("no task step")
	}
	host := p.Step(after).Host
	bad := respond.Command{Action: respond.ActionDelete, Target: respond.Target{RegistryEntry: &respond.RegistryEntry{Key: "nokey", Type: "REG_SZ"}},
		Actuator: &respond.ActuatorSpec{Profile: "er", Hostname: host}}.OnHost(host)
	p.Steps = append(p.Steps, remediate.Step{ID: "poison", Command: bad, ScopeItem: "reg:nokey", Kind: remediate.KindDeleteRegistry, Host: host,
		Reversible: true, DependsOn: []string{after}, EventIDs: []string{}})

	st := store.NewMemory()
	d, err := respond.NewDispatcher(ctx, respond.Config{Store: st, Policy: respond.Policy{Level: respond.AutomationFull}, Enforce: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := proof.Register(ctx, d, run.Fleet); err != nil {
		t.Fatal(err)
	}
	ex, err := remediate.NewExecutor(st, d, remediate.ActuatorQuerier(run.Fleet), remediate.Config{OnFailure: remediate.Compensate, Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	before := run.Fleet.SnapshotAll()
	res, err := ex.Apply(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res.Err, remediate.ErrStepFailed) || !errors.Is(res.Err, remediate.ErrNotReversible) {
		t.Fatalf("want the failure and the irreversible stops collected, got %v", res.Err)
	}
	if res.Counts.Failed != 1 || res.Counts.Reverted == 0 || res.Counts.Verified+res.Counts.Applied > 2 {
		t.Errorf("counts %+v", res.Counts)
	}
	now := run.Fleet.SnapshotAll()
	for h := range now {
		for _, c := range sim.Diff(before[h], now[h]) {
			if c.Artifact.Kind != sim.KindProcess {
				t.Errorf("after compensation %s differs: %s", h, c)
			}
		}
	}
	t.Logf("compensated: %+v; %v", res.Counts, res.Err)
}
