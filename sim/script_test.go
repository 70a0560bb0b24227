package sim_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mdrkit/mdr/sim"
)

const miniScript = `name: mini
hosts:
  - {id: h, name: 'H-{{pick "A" "B"}}', ip: 10.0.0.5}
vars:
  user: 'CORP\u{{int 1 9}}'
steps:
  - {op: phase, name: benign}
  - {op: logon, host: h, user: '{{.user}}'}
  - {op: start, as: sh, host: h, image: 'C:\Windows\System32\cmd.exe', cmdline: cmd.exe, user: '{{.user}}'}
  - {op: write_file, proc: sh, path: 'C:\Users\keep.txt'}
  - {op: baseline}
  - {op: phase, name: drop}
  - {op: write_file, proc: sh, path: 'C:\Users\evil.exe', wait: 1s..2s}
  - {op: set_reg, proc: sh, key: 'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\Evil', data: 'C:\Users\evil.exe'}
  - {op: exit, proc: sh}
`

func TestParseScenarioMini(t *testing.T) {
	s, err := sim.ParseScenario("mini.yaml", []byte(miniScript))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Phases) != 1 || s.Phases[0] != "drop" {
		t.Fatalf("phases %v", s.Phases)
	}
	r, err := s.Run(context.Background(), sim.RunConfig{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range r.Truth.Attack {
		got = append(got, string(c.Op)+" "+string(c.Artifact.Kind)+" "+c.Artifact.Key)
	}
	// The shell the baseline saw ended during the attack: a benign
	// artifact removed by an attack step is the attack's change.
	want := []string{`added file C:\Users\evil.exe`, "removed process " + shellGUID(t, r), `added registry HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\Evil`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("attack truth %q, want %q", got, want)
	}
	benign := 0
	for _, a := range r.Truth.Benign {
		if a.Kind == sim.KindFile && a.Key == `C:\Users\keep.txt` {
			benign++
		}
	}
	if benign != 1 {
		t.Errorf("benign %v", r.Truth.Benign)
	}
	labels := map[string]int{}
	for _, e := range r.Events {
		labels[e.Label]++
	}
	if labels["drop"] == 0 || labels[sim.Benign] == 0 {
		t.Errorf("labels %v", labels)
	}
}

func TestParseScenarioErrors(t *testing.T) {
	for _, tc := range []struct{ name, script, want string }{
		{"not yaml", "name: [", "mini.yaml"},
		{"no name", "hosts: []", "no name"},
		{"no hosts", "name: x", "no hosts"},
		{"unknown op", "name: x\nhosts: [{id: h, name: H}]\nsteps:\n  - {op: baseline}\n  - {op: explode}\n", "mini.yaml:5: step 1: sim: invalid: unknown op \"explode\""},
		{"missing field", "name: x\nhosts: [{id: h, name: H}]\nsteps:\n  - {op: baseline}\n  - {op: exit}\n", "step 1: sim: invalid: exit needs proc"},
		{"unknown field", "name: x\nhosts: [{id: h, name: H}]\nsteps:\n  - {op: baseline}\n  - {op: exit, proc: p, colour: red}\n", "exit does not take colour"},
		{"bad template", "name: x\nhosts: [{id: h, name: H}]\nsteps:\n  - {op: baseline}\n  - {op: exit, proc: '{{.p'}\n", "step 1"},
		{"bad wait", "name: x\nhosts: [{id: h, name: H}]\nsteps:\n  - {op: baseline}\n  - {op: exit, proc: p, wait: soon}\n", "wait"},
		{"no baseline", "name: x\nhosts: [{id: h, name: H}]\nsteps:\n  - {op: exit, proc: p}\n", "baseline"},
		{"expect unknown phase", "name: x\nhosts: [{id: h, name: H}]\nsteps:\n  - {op: baseline}\nexpect: {nope: [a]}\n", "nope"},
		{"noise without pool", "name: x\nhosts: [{id: h, name: H}]\nsteps:\n  - {op: baseline}\n  - {op: noise, count: 1}\n", "no noise pool"},
	} {
		_, err := sim.ParseScenario("mini.yaml", []byte(tc.script))
		var se *sim.ScriptError
		if err == nil || !errors.As(err, &se) || !errors.Is(err, sim.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want a ScriptError with %q", tc.name, err, tc.want)
		}
	}
}

// TestRunErrors: a step that refers to a process that does not exist
// fails the run with its line.
func TestRunErrors(t *testing.T) {
	s, err := sim.ParseScenario("x.yaml", []byte("name: x\nhosts: [{id: h, name: H}]\nsteps:\n  - {op: baseline}\n  - {op: exit, proc: ghost}\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Run(context.Background(), sim.RunConfig{})
	if err == nil || !strings.Contains(err.Error(), "x.yaml:5: step 1: exit: sim: invalid: no process \"ghost\"") {
		t.Errorf("got %v", err)
	}
	if _, err := sim.LoadScenario("../etc"); !errors.Is(err, sim.ErrUnknownScenario) {
		t.Errorf("unknown scenario: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := sim.Generate(ctx, "phish-lateral", 1); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v", err)
	}
}

// TestTruthConsistent: for every scenario and several seeds, the changes
// since the baseline are exactly the attack's and the benign activity's,
// every attack step emitted events, and the attack changed something on
// every host it touched.
func TestTruthConsistent(t *testing.T) {
	for _, name := range sim.Scenarios() {
		for seed := int64(0); seed < 5; seed++ {
			r := generate(t, name, seed)
			now := r.Fleet.SnapshotAll()
			total := 0
			for h, b := range r.Baseline {
				total += len(sim.Diff(b, now[h]))
			}
			if total != len(r.Truth.Attack)+len(r.Truth.BenignChanges) {
				t.Errorf("%s/%d: %d changes, truth has %d + %d", name, seed, total, len(r.Truth.Attack), len(r.Truth.BenignChanges))
			}
			per := map[string]int{}
			for _, e := range r.Events {
				per[e.Label]++
			}
			for _, ph := range r.Scenario.Phases {
				if per[ph] == 0 {
					t.Errorf("%s/%d: step %s emitted nothing", name, seed, ph)
				}
			}
			if len(r.Truth.Benign) == 0 {
				t.Errorf("%s/%d: no benign artifact", name, seed)
			}
		}
	}
}

func shellGUID(t *testing.T, r *sim.Run) string {
	for _, p := range r.Baseline[r.HostIDs["h"]].Processes {
		if p.CommandLine == "cmd.exe" {
			return p.GUID
		}
	}
	t.Fatal("no shell in the baseline")
	return ""
}

// TestTruthChangedValue: the ransomware flips a registry value group
// policy had set before the attack; the truth records it as changed, with
// the old data remediation must restore.
func TestTruthChangedValue(t *testing.T) {
	r := generate(t, "ransomware-staging", 6)
	for _, c := range r.Truth.Attack {
		if c.Artifact.Kind == sim.KindRegistry && strings.HasSuffix(c.Artifact.Key, `\DisableAntiSpyware`) {
			if c.Op != sim.Changed || !strings.Contains(c.Before, "0x00000000") || !strings.Contains(c.After, "0x00000001") {
				t.Errorf("%s", c)
			}
			return
		}
	}
	t.Errorf("the Defender policy change is not in the truth:\n%s", r.Truth.Attack)
}
