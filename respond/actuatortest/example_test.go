package actuatortest_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/mdrkit/mdr/respond"
	"github.com/mdrkit/mdr/respond/actuatortest"
	"github.com/mdrkit/mdr/sim"
)

// A host product's actuator proves itself from its own tests with the whole
// suite (here mdrkit's simulated fleet, which passes it):
//
//	func TestConformance(t *testing.T) {
//		actuatortest.Run(t, func(t *testing.T) actuatortest.Fixture {
//			return actuatortest.Fixture{Actuator: myEDR(t), Host: "ws1", Account: "alice"}
//		})
//	}
//
// Build gives the valid command the suite sends for an action × target pair,
// which the host's own tests can use too.
func ExampleBuild() {
	ctx := context.Background()
	fleet, err := sim.New(sim.Config{Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := fleet.AddHost(sim.HostSpec{Name: "WKS-A"}); err != nil {
		fmt.Println(err)
		return
	}
	f := actuatortest.Fixture{Actuator: fleet, Host: "WKS-A"}
	cmd, ok := actuatortest.Build(&f, respond.ActionContain, respond.TargetDevice)
	if !ok {
		fmt.Println("nothing to build")
		return
	}
	cmd.CommandID = "" // a fresh id each time
	js, _ := json.Marshal(cmd)
	fmt.Println(string(js))
	resp, err := fleet.Execute(ctx, cmd)
	fmt.Println(resp.Status, err)
	resp, err = fleet.Execute(ctx, *resp.Undo) // the undo the suite checks
	fmt.Println(resp.Status, err)
	// Output:
	// {"action":"contain","target":{"device":{"hostname":"WKS-A"}},"args":{"er":{"device_containment":"network_isolation"}}}
	// 200 <nil>
	// 200 <nil>
}
