package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mdrkit/mdr/internal/shareddata"
)

// huntStore ingests an events file into a new store with mdr ingest.
func huntStore(t *testing.T, events string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	var out, errb bytes.Buffer
	if err := runIngest(t.Context(), []string{"--store", dir, "--progress", "0", events}, &out, &errb); err != nil {
		t.Fatalf("ingest: %v\n%s", err, errb.String())
	}
	return dir
}

// matchKeys reads JSON lines and returns "rule_id event_id…" per line.
func matchKeys(t *testing.T, out string, idsKey string) []string {
	t.Helper()
	var keys []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var m struct {
			RuleID      string   `json:"rule_id"`
			EventID     string   `json:"event_id"`
			EventIDs    []string `json:"event_ids"`
			Correlation bool     `json:"correlation"`
			AlertID     string   `json:"alert_id"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		if m.Correlation || strings.HasPrefix(m.AlertID, "correlation:") {
			keys = append(keys, "correlation "+m.RuleID+" "+strings.Join(m.EventIDs, ","))
		} else {
			keys = append(keys, m.RuleID+" "+m.EventID)
		}
	}
	slices.Sort(keys)
	return keys
}

// TestHuntRetroEqualsScan: mdr hunt --rules over a store filled by mdr
// ingest prints the same rule and correlation matches as mdr scan over the
// file (SigmaHQ Windows rules plus the hunt package's test correlations).
func TestHuntRetroEqualsScan(t *testing.T) {
	events := shareddata.Path(t, "events", "evtx_attack_samples.jsonl")
	rules := []string{"--rules", shareddata.Path(t, "sigma", "rules", "windows"), "--rules", "../../hunt/testdata/correlations.yml"}
	dir := huntStore(t, events)
	var scanOut, scanErr bytes.Buffer
	if err := runScan(t.Context(), append(slices.Clone(rules), events), &scanOut, &scanErr); err != nil {
		t.Fatalf("scan: %v\n%s", err, scanErr.String())
	}
	var huntOut, huntErr bytes.Buffer
	if err := runHunt(t.Context(), append([]string{"--store", dir, "--json", "--store-alerts"}, rules...), &huntOut, &huntErr); err != nil {
		t.Fatalf("hunt: %v\n%s", err, huntErr.String())
	}
	want, got := matchKeys(t, scanOut.String(), "event_id"), matchKeys(t, huntOut.String(), "event_ids")
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Fatalf("mdr hunt --rules: %d matches, mdr scan: %d", len(got), len(want))
	}
	corr := 0
	for _, k := range want {
		if strings.HasPrefix(k, "correlation ") {
			corr++
		}
	}
	if corr == 0 {
		t.Fatal("no correlation match to compare")
	}
	t.Logf("%d matches (%d correlations) identical; %s", len(got), corr, strings.TrimSpace(lastLine(huntErr.String())))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestHuntSavePromote saves a hunt, runs it twice (the second run prints
// nothing new), promotes it into a rule file and runs that with mdr scan
// over the file: the same events.
func TestHuntSavePromote(t *testing.T) {
	events := shareddata.Path(t, "events", "evtx_attack_samples.jsonl")
	dir := huntStore(t, events)
	run := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if err := runHunt(t.Context(), args, &out, &errb); err != nil {
			t.Fatalf("hunt %v: %v\n%s", args, err, errb.String())
		}
		return out.String()
	}
	run("save", "ps-encoded", "--store", dir, "--query", `e.CommandLine.containsFold([" -enc", " -encodedcommand "]) || e.ScriptBlockText.containsFold("frombase64string")`, "--interval", "1h", "--severity", "high")
	first := matchKeys(t, run("run", "ps-encoded", "--store", dir, "--json"), "event_id")
	if len(first) == 0 {
		t.Fatal("the saved hunt found nothing")
	}
	if again := strings.TrimSpace(run("run", "ps-encoded", "--store", dir, "--json")); again != "" {
		t.Fatalf("second run printed %q", again)
	}
	if list := run("list", "--store", dir, "--json"); !strings.Contains(list, `"runs":2`) {
		t.Fatalf("list: %s", list)
	}
	rule := run("promote", "ps-encoded", "--store", dir)
	path := filepath.Join(t.TempDir(), "promoted.yml")
	if err := os.WriteFile(path, []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	var scanOut, scanErr bytes.Buffer
	if err := runScan(t.Context(), []string{"--rules", path, events}, &scanOut, &scanErr); err != nil {
		t.Fatalf("scan: %v\n%s", err, scanErr.String())
	}
	var huntIDs, scanIDs []string
	for _, k := range first {
		huntIDs = append(huntIDs, strings.Fields(k)[1])
	}
	for _, k := range matchKeys(t, scanOut.String(), "event_id") {
		f := strings.Fields(k)
		if f[0] != "hunt-ps-encoded" {
			t.Fatalf("scan match of rule %s", f[0])
		}
		scanIDs = append(scanIDs, f[1])
	}
	slices.Sort(huntIDs)
	if !slices.Equal(huntIDs, scanIDs) {
		t.Fatalf("promoted rule: mdr scan finds %d events, the hunt found %d", len(scanIDs), len(huntIDs))
	}
	t.Logf("hunt and promoted rule under mdr scan: %d events", len(scanIDs))
}

// TestHuntModes runs an IOC sweep, stacking and first-seen through the CLI
// and checks their JSON lines and errors.
func TestHuntModes(t *testing.T) {
	events := shareddata.Path(t, "events", "evtx_attack_samples.jsonl")
	dir := huntStore(t, events)
	iocs := filepath.Join(t.TempDir(), "iocs.txt")
	if err := os.WriteFile(iocs, []byte("psexesvc.exe\n10.0.2.17\nhash:nothex\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if err := runHunt(t.Context(), []string{"--store", dir, "--ioc", iocs, "--json"}, &out, &errb); err != nil {
		t.Fatal(err, errb.String())
	}
	if !strings.Contains(out.String(), `"indicator":`) || !strings.Contains(out.String(), `"field":`) || !strings.Contains(errb.String(), "rejected") {
		t.Fatalf("ioc: %.300s / %s", out.String(), errb.String())
	}
	out.Reset()
	if err := runHunt(t.Context(), []string{"--store", dir, "--stack", "EventID", "--json", "--limit", "5"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), `"count":`); n != 5 || !strings.Contains(out.String(), `"values":`) {
		t.Fatalf("stack: %s", out.String())
	}
	out.Reset()
	if err := runHunt(t.Context(), []string{"--store", dir, "--first-seen", "Image", "--from", "2019-06-01", "--baseline-to", "2019-06-01", "--json"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"values":`) {
		t.Fatalf("first-seen: %s", out.String())
	}
	for _, bad := range [][]string{
		{"--store", dir},
		{"--store", dir, "--query", "x", "--stack", "y"},
		{"--store", dir, "--from", "yesterday", "--query", "true"},
		{"--store", dir, "--first-seen", "Image"},
		{"nope"},
	} {
		if err := runHunt(t.Context(), bad, &out, &errb); err == nil {
			t.Fatalf("%v accepted", bad)
		}
	}
	if err := runHunt(t.Context(), []string{"--store", filepath.Join(t.TempDir(), "none"), "--query", "true"}, &out, &errb); err == nil || !strings.Contains(err.Error(), "no store") {
		t.Fatalf("missing store: %v", err)
	}
}
