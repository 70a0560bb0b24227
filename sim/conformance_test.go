package sim_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mdrkit/mdr/respond"
	"github.com/mdrkit/mdr/respond/actuatortest"
	"github.com/mdrkit/mdr/sim"
)

// TestConformance runs respond/actuatortest on the fleet a ransomware
// scenario leaves: every declared pair on real objects of the host (the
// loader DLL with its hashes, the loader process, the attacker's account,
// service and Defender policy value, the vendor's scheduled task), undo
// commands checked to restore the host's state.
func TestConformance(t *testing.T) {
	s, err := sim.LoadScenario("ransomware-staging")
	if err != nil {
		t.Fatal(err)
	}
	actuatortest.Run(t, func(t *testing.T) actuatortest.Fixture {
		r, err := s.Run(context.Background(), sim.RunConfig{Seed: 21})
		if err != nil {
			t.Fatal(err)
		}
		wks := r.HostIDs["wks"]
		snap := mustSnap(t, r.Fleet, wks)
		loader := snap.Files[strings.ToLower(r.Vars["loader"])]
		var proc *respond.Process
		for _, p := range snap.Processes {
			if strings.Contains(p.CommandLine, "DllRegisterServer") {
				proc = &respond.Process{PID: pid(p.PID)}
			}
		}
		if proc == nil || loader.Path == "" {
			t.Fatal("the scenario left no loader")
		}
		policy := `HKLM\SOFTWARE\Policies\Microsoft\Windows Defender\DisableAntiSpyware`
		reg := snap.Registry[strings.ToLower(policy)]
		return actuatortest.Fixture{
			Actuator:      r.Fleet,
			Host:          wks,
			File:          &respond.File{Path: loader.Path, Hashes: &respond.Hashes{SHA256: loader.SHA256}},
			Process:       proc,
			Account:       r.Vars["account"],
			Service:       r.Vars["service"],
			Registry:      &respond.RegistryEntry{Key: reg.Path, Type: reg.Type, Value: reg.Data},
			ScheduledTask: `\Adobe Acrobat Update Task`,
			State: func() (any, error) {
				now, err := r.Fleet.Snapshot(wks)
				if err != nil {
					return nil, err
				}
				// What differs from the fixture's start, a restarted
				// program being the same program.
				return sim.Diff(snap, now).String(), nil
			},
		}
	})
}
