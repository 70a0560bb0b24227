package proof_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdrkit/mdr/remediate"
	"github.com/mdrkit/mdr/respond"
	"github.com/mdrkit/mdr/sim"
	"github.com/mdrkit/mdr/store"
)

// timedActuator measures the time spent inside the fleet's Execute, so
// the benchmark can report the executor's overhead apart from it.
type timedActuator struct {
	respond.Actuator
	ns atomic.Int64
}

func (t *timedActuator) Execute(ctx context.Context, c respond.Command) (respond.Response, error) {
	start := time.Now()
	r, err := t.Actuator.Execute(ctx, c)
	t.ns.Add(int64(time.Since(start)))
	return r, err
}

// hundredSteps puts 50 registry values and 25 services on a fresh host
// and returns the fleet and a 100-step plan removing them (a service's
// delete waits for its stop).
func hundredSteps(b *testing.B, id string) (*sim.Fleet, *remediate.Plan) {
	f, err := sim.New(sim.Config{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	const host = "WKS-B1"
	if err := f.AddHost(sim.HostSpec{Name: host, IP: "10.9.9.9", Role: "workstation"}); err != nil {
		b.Fatal(err)
	}
	p := &remediate.Plan{ID: id, IncidentID: "bench"}
	for i := range 50 {
		key := fmt.Sprintf(`HKLM\SOFTWARE\Bench\v%d`, i)
		if _, err := f.SetRegistry(host, key, "REG_SZ", "x"); err != nil {
			b.Fatal(err)
		}
		p.Steps = append(p.Steps, benchStep(fmt.Sprintf("reg-%d", i), key, remediate.KindDeleteRegistry, respond.Command{Action: respond.ActionDelete,
			Target: respond.Target{RegistryEntry: &respond.RegistryEntry{Key: key, Type: "REG_SZ"}}}, host))
	}
	for i := range 25 {
		name := fmt.Sprintf("BenchSvc%d", i)
		if _, err := f.CreateService(host, sim.Service{Name: name, ImagePath: `C:\ProgramData\b.exe`, StartType: "demand", Account: "LocalSystem"}); err != nil {
			b.Fatal(err)
		}
		t := respond.Target{Service: &respond.Service{Name: name}}
		stop := benchStep("stop-"+name, name, remediate.KindStopService, respond.Command{Action: respond.ActionStop, Target: t}, host)
		stop.Check.Expr = `response.status == 200 && has(state.service) && state.service.state == "stopped"`
		del := benchStep("del-"+name, name, remediate.KindDeleteService, respond.Command{Action: respond.ActionDelete, Target: t}, host)
		del.DependsOn = []string{stop.ID}
		p.Steps = append(p.Steps, stop, del)
	}
	return f, p
}

func benchStep(id, item string, kind remediate.StepKind, c respond.Command, host string) remediate.Step {
	c.Actuator = &respond.ActuatorSpec{Profile: "er", Hostname: host}
	c = c.OnHost(host)
	q := respond.Command{Action: respond.ActionQuery, Target: c.Target}.OnHost(host)
	return remediate.Step{ID: id, Command: c, ScopeItem: item, Kind: kind, Host: host, Reversible: true, DependsOn: []string{},
		Check: &remediate.Check{Query: &q, Expr: `response.status == 404 || (response.status == 200 && has(state.exists) && !state.exists)`}}
}

// BenchmarkApply100 applies a 100-step plan to the simulated fleet through
// a respond.Dispatcher (enforcing, memory store, audit chain) with every
// step verified by its post-condition (goal: at most 200 ms plus the
// actuator's own time). It reports the actuator's time and the overhead
// apart.
func BenchmarkApply100(b *testing.B) {
	for _, par := range []int{1, 4} {
		b.Run(fmt.Sprintf("parallel=%d", par), func(b *testing.B) { benchApply(b, par) })
	}
}

// benchApply reports the time inside the actuator summed over its calls;
// with one step at a time that sum is part of the wall time, and the rest
// is the executor's, dispatcher's and store's overhead.
func benchApply(b *testing.B, parallel int) {
	b.ReportAllocs()
	var actNS, totalNS int64
	var cpu time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		f, p := hundredSteps(b, fmt.Sprintf("bench-%d", i))
		st := store.NewMemory()
		ctx := b.Context()
		d, err := respond.NewDispatcher(ctx, respond.Config{Store: st, Policy: respond.Policy{Level: respond.AutomationFull}, Enforce: true})
		if err != nil {
			b.Fatal(err)
		}
		act := &timedActuator{Actuator: f}
		if err := d.Register(ctx, "sim", act); err != nil {
			b.Fatal(err)
		}
		ex, err := remediate.NewExecutor(st, d, remediate.ActuatorQuerier(act), remediate.Config{Parallel: parallel})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start, c0 := time.Now(), processCPU()
		res, err := ex.Apply(ctx, p)
		totalNS += int64(time.Since(start))
		cpu += processCPU() - c0
		b.StopTimer()
		if err != nil || !res.OK() || res.Counts.Verified != 100 {
			b.Fatalf("apply: %v %+v %v", err, res.Counts, res.Err)
		}
		actNS += act.ns.Load()
		d.Close()
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(actNS)/n/1e6, "actuator-ms/op")
	b.ReportMetric(float64(cpu)/n/1e6, "cpu-ms/op")
	if parallel == 1 {
		b.ReportMetric(float64(totalNS-actNS)/n/1e6, "overhead-ms/op")
	}
}
