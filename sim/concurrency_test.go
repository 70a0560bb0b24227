package sim_test

import (
	"context"
	"io"
	"sync"
	"testing"

	"github.com/mdrkit/mdr/respond"
	"github.com/mdrkit/mdr/sim"
)

// TestConcurrentUse drives one fleet from many goroutines (commands,
// snapshots, event reads) and one parsed scenario from several runs at
// once; go test -race checks it. Every event number must be used once.
func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	s, err := sim.LoadScenario("lateral-service")
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Run(ctx, sim.RunConfig{Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	f := r.Fleet
	wks, srv := r.HostIDs["wks"], r.HostIDs["srv"]
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			host := wks
			if i%2 == 1 {
				host = srv
			}
			for j := range 30 {
				var c respond.Command
				switch j % 5 {
				case 0:
					c = respond.Command{Action: respond.ActionContain, Target: respond.Target{Device: &respond.Device{Hostname: host}},
						Args: &respond.Args{ER: &respond.ERArgs{DeviceContainment: respond.NetworkIsolation}}}
				case 1:
					c = respond.Command{Action: respond.ActionAllow, Target: respond.Target{Device: &respond.Device{Hostname: host}}}
				case 2:
					c = onHost(respond.Command{Action: respond.ActionSet, Target: respond.Target{RegistryEntry: &respond.RegistryEntry{
						Key: `HKLM\SOFTWARE\mdrkit\Worker`, Type: "REG_SZ", Value: "x"}}}, host)
				case 3:
					c = onHost(respond.Command{Action: respond.ActionQuery, Target: respond.Target{Service: &respond.Service{Name: "Schedule"}}}, host)
				case 4:
					c = onHost(respond.Command{Action: respond.ActionStart, Target: respond.Target{Service: &respond.Service{Name: "wuauserv"}}}, host)
				}
				if _, err := f.Execute(ctx, c); err != nil {
					t.Error(err)
					return
				}
				if _, err := f.Snapshot(host); err != nil {
					t.Error(err)
					return
				}
				_ = f.Events(f.Stats().Events - 5)
			}
		}()
	}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Run(ctx, sim.RunConfig{Seed: 9}); err != nil {
				t.Error(err)
			}
			if err := f.WriteNDJSON(io.Discard, 0); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	evs := f.Events(0)
	for i, e := range evs {
		if e.Seq != i {
			t.Fatalf("event %d has sequence number %d", i, e.Seq)
		}
	}
	if got := f.Stats().Events; got != len(evs) {
		t.Errorf("stats count %d events, kept %d", got, len(evs))
	}
	_ = sim.Benign
}
