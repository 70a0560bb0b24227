package sim_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/mdrkit/mdr/respond"
	"github.com/mdrkit/mdr/sim"
)

func onHost(c respond.Command, host string) respond.Command {
	c.Actuator = &respond.ActuatorSpec{Profile: "er", Hostname: host}
	return c.OnHost(host)
}

func pid(p int) *int64 { v := int64(p); return &v }

// TestActuatorActions performs each action of the fleet's matrix on the
// hosts a scenario left behind, checks that it changed the host as it
// should, then runs the undo command the response carried and checks that
// the host is back to its state before the action (Diff empty).
func TestActuatorActions(t *testing.T) {
	ctx := context.Background()
	r := generate(t, "phish-lateral", 5)
	f := r.Fleet
	wks, srv := r.HostIDs["wks"], r.HostIDs["srv"]
	var psPID int
	snap, _ := f.Snapshot(wks)
	for _, p := range snap.Processes {
		if p.Image == `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe` {
			psPID = p.PID
		}
	}
	if psPID == 0 {
		t.Fatal("no PowerShell left by the attack")
	}
	runKey := ""
	for _, c := range r.Truth.Attack {
		if c.Artifact.Kind == sim.KindRegistry && c.Artifact.Host == wks {
			runKey = c.Artifact.Key
		}
	}
	tr := true
	cases := []struct {
		name       string
		host       string
		cmd        respond.Command
		status     respond.StatusCode
		undo       bool
		changed    sim.ArtifactKind // the kind of artifact the action must change ("" = none)
		reversible bool
	}{
		{"contain device", wks, respond.Command{Action: respond.ActionContain, Target: respond.Target{Device: &respond.Device{Hostname: wks}},
			Args: &respond.Args{ER: &respond.ERArgs{DeviceContainment: respond.NetworkIsolation, PermittedAddresses: &respond.PermittedAddresses{IPv4Net: []string{"10.20.0.5/32"}}}}},
			200, true, sim.KindContainment, true},
		{"contain device without device_containment", wks, respond.Command{Action: respond.ActionContain, Target: respond.Target{Device: &respond.Device{Hostname: wks}}},
			400, false, "", false},
		{"quarantine file", wks, respond.Command{Action: respond.ActionContain, Target: respond.Target{File: &respond.File{Path: r.Vars["tool"]}}},
			200, true, sim.KindFile, true},
		{"quarantine file with wrong hash", wks, respond.Command{Action: respond.ActionContain, Target: respond.Target{File: &respond.File{Path: r.Vars["tool"], Hashes: &respond.Hashes{SHA256: "00"}}}},
			400, false, "", false},
		{"delete missing file", wks, respond.Command{Action: respond.ActionDelete, Target: respond.Target{File: &respond.File{Path: `C:\nothing.exe`}}},
			404, false, "", false},
		{"delete registry value", wks, respond.Command{Action: respond.ActionDelete, Target: respond.Target{RegistryEntry: &respond.RegistryEntry{Key: runKey, Type: "REG_SZ"}}},
			200, true, sim.KindRegistry, true},
		{"set registry value", wks, respond.Command{Action: respond.ActionSet, Target: respond.Target{RegistryEntry: &respond.RegistryEntry{Key: `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\Shell`, Type: "REG_SZ", Value: "explorer.exe, evil.exe"}}},
			200, true, sim.KindRegistry, true},
		{"create registry value", wks, respond.Command{Action: respond.ActionCreate, Target: respond.Target{RegistryEntry: &respond.RegistryEntry{Key: `HKLM\SOFTWARE\mdrkit\Marker`, Type: "REG_DWORD", Value: "1"}}},
			200, true, sim.KindRegistry, true},
		{"stop service", srv, respond.Command{Action: respond.ActionStop, Target: respond.Target{Service: &respond.Service{Name: r.Vars["service"]}}},
			200, true, sim.KindService, true},
		{"delete service", srv, respond.Command{Action: respond.ActionDelete, Target: respond.Target{Service: &respond.Service{Name: r.Vars["service"]}}},
			200, true, sim.KindService, true},
		{"start stopped service", wks, respond.Command{Action: respond.ActionStart, Target: respond.Target{Service: &respond.Service{Name: "wuauserv"}}},
			200, true, sim.KindService, true},
		{"disable account", wks, respond.Command{Action: respond.ActionSet, Target: respond.Target{Account: &respond.Account{AccountName: "WDAGUtilityAccount"}},
			Args: &respond.Args{ER: &respond.ERArgs{AccountStatus: respond.AccountEnabled}}},
			200, true, sim.KindAccount, true},
		{"delete task", wks, respond.Command{Action: respond.ActionDelete, Target: respond.Target{ScheduledTask: &respond.ScheduledTask{Name: r.Vars["task"]}}},
			200, true, sim.KindTask, true},
		{"create task", wks, respond.Command{Action: respond.ActionCreate, Target: respond.Target{ScheduledTask: &respond.ScheduledTask{Name: `\mdrkit\Check`, CommandLine: `C:\Windows\System32\cmd.exe /c exit`, User: "SYSTEM", Trigger: "daily", Enabled: &tr}}},
			200, true, sim.KindTask, true},
		{"stop process", wks, respond.Command{Action: respond.ActionStop, Target: respond.Target{Process: &respond.Process{PID: pid(psPID)}}},
			200, false, sim.KindProcess, false},
		{"stop missing process", wks, respond.Command{Action: respond.ActionStop, Target: respond.Target{Process: &respond.Process{PID: pid(3)}}},
			404, false, "", false},
		{"unsupported pair", wks, respond.Command{Action: respond.ActionDeny, Target: respond.Target{DomainName: "evil.example"}},
			501, false, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := onHost(tc.cmd, tc.host)
			before, err := f.Snapshot(tc.host)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := f.Execute(ctx, cmd)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != tc.status {
				t.Fatalf("%s: status %d (%s), want %d", cmd, resp.Status, resp.StatusText, tc.status)
			}
			if (resp.Undo != nil) != tc.undo {
				t.Fatalf("undo %v, want %v", resp.Undo, tc.undo)
			}
			after, _ := f.Snapshot(tc.host)
			d := sim.Diff(before, after)
			if tc.changed == "" {
				if !d.Empty() {
					t.Fatalf("a refused command changed the host:\n%s", d)
				}
				return
			}
			found := false
			for _, c := range d {
				found = found || c.Artifact.Kind == tc.changed
			}
			if !found {
				t.Fatalf("no %s changed:\n%s", tc.changed, d)
			}
			if resp.Status == 200 && resp.Results != nil {
				if _, ok := sim.StateOf(resp); !ok {
					t.Error("results carry no target state")
				}
			}
			if !tc.reversible {
				return
			}
			if err := resp.Undo.Validate(); err != nil {
				t.Errorf("undo %s does not validate: %v", resp.Undo, err)
			}
			b, err := json.Marshal(resp)
			if err != nil {
				t.Fatal(err)
			}
			back, err := respond.ParseResponse(b)
			if err != nil || back.Undo == nil {
				t.Fatalf("response %s does not parse back with its undo: %v", b, err)
			}
			u, err := f.Execute(ctx, *back.Undo)
			if err != nil || u.Status != 200 {
				t.Fatalf("undo %s: %d %s %v", back.Undo, u.Status, u.StatusText, err)
			}
			if d := sim.Diff(before, mustSnap(t, f, tc.host)); !d.Empty() {
				t.Errorf("undo left the host changed:\n%s", d)
			}
		})
	}
}

func mustSnap(t *testing.T, f *sim.Fleet, host string) sim.Snapshot {
	t.Helper()
	s, err := f.Snapshot(host)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestActuatorQuery checks that query reports the state remediation
// verifies: a file that exists and one that does not.
func TestActuatorQuery(t *testing.T) {
	ctx := context.Background()
	r := generate(t, "phish-lateral", 2)
	wks := r.HostIDs["wks"]
	q := func(path string) sim.TargetState {
		resp, err := r.Fleet.Execute(ctx, onHost(respond.Command{Action: respond.ActionQuery, Target: respond.Target{File: &respond.File{Path: path}}}, wks))
		if err != nil || resp.Status != 200 {
			t.Fatalf("query %s: %d %s %v", path, resp.Status, resp.StatusText, err)
		}
		st, ok := sim.StateOf(resp)
		if !ok {
			t.Fatal("no state")
		}
		return st
	}
	if st := q(r.Vars["tool"]); !st.Exists || st.File == nil || st.File.SHA256 == "" {
		t.Errorf("tool: %+v", st)
	}
	if st := q(`C:\absent.exe`); st.Exists {
		t.Errorf("absent file exists: %+v", st)
	}
	resp, err := r.Fleet.Execute(ctx, respond.Command{Action: respond.ActionQuery, Target: respond.Target{Features: &[]respond.Feature{respond.FeaturePairs}}})
	if err != nil || resp.Status != 200 || resp.Results == nil || len(resp.Results.Pairs) == 0 {
		t.Errorf("query features: %+v %v", resp, err)
	}
}
