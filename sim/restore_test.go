package sim_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/mdrkit/mdr/respond"
	"github.com/mdrkit/mdr/sim"
	"github.com/mdrkit/mdr/store"
)

// undoCommands turns a run's ground truth into the er commands that undo
// the attack, in a safe order: processes, services (with their registry
// keys), tasks (with their files), the remaining registry values, files,
// accounts. What no er command can undo is returned as not restorable.
func undoCommands(t *testing.T, r *sim.Run) (cmds []respond.Command, notRestorable []sim.Change) {
	t.Helper()
	var procs, svcs, tasks, regs, files, accts []respond.Command
	now := r.Fleet.SnapshotAll()
	covered := map[string]bool{} // registry values and files that go with a service or task
	for _, c := range r.Truth.Attack {
		a := c.Artifact
		switch {
		case a.Kind == sim.KindService && c.Op == sim.Added:
			covered[strings.ToLower(a.Host+`|HKLM\System\CurrentControlSet\Services\`+a.Key)] = true
		case a.Kind == sim.KindTask && c.Op == sim.Added:
			covered[strings.ToLower(a.Host+`|C:\Windows\System32\Tasks`+a.Key)] = true
		}
	}
	isCovered := func(host, key string) bool {
		for k := range covered {
			if strings.HasPrefix(strings.ToLower(host+"|"+key), k) {
				return true
			}
		}
		return false
	}
	for _, c := range r.Truth.Attack {
		a := c.Artifact
		on := func(cmd respond.Command) respond.Command { return onHost(cmd, a.Host) }
		switch {
		case a.Kind == sim.KindProcess && c.Op == sim.Added:
			p, ok := now[a.Host].Processes[a.Key]
			if !ok {
				t.Fatalf("attack process %s is not running", a.Key)
			}
			procs = append(procs, on(respond.Command{Action: respond.ActionStop, Target: respond.Target{Process: &respond.Process{PID: pid(p.PID)}}}))
		case a.Kind == sim.KindService && c.Op == sim.Added:
			svcs = append(svcs, on(respond.Command{Action: respond.ActionDelete, Target: respond.Target{Service: &respond.Service{Name: a.Key}}}))
		case a.Kind == sim.KindTask && c.Op == sim.Added:
			tasks = append(tasks, on(respond.Command{Action: respond.ActionDelete, Target: respond.Target{ScheduledTask: &respond.ScheduledTask{Name: a.Key}}}))
		case a.Kind == sim.KindRegistry && !isCovered(a.Host, a.Key):
			if c.Op == sim.Added {
				regs = append(regs, on(respond.Command{Action: respond.ActionDelete, Target: respond.Target{RegistryEntry: &respond.RegistryEntry{Key: a.Key, Type: "REG_SZ"}}}))
			} else {
				old := r.Baseline[a.Host].Registry[strings.ToLower(a.Key)]
				regs = append(regs, on(respond.Command{Action: respond.ActionSet, Target: respond.Target{RegistryEntry: &respond.RegistryEntry{Key: a.Key, Type: old.Type, Value: old.Data}}}))
			}
		case a.Kind == sim.KindFile && c.Op == sim.Added && !isCovered(a.Host, a.Key):
			files = append(files, on(respond.Command{Action: respond.ActionDelete, Target: respond.Target{File: &respond.File{Path: a.Key}}}))
		case a.Kind == sim.KindAccount && c.Op == sim.Added:
			accts = append(accts, on(respond.Command{Action: respond.ActionSet, Target: respond.Target{Account: &respond.Account{AccountName: a.Key}},
				Args: &respond.Args{ER: &respond.ERArgs{AccountStatus: respond.AccountDisabled}}}))
			notRestorable = append(notRestorable, c)
		case a.Kind == sim.KindRegistry, a.Kind == sim.KindFile:
		default:
			notRestorable = append(notRestorable, c)
		}
	}
	for _, g := range [][]respond.Command{procs, svcs, tasks, regs, files, accts} {
		cmds = append(cmds, g...)
	}
	return cmds, notRestorable
}

// TestRestoreThroughDispatcher closes the loop on every scenario: the
// commands that undo the ground truth go through respond.Dispatcher
// (policy, audit) to the fleet, and afterwards each host equals its
// baseline except for the benign activity since and for what the er
// profile cannot undo (an account it can only disable, a group membership
// it cannot remove); every benign artifact is still there, and the audit
// chain verifies.
func TestRestoreThroughDispatcher(t *testing.T) {
	ctx := context.Background()
	for _, name := range sim.Scenarios() {
		t.Run(name, func(t *testing.T) {
			r := generate(t, name, 11)
			st := store.NewMemory()
			d, err := respond.NewDispatcher(ctx, respond.Config{Store: st, Enforce: true, Policy: respond.Policy{Level: respond.AutomationFull}})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if err := d.Register(ctx, "sim", r.Fleet); err != nil {
				t.Fatal(err)
			}
			cmds, notRestorable := undoCommands(t, r)
			for _, c := range cmds {
				res, err := d.Dispatch(ctx, respond.Request{Command: c, Requester: "test", Reason: "undo the attack"})
				if err != nil {
					t.Fatalf("%s: %v (%+v)", c, err, res.Response)
				}
			}
			want := map[string]bool{}
			for _, c := range notRestorable {
				want[c.Artifact.ID()] = true
			}
			after := r.Fleet.SnapshotAll()
			for host, base := range r.Baseline {
				for _, c := range sim.Diff(base, after[host]).Except(r.Truth.BenignChanges.Artifacts()) {
					if !want[c.Artifact.ID()] {
						t.Errorf("%s: not back to its baseline: %s", host, c)
					}
					delete(want, c.Artifact.ID())
				}
			}
			for id := range want {
				t.Errorf("not-restorable %s was restored after all", id)
			}
			for _, a := range r.Truth.Benign {
				if !present(after[a.Host], a) {
					t.Errorf("benign %s was touched", a)
				}
			}
			if _, err := store.Verify(ctx, st); err != nil {
				t.Errorf("audit chain: %v", err)
			}
			t.Logf("%d commands; not restorable through er: %s", len(cmds), fmt.Sprint(notRestorable))
		})
	}
}

func present(s sim.Snapshot, a sim.Artifact) bool {
	k := strings.ToLower(a.Key)
	switch a.Kind {
	case sim.KindProcess:
		_, ok := s.Processes[a.Key]
		return ok
	case sim.KindFile:
		_, ok := s.Files[k]
		return ok
	case sim.KindRegistry:
		_, ok := s.Registry[k]
		return ok
	case sim.KindService:
		_, ok := s.Services[k]
		return ok
	case sim.KindTask:
		_, ok := s.Tasks[k]
		return ok
	case sim.KindAccount:
		_, ok := s.Accounts[k]
		return ok
	case sim.KindGroupMember:
		g, m, _ := strings.Cut(a.Key, `\`)
		for _, x := range s.Groups[strings.ToLower(g)] {
			if strings.EqualFold(x, m) {
				return true
			}
		}
	}
	return false
}
