package respond_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/mdrkit/mdr/respond"
	"github.com/mdrkit/mdr/sim"
	"github.com/mdrkit/mdr/store"
)

// A CACAO playbook isolates a host of the simulated fleet: its openc2-http
// command goes through the Dispatcher (policy, audit), an if-condition
// reads the variable the step returned.
func ExamplePlaybookEngine() {
	ctx := context.Background()
	fleet, _ := sim.New(sim.Config{Seed: 1})
	_ = fleet.AddHost(sim.HostSpec{Name: "WKS-A"})
	d, _ := respond.NewDispatcher(ctx, respond.Config{Store: store.NewMemory(), Enforce: true, Policy: respond.Policy{Level: respond.AutomationFull}})
	defer d.Close()
	_ = d.Register(ctx, "sim", fleet)

	// {"action":"contain","target":{"device":{"hostname":"__host__:value"}},"args":{"er":{"device_containment":"network_isolation"}}}
	const contain = "eyJhY3Rpb24iOiJjb250YWluIiwidGFyZ2V0Ijp7ImRldmljZSI6eyJob3N0bmFtZSI6Il9faG9zdF9fOnZhbHVlIn19LCJhcmdzIjp7ImVyIjp7ImRldmljZV9jb250YWlubWVudCI6Im5ldHdvcmtfaXNvbGF0aW9uIn19fQ=="
	playbook := []byte(`{
	  "type": "playbook", "spec_version": "cacao-2.0", "name": "Isolate a host",
	  "id": "playbook--0000a000-0000-4000-8000-000000000000", "created_by": "identity--0000a000-0000-4000-8000-000000000001",
	  "created": "2026-12-01T00:00:00.000Z", "modified": "2026-12-01T00:00:00.000Z",
	  "playbook_variables": {"__host__": {"type": "string", "external": true}, "__result__": {"type": "string"}},
	  "workflow_start": "start--0000a000-0000-4000-8000-000000000002",
	  "workflow": {
	    "start--0000a000-0000-4000-8000-000000000002": {"type": "start", "on_completion": "action--0000a000-0000-4000-8000-000000000003"},
	    "action--0000a000-0000-4000-8000-000000000003": {"type": "action", "name": "Isolate", "agent": "security-category--0000a000-0000-4000-8000-000000000009",
	      "commands": [{"type": "openc2-http", "command": "POST /openc2 HTTP/1.1", "content_b64": "` + contain + `"}],
	      "out_args": ["__result__"], "on_completion": "if-condition--0000a000-0000-4000-8000-000000000004"},
	    "if-condition--0000a000-0000-4000-8000-000000000004": {"type": "if-condition", "name": "Executed?",
	      "condition": "__result__:value LIKE '%\"state\":\"executed\"%'", "on_true": "end--0000a000-0000-4000-8000-000000000005",
	      "on_completion": "end--0000a000-0000-4000-8000-000000000006"},
	    "end--0000a000-0000-4000-8000-000000000005": {"type": "end", "name": "isolated"},
	    "end--0000a000-0000-4000-8000-000000000006": {"type": "end", "name": "done"}
	  },
	  "agent_definitions": {"security-category--0000a000-0000-4000-8000-000000000009": {"type": "security-category", "name": "EDR"}}
	}`)

	engine, _ := respond.NewPlaybookEngine(respond.WithDispatcher(d))
	pb, err := engine.Load(playbook, "isolate.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	ex, err := engine.Run(ctx, pb, respond.RunOptions{Inputs: map[string]string{"__host__": "WKS-A"}})
	for _, s := range ex.Steps {
		fmt.Println(strings.TrimSpace(fmt.Sprint(s.Type, " ", s.Name, " ", s.Status, " ", s.Detail)))
	}
	fmt.Println("error:", err, "executed:", d.Stats().Executed)
	// Output:
	// start  success
	// action Isolate success openc2 contain device on WKS-A: executed
	// end isolated success
	// if-condition Executed? success true
	// end done success
	// error: <nil> executed: 1
}
