package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mdrkit/mdr/internal/shareddata"
)

const scanCorrelationRules = `
- id: failed-logon
  title: Failed logon
  severity: low
  hidden: true
  condition: e.EventID.numEq(4625)
- id: logon-success
  title: Successful logon
  severity: informational
  condition: e.EventID.numEq(4624)
- id: logon-brute-force
  title: Repeated failed logons for one account
  severity: medium
  tags: [attack.t1110]
  correlation:
    type: event_count
    rules: [failed-logon]
    group-by: [TargetUserName, Computer]
    timespan: 1m
    condition: {gte: 5}
`

func TestScanCorrelation(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yml")
	if err := os.WriteFile(rules, []byte(scanCorrelationRules), 0o644); err != nil {
		t.Fatal(err)
	}
	events := shareddata.Path(t, "events", "evtx_to_mitre_attack.jsonl")
	run := func(workers string) (string, string) {
		var out, errb bytes.Buffer
		if err := runScan(context.Background(), []string{"--rules", rules, "--workers", workers, events}, &out, &errb); err != nil {
			t.Fatalf("scan: %v\n%s", err, errb.String())
		}
		return out.String(), errb.String()
	}
	one, summary := run("1")
	three, _ := run("3")
	if one != three {
		t.Fatal("--workers 3 output differs from one worker")
	}
	var corr, plain int
	groups := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(one), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		if m["correlation"] != true {
			plain++
			continue
		}
		corr++
		for _, k := range []string{"rule_id", "rule_title", "level", "tags", "file", "event_index", "event_time", "group", "event_ids", "explanation", "explained", "window_start", "window_end"} {
			if _, ok := m[k]; !ok {
				t.Fatalf("correlation line without %q: %s", k, line)
			}
		}
		g := m["group"].(map[string]any)
		groups[g["TargetUserName"].(string)+"@"+g["Computer"].(string)] = true
		if ids := m["event_ids"].([]any); len(ids) != 5 {
			t.Fatalf("want the 5 failed logons, got %v", ids)
		}
	}
	for _, g := range []string{"Administrator@WIN", "Admin@WIN", "admmig@offsec.lan@fs01.offsec.lan", "NOUSER@fs01.offsec.lan"} {
		if !groups[g] {
			t.Errorf("no brute-force match for %s (have %v)", g, groups)
		}
	}
	if plain == 0 || corr != len(groups) || !strings.Contains(summary, "correlation matches") {
		t.Fatalf("%d plain, %d correlation lines; summary %q", plain, corr, summary)
	}
}
