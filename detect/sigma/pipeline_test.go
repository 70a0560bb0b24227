package sigma

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
)

const userPipeline = `name: my-soc
extends: windows
logsources:
    - logsource: {product: windows, category: process_creation}
      conditions:
          - {Channel: Microsoft-Windows-Sysmon/Operational, EventID: 1}
    - logsource: {product: acme, service: edr}
      conditions:
          - {source: [acme-edr, acme-xdr]}
fields:
    - logsource: {product: acme}
      map:
          Image: [proc.path, proc.image]
          CommandLine: proc.cmd
    - logsource: {product: acme}
      prefixes: [raw.]
placeholders:
    Workstations: ['WKS-*']
`

func TestParsePipeline(t *testing.T) {
	p, err := ParsePipeline("p.yml", []byte(userPipeline))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "my-soc" || p.Placeholders["Workstations"][0] != "WKS-*" {
		t.Errorf("name/placeholders: %+v", p)
	}
	var pc []detect.LogsourceMapping
	acme := false
	for _, m := range p.Logsources {
		if m.Logsource.Category == "process_creation" {
			pc = append(pc, m)
		}
		if m.Logsource.Product == "acme" {
			acme = true
			if got := m.Conditions[0]["source"]; len(got) != 2 || got[1] != "acme-xdr" {
				t.Errorf("acme conditions %v", m.Conditions)
			}
		}
	}
	if len(pc) != 1 || len(pc[0].Conditions) != 1 || pc[0].Conditions[0]["EventID"][0] != "1" {
		t.Errorf("process_creation mapping not replaced by the user's: %+v", pc)
	}
	if !acme {
		t.Error("user mapping missing")
	}
	// The built-in services are still there.
	if len(p.Logsources) < len(windowsServices) {
		t.Errorf("extends windows lost built-in mappings: %d", len(p.Logsources))
	}
	// Field mapping applies to acme rules only.
	f := p.fieldsFor(detect.Logsource{Product: "acme", Service: "edr"})
	if got := f("Image"); strings.Join(got, ",") != "proc.path,proc.image,raw.proc.path,raw.proc.image" {
		t.Errorf("Image → %v", got)
	}
	if got := f("User"); strings.Join(got, ",") != "User,raw.User" {
		t.Errorf("User → %v", got)
	}
	if got := f("CommandLine"); strings.Join(got, ",") != "proc.cmd,raw.proc.cmd" {
		t.Errorf("CommandLine → %v", got)
	}

	// Compile a rule through it.
	c, err := New(WithPipeline(p))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := c.Compile(Source{Name: "r.yml", Data: []byte(`title: t
logsource: {product: acme, service: edr}
detection:
    sel:
        Image|endswith: '\x.exe'
        Computer|expand: '%Workstations%'
    condition: sel
`)})
	if err != nil {
		t.Fatal(err)
	}
	want := `(e["proc.path"].endsWithFold("\\x.exe") || e["proc.image"].endsWithFold("\\x.exe") || e["raw.proc.path"].endsWithFold("\\x.exe") || e["raw.proc.image"].endsWithFold("\\x.exe")) && (e.Computer.startsWithFold("WKS-") || e["raw.Computer"].startsWithFold("WKS-"))`
	if rules[0].Condition != want {
		t.Errorf("got  %s\nwant %s", rules[0].Condition, want)
	}
}

func TestLoadPipelineFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.yml")
	if err := os.WriteFile(path, []byte(userPipeline), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPipeline(path); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPipeline(filepath.Join(t.TempDir(), "missing.yml")); err == nil {
		t.Error("missing file accepted")
	}
}

func TestPipelineErrors(t *testing.T) {
	cases := map[string]struct {
		src  string
		line string
	}{
		"unknown key":       {"name: x\nbogus: 1\n", "p.yml:2:"},
		"unknown extends":   {"extends: linux\n", "p.yml:1:"},
		"empty conditions":  {"logsources:\n  - logsource: {product: x}\n    conditions: []\n", "p.yml:2:"},
		"empty logsource":   {"logsources:\n  - conditions: [{a: 1}]\n", "p.yml:2:"},
		"field without map": {"fields:\n  - logsource: {product: x}\n", "p.yml:2:"},
		"not yaml":          {"a: [\n", "p.yml"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParsePipeline("p.yml", []byte(tc.src))
			if !errors.Is(err, ErrPipeline) || !strings.Contains(err.Error(), tc.line) {
				t.Errorf("got %v, want an ErrPipeline naming %s", err, tc.line)
			}
		})
	}
}

// TestWindowsPipelineCoversCorpus checks that every windows logsource of
// the SigmaHQ corpus has a routing mapping in the built-in pipeline.
func TestWindowsPipelineCoversCorpus(t *testing.T) {
	p := WindowsPipeline()
	c, err := New(WithPipeline(p))
	if err != nil {
		t.Fatal(err)
	}
	rules, _ := c.CompileFiles(corpusPaths(t)...)
	seen := map[detect.Logsource]int{}
	for _, r := range rules {
		if r.Logsource.Product == "windows" || r.Logsource.Category == "antivirus" {
			seen[r.Logsource]++
		}
	}
	if len(seen) < 60 {
		t.Fatalf("only %d windows logsources in the corpus", len(seen))
	}
	for ls, n := range seen {
		routed := false
		for _, m := range p.Logsources {
			if applies(m.Logsource, ls) {
				routed = true
			}
		}
		if !routed && ls != (detect.Logsource{Product: "windows"}) {
			t.Errorf("logsource %+v (%d rules) has no mapping", ls, n)
		}
	}
}

// TestForeignRulesStayOffWindowsEvents: a Zeek rule whose condition is a
// negation matches Zeek events (ECS event.module) but never Windows ones.
func TestForeignRulesStayOffWindowsEvents(t *testing.T) {
	p := WindowsPipeline()
	c, _ := New(WithPipeline(p))
	rules, err := c.Compile(Source{Name: "z.yml", Data: []byte(`title: Public RDP
id: z
logsource: {product: zeek, service: rdp}
detection:
    private:
        id.orig_h|cidr: ['10.0.0.0/8']
    condition: not private
`)})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := detect.Compile(rules, detect.WithPipeline(p.Routing()))
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range []struct {
		e    *mdr.Event
		want bool
	}{
		{ev("event.module", "zeek", "id.orig_h", "8.8.8.8"), true},
		{ev("event.module", "zeek", "id.orig_h", "10.1.1.1"), false},
		{ev("Channel", "Security", "EventID", 4624), false},
		{ev("Channel", "Microsoft-Windows-Sysmon/Operational", "EventID", 3, "id.orig_h", "8.8.8.8"), false},
	} {
		ms, err := rs.Match(context.Background(), pr.e)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(ms) == 1; got != pr.want {
			t.Errorf("%v: matched %v, want %v", pr.e.Len(), got, pr.want)
		}
	}
}
