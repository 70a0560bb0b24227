package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/sim"
)

func keysOf(m map[string]json.RawMessage) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// TestRemediatePlanJSON runs "mdr remediate plan --json" on a scenario's
// telemetry and checks the exact shape of each line (point 6 of the
// remediate issue): the keys, each command's actuator naming its host,
// and that the plan removes the scenario's persistence.
func TestRemediatePlanJSON(t *testing.T) {
	run0, err := sim.Generate(context.Background(), "ransomware-staging", 3)
	if err != nil {
		t.Fatal(err)
	}
	var nd bytes.Buffer
	if err := run0.Fleet.WriteNDJSON(&nd, 0); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(file, nd.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	rules := shareddata.Path(t, "sigma", "rules", "windows")
	var out, errb bytes.Buffer
	if code := run([]string{"remediate", "plan", "--rules", rules, "--json", file}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatalf("no plan printed; stderr: %s", errb.String())
	}
	var all string
	for _, l := range lines {
		var top map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &top); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		if got := keysOf(top); !slices.Equal(got, []string{"incident_id", "not_restorable", "steps"}) {
			t.Errorf("line keys %v", got)
		}
		var steps []map[string]json.RawMessage
		if err := json.Unmarshal(top["steps"], &steps); err != nil {
			t.Fatal(err)
		}
		for _, s := range steps {
			if got := keysOf(s); !slices.Equal(got, []string{"command", "depends_on", "event_ids", "id", "reason", "reversible", "scope_item"}) {
				t.Errorf("step keys %v", got)
			}
			var cmd struct {
				Action   string                     `json:"action"`
				Actuator map[string]json.RawMessage `json:"actuator"`
			}
			if err := json.Unmarshal(s["command"], &cmd); err != nil {
				t.Fatal(err)
			}
			var spec struct {
				Hostname string `json:"hostname"`
			}
			for _, v := range cmd.Actuator {
				json.Unmarshal(v, &spec)
			}
			if cmd.Action == "" || spec.Hostname == "" {
				t.Errorf("command %s has no action or actuator hostname", s["command"])
			}
		}
		all += l
	}
	for _, want := range []string{run0.Vars["service"], run0.Vars["account"], `DisableAntiSpyware`, strings.ReplaceAll(run0.Vars["encryptor"], `\`, `\\`)} {
		if !strings.Contains(all, want) {
			t.Errorf("the plans never name %s", want)
		}
	}
}

// TestRemediateApply runs "mdr remediate apply --sim" for real and as a
// dry run: the real run restores the hosts (exit 0, nothing missed), the
// dry run changes nothing (the attack's artifacts stay in the diff).
func TestRemediateApply(t *testing.T) {
	rules := shareddata.Path(t, "sigma", "rules", "windows")
	var out, errb bytes.Buffer
	if code := run([]string{"remediate", "apply", "--sim", "phish-lateral", "--seed", "2", "--rules", rules, "--approve-all"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errb.String(), out.String())
	}
	for _, want := range []string{"verified", "missed (attack changes left, not reported): 0; benign touched: 0", "audit chain"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// --approve-all ran the credential reset, which the fleet cannot do
	if !strings.Contains(out.String(), "failed      reset_credentials-1") {
		t.Errorf("the credential reset should be reported failed (501):\n%s", out.String())
	}
	out.Reset()
	errb.Reset()
	if code := run([]string{"remediate", "apply", "--sim", "phish-lateral", "--seed", "2", "--rules", rules, "--dry-run", "--json"}, &out, &errb); code != 0 {
		t.Fatalf("dry run: exit %d: %s", code, errb.String())
	}
	dry, hosts := 0, 0
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		if string(m["state"]) == `"applied"` {
			dry++
		}
		if d, ok := m["diff"]; ok {
			hosts++
			if len(d) < 10 {
				t.Errorf("dry run left a host without the attack's changes: %s", l)
			}
		}
	}
	if dry == 0 || hosts != 2 {
		t.Errorf("dry run: %d steps shown applied (dry), %d hosts", dry, hosts)
	}
	for _, bad := range [][]string{{"remediate"}, {"remediate", "nope"}, {"remediate", "apply"}, {"remediate", "plan"}} {
		if code := run(bad, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
}
