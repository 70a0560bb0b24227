package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

const phishPlaybook = "../../respond/testdata/playbooks/contain-phish-lateral.json"

type stepLine struct {
	PlaybookID string    `json:"playbook_id"`
	StepID     string    `json:"step_id"`
	Name       string    `json:"name"`
	Type       string    `json:"type"`
	Status     string    `json:"status"`
	Started    time.Time `json:"started"`
	Ended      time.Time `json:"ended"`
	Detail     string    `json:"detail"`
	Error      string    `json:"error"`
}

func runPlaybookCLI(t *testing.T, stdin string, args ...string) ([]stepLine, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := runRespondPlaybookIO(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr)
	var lines []stepLine
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		var l stepLine
		if jerr := json.Unmarshal(sc.Bytes(), &l); jerr != nil {
			t.Fatalf("not a JSON line: %q", sc.Text())
		}
		if l.PlaybookID == "" || l.StepID == "" || l.Type == "" || l.Status == "" || l.Started.IsZero() || l.Ended.IsZero() {
			t.Fatalf("incomplete line %q", sc.Text())
		}
		lines = append(lines, l)
	}
	return lines, stderr.String(), err
}

func TestRespondPlaybookOnSimFleet(t *testing.T) {
	lines, stderr, err := runPlaybookCLI(t, "", "--json", "--approve-all", phishPlaybook)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	byName := map[string]stepLine{}
	for _, l := range lines {
		byName[l.Name] = l
		if l.Status != "success" {
			t.Errorf("step %s: %s %s", l.Name, l.Status, l.Error)
		}
	}
	for _, name := range []string{"Isolate the workstation", "Quarantine the credential-theft tool", "Quarantine the phishing document",
		"Isolate the server, leaving the backup network", "Analyst confirms containment"} {
		if _, ok := byName[name]; !ok {
			t.Errorf("step %q did not run: %v", name, lines)
		}
	}
	if d := byName["Isolate the workstation"].Detail; !strings.Contains(d, "openc2 contain device on WKS-") || !strings.Contains(d, ": executed") {
		t.Errorf("isolation detail %q", d)
	}
	if !strings.Contains(stderr, "chain verified") || !strings.Contains(stderr, "Executed:4") {
		t.Errorf("summary: %s", stderr)
	}
}

func TestRespondPlaybookTerminalAnswers(t *testing.T) {
	// the analyst answers no: the manual step fails and so does the run
	lines, stderr, err := runPlaybookCLI(t, "n\n", "--json", phishPlaybook)
	if err == nil || !strings.Contains(err.Error(), "declined") {
		t.Fatalf("err %v\n%s", err, stderr)
	}
	var manual stepLine
	for _, l := range lines {
		if l.Name == "Analyst confirms containment" {
			manual = l
		}
	}
	if manual.Status != "failed" || !strings.Contains(manual.Error, "declined by") {
		t.Fatalf("manual step %+v", manual)
	}
	if !strings.Contains(stderr, "approve? [y/N]") {
		t.Fatalf("no prompt: %s", stderr)
	}
	// yes
	if _, stderr, err := runPlaybookCLI(t, "y\n", "--json", phishPlaybook); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
}

func TestRespondPlaybookDryRun(t *testing.T) {
	lines, stderr, err := runPlaybookCLI(t, "", "--json", "--dry-run", "--approve-all", phishPlaybook)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	found := false
	for _, l := range lines {
		if l.Name == "Isolate the workstation" {
			found = strings.Contains(l.Detail, "dry_run")
		}
	}
	if !found || !strings.Contains(stderr, "DryRuns:4") || !strings.Contains(stderr, "Executed:0") {
		t.Fatalf("not a dry run: %v\n%s", lines, stderr)
	}
}

func TestRespondPlaybookLibAndErrors(t *testing.T) {
	// all-steps calls notify-owner from the library; its bash, powershell
	// and http-api commands are walked in a dry run
	lines, stderr, err := runPlaybookCLI(t, "", "--json", "--dry-run", "--approve-all", "--scenario", "none", "--host", "WS-042",
		"--lib", "../../respond/testdata/playbooks", "../../respond/testdata/playbooks/all-steps.json")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	sub := 0
	for _, l := range lines {
		if l.PlaybookID == "playbook--00001002-0000-4000-8000-000000000002" {
			sub++
		}
	}
	if sub != 3 {
		t.Fatalf("%d sub-playbook steps in %v", sub, lines)
	}
	// without --dry-run the fleet cannot run powershell: refused at load, naming the step
	_, _, err = runPlaybookCLI(t, "", "--scenario", "none", "--lib", "../../respond/testdata/playbooks", "../../respond/testdata/playbooks/all-steps.json")
	if err == nil || !strings.Contains(err.Error(), `action--00001002-0000-4000-8000-000000000002.commands[0].type: command type "powershell"`) {
		t.Fatalf("err %v", err)
	}
	// usage errors
	if _, _, err := runPlaybookCLI(t, ""); !errors.Is(err, errUsage) {
		t.Fatalf("err %v", err)
	}
}
