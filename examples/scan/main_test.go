package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mdrkit/mdr/internal/shareddata"
)

// TestRunNative runs the native rules alone over events written here.
func TestRunNative(t *testing.T) {
	in := strings.NewReader(`{"EventID":10,"Channel":"Microsoft-Windows-Sysmon/Operational","SourceImage":"C:\\t\\x.exe","TargetImage":"C:\\Windows\\system32\\lsass.exe","GrantedAccess":"0x1010"}
{"EventID":10,"Channel":"Microsoft-Windows-Sysmon/Operational","SourceImage":"C:\\t\\x.exe","TargetImage":"C:\\Windows\\system32\\lsass.exe","GrantedAccess":"0x400"}
{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Image":"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe","CommandLine":"powershell /ENC ZQBjAGgAbwA="}
{"EventID":1102,"Channel":"Security"}
{"EventID":1102,"Channel":"System"}
`)
	var out bytes.Buffer
	if err := run(context.Background(), &out, config{in: in, name: "test.ndjson"}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"test.ndjson:1  CRITICAL  Process opens lsass to read its memory (native-lsass-read)",
		`GrantedAccess = "0x1010" equalsFold`,
		"test.ndjson:3  HIGH  PowerShell with an encoded command (native-encoded-powershell)",
		`CommandLine = "powershell /ENC ZQBjAGgAbwA=" containsFold`,
		"test.ndjson:4  HIGH  Security event log cleared (native-security-log-cleared)",
		"5 events, 3 matches, 0 malformed lines skipped",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

// TestRunSigma runs the native rules and the SigmaHQ Windows rules of the
// shared data over SigmaHQ's regression events. It fails when the shared
// data is missing.
func TestRunSigma(t *testing.T) {
	dir := shareddata.Path(t, "sigma", "rules", "windows")
	f, err := os.Open(shareddata.Path(t, "events", "sigma_regression.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	if err := run(context.Background(), &out, config{sigmaDir: dir, in: f, name: "sigma_regression.jsonl"}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	m := regexp.MustCompile(`sigma: (\d+) rules compiled from (\d+) files`).FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("no Sigma summary:\n%.2000s", got)
	}
	if n, _ := strconv.Atoi(m[1]); n < 2000 {
		t.Errorf("only %d Sigma rules compiled", n)
	}
	m = regexp.MustCompile(`\n(\d+) events, (\d+) matches, 0 malformed lines skipped\n`).FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("no summary line:\n%.2000s", got)
	}
	if m[1] != "237" {
		t.Errorf("%s events read, want 237", m[1])
	}
	if n, _ := strconv.Atoi(m[2]); n < 202 {
		t.Errorf("%d matches over the 237 regression events, want at least one per regression case (202)", n)
	}
	for _, want := range []string{"(native-lsass-read)", "GrantedAccess = ", "CommandLine = "} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// Every SigmaHQ regression case of a rule under rules/windows names
	// its rule among the matches of its own events.
	gt, err := os.ReadFile(shareddata.Path(t, "events", "ground_truth.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	cases := 0
	for _, line := range strings.Split(strings.TrimSpace(string(gt)), "\n") {
		var row struct {
			RuleID   string `json:"rule_id"`
			RulePath string `json:"rule_path"`
		}
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(row.RulePath, "rules/windows/") {
			continue
		}
		cases++
		if !strings.Contains(got, "("+row.RuleID+")") {
			t.Errorf("regression case of %s (%s): the rule did not match", row.RuleID, row.RulePath)
		}
	}
	if cases < 150 {
		t.Errorf("only %d regression cases under rules/windows", cases)
	}
}
