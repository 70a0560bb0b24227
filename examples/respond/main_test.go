package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/mdrkit/mdr/respond"
	"github.com/mdrkit/mdr/respond/actuatortest"
	"github.com/mdrkit/mdr/sim"
	"github.com/mdrkit/mdr/store"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{
		"block on WKS-FIN7: executed by rule block-on-high-score",
		"block on SRV-DB1: pending by rule servers-need-an-analyst",
		`block on SRV-DB1: executed, approved by j.analyst: "confirmed with the DBA team"`,
		"openc2 deny ipv4_net on WKS-FIN7: executed",
		"firewall WKS-FIN7: [203.0.113.9 198.51.100.23]",
		"firewall SRV-DB1:  [203.0.113.9]",
		"after undo WKS-FIN7: [198.51.100.23]",
		"4 executed, 1 undone; audit chain of",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestFirewallConformance runs the actuator conformance suite on the
// example's firewall.
func TestFirewallConformance(t *testing.T) {
	actuatortest.Run(t, func(t *testing.T) actuatortest.Fixture {
		return actuatortest.Fixture{Actuator: newFirewall("WKS-FIN7"), Host: "WKS-FIN7"}
	})
}

// TestIsolatePlaybook runs isolate-host.json (the playbook the README runs
// with mdr respond playbook) on the simulated fleet through a dispatcher.
func TestIsolatePlaybook(t *testing.T) {
	ctx := context.Background()
	data, err := os.ReadFile("isolate-host.json")
	if err != nil {
		t.Fatal(err)
	}
	fleet, err := sim.New(sim.Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := fleet.AddHost(sim.HostSpec{Name: "WKS-FIN7"}); err != nil {
		t.Fatal(err)
	}
	d, err := respond.NewDispatcher(ctx, respond.Config{Store: store.NewMemory(), Enforce: true, Policy: respond.Policy{Level: respond.AutomationFull}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Register(ctx, "sim", fleet); err != nil {
		t.Fatal(err)
	}
	eng, err := respond.NewPlaybookEngine(respond.WithDispatcher(d))
	if err != nil {
		t.Fatal(err)
	}
	pb, err := eng.Load(data, "isolate-host.json")
	if err != nil {
		t.Fatal(err)
	}
	ex, err := eng.Run(ctx, pb, respond.RunOptions{Inputs: map[string]string{"__host__": "WKS-FIN7"}})
	if err != nil || ex.Failed {
		t.Fatalf("%v %+v", err, ex)
	}
	if st := d.Stats(); st.Executed != 1 {
		t.Errorf("executed %d commands, want 1", st.Executed)
	}
}
