package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/mdrkit/mdr/respond/actuatortest"
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
