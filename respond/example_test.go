package respond_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/respond"
	"github.com/mdrkit/mdr/store"
)

func ExampleParseCommand() {
	_, err := respond.ParseCommand([]byte(`{
		"action": "contain",
		"target": {"device": {"hostname": "ws1"}},
		"actuator": {"er": {}}
	}`))
	fmt.Println(err)
	// Output:
	// openc2 command invalid: args.er.device_containment: required for contain device (er §2.3.3.1: containment type argument not populated)
}

// edr is a host product's EDR as the example's actuator: it contains and
// releases hosts.
type edr struct {
	mu        sync.Mutex
	contained map[string]bool
}

func (e *edr) Features(context.Context) (respond.Features, error) {
	return respond.Features{Versions: []string{"1.0"}, Profiles: []string{"er"}, Pairs: respond.Pairs{
		respond.ActionQuery:   {respond.TargetFeatures},
		respond.ActionContain: {respond.TargetDevice},
		respond.ActionAllow:   {respond.TargetDevice},
	}}, nil
}

func (e *edr) Execute(ctx context.Context, c respond.Command) (respond.Response, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	host := c.Target.Device.Host()
	switch c.Action {
	case respond.ActionContain:
		e.contained[host] = true
		undo := respond.Command{Action: respond.ActionAllow, Target: respond.Target{Device: &respond.Device{Hostname: host}}}
		return respond.Response{Status: respond.StatusOK, Undo: &undo}, nil
	case respond.ActionAllow:
		delete(e.contained, host)
		return respond.Response{Status: respond.StatusOK}, nil
	}
	return respond.Response{Status: respond.StatusNotImplemented}, nil
}

func ExampleDispatcher() {
	ctx := context.Background()
	audit := store.NewMemory()
	d, err := respond.NewDispatcher(ctx, respond.Config{
		Store:   audit,
		Enforce: true, // the default is monitor mode: every command a dry run
		Policy: respond.Policy{Level: respond.AutomationSemi, Rules: []respond.PolicyRule{
			{Name: "never-isolate-dcs", When: `criticality == "critical" && action == "contain"`, Decision: respond.DecisionDeny},
			{Name: "auto-isolate", When: `score >= 80.0`, Decision: respond.DecisionAllow},
		}},
	})
	if err != nil {
		panic(err)
	}
	defer d.Close()
	e := &edr{contained: map[string]bool{}}
	if err := d.Register(ctx, "edr", e, "*"); err != nil {
		panic(err)
	}
	contain := func(host string) respond.Command {
		return respond.Command{Action: respond.ActionContain, Target: respond.Target{Device: &respond.Device{Hostname: host}},
			Args: &respond.Args{ER: &respond.ERArgs{DeviceContainment: respond.NetworkIsolation}}, Actuator: &respond.ActuatorSpec{Profile: "er"}}
	}
	r, err := d.Dispatch(ctx, respond.Request{Command: contain("ws1"), Incident: "inc-7", Score: 92, Requester: "analyst"})
	fmt.Println(r.State, r.Rule, err, e.contained["ws1"])
	_, err = d.Dispatch(ctx, respond.Request{Command: contain("dc1"), Score: 95, Criticality: "critical"})
	fmt.Println(err != nil)
	if _, err := d.Undo(ctx, r.ID, "analyst"); err != nil {
		panic(err)
	}
	fmt.Println(e.contained["ws1"])
	_, err = store.Verify(ctx, audit)
	fmt.Println("audit verifies:", err == nil)
	// Output:
	// executed auto-isolate <nil> true
	// true
	// false
	// audit verifies: true
}

func ExampleAdvisor_Advise() {
	adv, err := respond.NewAdvisor()
	if err != nil {
		panic(err)
	}
	out, err := adv.Advise(context.Background(), respond.Incident{ID: "inc-1", Alerts: []mdr.Alert{{
		ID: "a1", RuleTitle: "LSASS access", Severity: mdr.SeverityHigh, Host: "ws1",
		Tags: []string{"attack.credential_access", "attack.t1003.001"},
	}}})
	if err != nil {
		panic(err)
	}
	for _, a := range out {
		fmt.Println(a.Rank, a.Countermeasure, a.Command.Action, a.Command.Target.Name(), a.Command.Hosts())
	}
	// Output:
	// 1 D3-NI contain device [ws1]
}
