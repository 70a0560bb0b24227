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

func triageCmd(ctx context.Context, args []string, out, errb *bytes.Buffer) error {
	return runTriage(ctx, args, out, errb)
}

func TestTriageJSON(t *testing.T) {
	rules := shareddata.Path(t, "sigma", "rules", "windows")
	events := shareddata.Path(t, "events", "evtx_attack_samples.jsonl")
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "triage.yaml")
	if err := os.WriteFile(cfgPath, []byte("lookback: 12h\nsuppressions:\n  - id: no-logoff\n    when: alert.rule_title == 'User Logoff Event'\n    reason: noise\n    author: test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, err := runCmd(t, triageCmd, "--rules", rules, "--config", cfgPath, "--store", filepath.Join(dir, "db"), "--json", events)
	if err != nil {
		t.Fatalf("%v\n%s", err, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 10 {
		t.Fatalf("only %d incidents", len(lines))
	}
	keys := []string{"incident_id", "score", "level", "title", "hosts", "users", "tactics", "techniques", "first", "last",
		"alerts", "suppressed", "rules", "event_ids", "parts"}
	prev := 101.0
	alerts := 0
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("bad JSON line %q: %v", l, err)
		}
		if len(m) != len(keys) {
			t.Fatalf("line has %d keys, want %d: %s", len(m), len(keys), l)
		}
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				t.Fatalf("key %s missing in %s", k, l)
			}
		}
		s := m["score"].(float64)
		if s > prev {
			t.Fatalf("not highest first: %v after %v", s, prev)
		}
		prev = s
		alerts += int(m["alerts"].(float64))
		r0 := m["rules"].([]any)[0].(map[string]any)
		p0 := m["parts"].([]any)[0].(map[string]any)
		if r0["rule_id"] == "" || r0["count"].(float64) < 1 || p0["name"] != "risk" || len(m["event_ids"].([]any)) == 0 {
			t.Fatalf("line %s", l)
		}
	}
	if !strings.Contains(errs, "alerts in") || !strings.Contains(errs, "incidents out") || !strings.Contains(errs, "suppressed") {
		t.Fatalf("summary: %s", errs)
	}
	// the table, from the same store: the queue persisted, so the incidents
	// are the same and the replayed alerts change nothing
	out2, errs2, err := runCmd(t, triageCmd, "--rules", rules, "--store", filepath.Join(dir, "db"), "--top", "3", events)
	if err != nil {
		t.Fatalf("%v\n%s", err, errs2)
	}
	if n := strings.Count(out2, "\n"); n < 4 || !strings.Contains(out2, "SCORE") {
		t.Fatalf("table:\n%s", out2)
	}
}

func TestTriageBadConfig(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "triage.yaml")
	if err := os.WriteFile(cfgPath, []byte("lookback: 12h\nwindowz: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := runCmd(t, triageCmd, "--rules", shareddata.Path(t, "sigma", "rules", "windows"), "--config", cfgPath,
		shareddata.Path(t, "events", "evtx_attack_samples.jsonl"))
	if err == nil || !strings.Contains(err.Error(), "triage.yaml:2") {
		t.Fatalf("unknown key: %v", err)
	}
}
