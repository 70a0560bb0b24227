package sim_test

import (
	"context"
	"testing"

	"github.com/mdrkit/mdr/respond"
	"github.com/mdrkit/mdr/sim"
)

// BenchmarkGenerate plays each scenario on a fresh fleet (parse once, run
// per iteration): the cost of a scenario for a test or the demo.
func BenchmarkGenerate(b *testing.B) {
	for _, name := range sim.Scenarios() {
		b.Run(name, func(b *testing.B) {
			s, err := sim.LoadScenario(name)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			events := 0
			for i := 0; b.Loop(); i++ {
				r, err := s.Run(context.Background(), sim.RunConfig{Seed: int64(i)})
				if err != nil {
					b.Fatal(err)
				}
				events += len(r.Events)
			}
			b.ReportMetric(float64(events)/float64(b.N), "events/op")
		})
	}
}

// BenchmarkExecute measures the actuator: a reversible registry set and a
// query of a service, alternating, on a host after an attack.
func BenchmarkExecute(b *testing.B) {
	r := generate(b, "phish-lateral", 1)
	wks := r.HostIDs["wks"]
	set := onHost(respond.Command{Action: respond.ActionSet, Target: respond.Target{RegistryEntry: &respond.RegistryEntry{
		Key: `HKLM\SOFTWARE\mdrkit\Bench`, Type: "REG_SZ", Value: "1"}}}, wks)
	query := onHost(respond.Command{Action: respond.ActionQuery, Target: respond.Target{Service: &respond.Service{Name: "Schedule"}}}, wks)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c := set
		if i%2 == 1 {
			c = query
		}
		resp, err := r.Fleet.Execute(ctx, c)
		if err != nil || resp.Status != respond.StatusOK {
			b.Fatal(resp.StatusText, err)
		}
	}
}
