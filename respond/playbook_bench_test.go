package respond_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mdrkit/mdr/respond"
	"github.com/mdrkit/mdr/sim"
	"github.com/mdrkit/mdr/store"
)

// benchPlaybook builds a 54-step playbook: start, a parallel step with
// four branches of eleven OpenC2 actions (contain/allow device alternately,
// then query features) on one host each, an if-condition on a variable, a
// last action and an end step.
func benchPlaybook(tb testing.TB, hosts []string) ([]byte, []respond.Command) {
	tb.Helper()
	id := func(typ string, n int) string { return fmt.Sprintf("%s--%08x-0000-4000-8000-%012x", typ, 0x3000+n, n) }
	agent := id("security-category", 999)
	var cmds []respond.Command
	action := func(name string, cmd respond.Command, next string) map[string]any {
		cmds = append(cmds, cmd)
		raw, err := json.Marshal(cmd)
		if err != nil {
			tb.Fatal(err)
		}
		return map[string]any{"type": "action", "name": name, "agent": agent, "on_completion": next,
			"commands": []any{map[string]any{"type": "openc2-http", "command": "POST /openc2 HTTP/1.1", "content_b64": base64.StdEncoding.EncodeToString(raw)}}}
	}
	wf := map[string]any{}
	n := 1
	start, par := id("start", 0), id("parallel", 1)
	wf[start] = map[string]any{"type": "start", "on_completion": par}
	var branches []string
	for b, h := range hosts {
		first := ""
		for i := 0; i < 11; i++ {
			n++
			this := id("action", n)
			next := id("action", n+1)
			if i == 10 {
				next = id("end", 100+b)
			}
			if first == "" {
				first = this
			}
			var c respond.Command
			switch {
			case i == 10:
				c = respond.Command{Action: respond.ActionQuery, Target: respond.Target{Features: &[]respond.Feature{}}, Actuator: &respond.ActuatorSpec{Profile: "er", Hostname: h}}
			case i%2 == 0:
				c = respond.Command{Action: respond.ActionContain, Target: respond.Target{Device: &respond.Device{Hostname: h}},
					Args: &respond.Args{ER: &respond.ERArgs{DeviceContainment: respond.NetworkIsolation}}}
			default:
				c = respond.Command{Action: respond.ActionAllow, Target: respond.Target{Device: &respond.Device{Hostname: h}}}
			}
			wf[this] = action(fmt.Sprintf("branch %d step %d", b, i), c, next)
		}
		wf[id("end", 100+b)] = map[string]any{"type": "end"}
		branches = append(branches, first)
	}
	iff, last, end, endIf := id("if-condition", 200), id("action", 201), id("end", 202), id("end", 203)
	wf[par] = map[string]any{"type": "parallel", "next_steps": branches, "on_completion": iff}
	wf[iff] = map[string]any{"type": "if-condition", "condition": "__mode__:value = 'contain'", "on_true": endIf, "on_completion": last}
	wf[endIf] = map[string]any{"type": "end"}
	wf[last] = action("last", respond.Command{Action: respond.ActionQuery, Target: respond.Target{Features: &[]respond.Feature{}}, Actuator: &respond.ActuatorSpec{Profile: "er", Hostname: hosts[0]}}, end)
	wf[end] = map[string]any{"type": "end"}
	pb := map[string]any{"type": "playbook", "spec_version": "cacao-2.0", "id": id("playbook", 1), "name": "bench",
		"created_by": id("identity", 1), "created": "2026-12-03T18:00:00.000Z", "modified": "2026-12-03T18:00:00.000Z",
		"playbook_variables": map[string]any{"__mode__": map[string]any{"type": "string", "value": "contain"}},
		"workflow_start":     start, "workflow": wf,
		"agent_definitions": map[string]any{agent: map[string]any{"type": "security-category", "name": "EDR", "category": []string{"edr"}}}}
	data, err := json.Marshal(pb)
	if err != nil {
		tb.Fatal(err)
	}
	return data, cmds
}

// benchFleet is four simulated hosts behind an enforcing dispatcher with
// full automation over the in-memory store's audit chain.
func benchFleet(tb testing.TB) (*respond.Dispatcher, []string, *store.Memory) {
	tb.Helper()
	ctx := context.Background()
	f, err := sim.New(sim.Config{Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	hosts := []string{"WKS-A", "WKS-B", "WKS-C", "SRV-D"}
	for _, h := range hosts {
		if err := f.AddHost(sim.HostSpec{Name: h}); err != nil {
			tb.Fatal(err)
		}
	}
	st := store.NewMemory()
	d, err := respond.NewDispatcher(ctx, respond.Config{Store: st, Enforce: true, Policy: respond.Policy{Level: respond.AutomationFull}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	if err := d.Register(ctx, "sim", f); err != nil {
		tb.Fatal(err)
	}
	return d, hosts, st
}

// TestPlaybook50StepsOnSimFleet runs the benchmark's playbook once and
// checks what it did: 54 steps, 45 OpenC2 commands executed on the fleet,
// an audit chain that verifies.
func TestPlaybook50StepsOnSimFleet(t *testing.T) {
	d, hosts, st := benchFleet(t)
	data, cmds := benchPlaybook(t, hosts)
	e, err := respond.NewPlaybookEngine(respond.WithDispatcher(d))
	if err != nil {
		t.Fatal(err)
	}
	pb, err := e.Load(data, "bench")
	if err != nil {
		t.Fatal(err)
	}
	ex, err := e.Run(context.Background(), pb, respond.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pb.Steps) != 54 || len(ex.Steps) != 54 {
		t.Fatalf("%d steps, %d executed", len(pb.Steps), len(ex.Steps))
	}
	if s := d.Stats(); s.Executed != int64(len(cmds)) || len(cmds) != 45 {
		t.Fatalf("stats %+v for %d commands", s, len(cmds))
	}
	if _, err := store.Verify(context.Background(), st); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkPlaybook50Steps runs the 54-step playbook with four parallel
// branches on the simulated fleet through the dispatcher (policy, audit).
// Compare with BenchmarkPlaybook50StepsDirect, the same 45 commands
// dispatched by hand on four goroutines: the difference is the playbook
// engine's overhead.
func BenchmarkPlaybook50Steps(b *testing.B) {
	d, hosts, _ := benchFleet(b)
	data, _ := benchPlaybook(b, hosts)
	e, err := respond.NewPlaybookEngine(respond.WithDispatcher(d))
	if err != nil {
		b.Fatal(err)
	}
	pb, err := e.Load(data, "bench")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	defer reportCPU(b, cpuTime())
	for b.Loop() {
		if _, err := e.Run(ctx, pb, respond.RunOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPlaybook50StepsDirect(b *testing.B) {
	d, hosts, _ := benchFleet(b)
	_, cmds := benchPlaybook(b, hosts)
	ctx := context.Background()
	b.ReportAllocs()
	defer reportCPU(b, cpuTime())
	for b.Loop() {
		var wg sync.WaitGroup
		errs := make([]error, len(hosts))
		for h := range hosts {
			wg.Go(func() {
				for _, c := range cmds[h*11 : h*11+11] {
					if _, err := d.Dispatch(ctx, respond.Request{Command: c, Requester: "bench"}); err != nil {
						errs[h] = err
						return
					}
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
		if _, err := d.Dispatch(ctx, respond.Request{Command: cmds[len(cmds)-1], Requester: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlaybookLoad measures loading (parsing, validating, compiling)
// the 54-step playbook.
func BenchmarkPlaybookLoad(b *testing.B) {
	data, _ := benchPlaybook(b, []string{"A", "B", "C", "D"})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := respond.ParsePlaybook(data); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuTime is the process's user and system CPU time: on a shared machine
// the CPU each run costs is steadier than its wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per operation since start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N)/1e6, "cpu-ms/op")
}

// nopDispatcher answers every command at once: with it the benchmark
// measures the playbook engine alone.
type nopDispatcher struct{}

func (nopDispatcher) Dispatch(_ context.Context, r respond.Request) (respond.Result, error) {
	return respond.Result{State: respond.StateExecuted, Response: &respond.Response{Status: respond.StatusOK}}, nil
}

// BenchmarkPlaybook50StepsEngineOnly runs the 54-step playbook with a
// dispatcher that does nothing: the engine's own cost per run (parsing
// each embedded OpenC2 command, scopes, timeouts, records, the parallel
// branches' goroutines).
func BenchmarkPlaybook50StepsEngineOnly(b *testing.B) {
	data, _ := benchPlaybook(b, []string{"WKS-A", "WKS-B", "WKS-C", "SRV-D"})
	e, err := respond.NewPlaybookEngine(respond.WithDispatcher(nopDispatcher{}))
	if err != nil {
		b.Fatal(err)
	}
	pb, err := e.Load(data, "bench")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	defer reportCPU(b, cpuTime())
	for b.Loop() {
		if _, err := e.Run(ctx, pb, respond.RunOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
