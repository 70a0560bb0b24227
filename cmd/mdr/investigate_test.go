package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mdrkit/mdr/internal/scenario"
	"github.com/mdrkit/mdr/internal/shareddata"
)

// scenarioFile writes the generated attack of seed 1 as NDJSON.
func scenarioFile(t *testing.T) (string, scenario.Facts) {
	t.Helper()
	sc := scenario.Generate(scenario.Config{Seed: 1})
	path := filepath.Join(t.TempDir(), "attack.ndjson")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.WriteNDJSON(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, sc.Facts
}

// TestInvestigateJSON runs mdr investigate with the SigmaHQ Windows rules
// on the generated attack and checks the JSON line schema and the scope.
func TestInvestigateJSON(t *testing.T) {
	path, f := scenarioFile(t)
	rules := shareddata.Path(t, "sigma", "rules", "windows")
	var out, errb bytes.Buffer
	if code := run([]string{"investigate", "--rules", rules, "--format", "json", path}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatalf("no incident: %s", errb.String())
	}
	wantKeys := []string{"incident_id", "root_cause", "hosts", "users", "processes", "files", "registry", "services",
		"tasks", "accounts", "network", "first", "last", "event_ids", "timeline"}
	var files, keys, services, tasks []string
	for _, l := range lines {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		for _, k := range wantKeys {
			if _, ok := m[k]; !ok {
				t.Errorf("line lacks %q: %s", k, l)
			}
		}
		if len(m) != len(wantKeys) {
			t.Errorf("line has %d keys, want %d", len(m), len(wantKeys))
		}
		var r struct {
			RootCause struct{ Kind, ID, Name string } `json:"root_cause"`
			Files     []struct{ Path, Host, Action string }
			Registry  []struct{ Key, Data, Host, Action string }
			Services  []struct{ Name, Host, Image string }
			Tasks     []struct{ Name, Host, Command string }
			Processes []struct {
				ID, Name, Host string
				PID            int64
				CommandLine    string `json:"command_line"`
			}
			Timeline []struct {
				Time, Host, Text string
				EventID          string `json:"event_id"`
			}
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		for _, x := range r.Files {
			files = append(files, x.Path)
		}
		for _, x := range r.Registry {
			keys = append(keys, x.Key+"="+x.Data)
		}
		for _, x := range r.Services {
			services = append(services, x.Name+"|"+x.Image)
		}
		for _, x := range r.Tasks {
			tasks = append(tasks, x.Name)
		}
	}
	if !slices.Contains(files, f.Tool) {
		t.Errorf("files %q lack %s", files, f.Tool)
	}
	if !slices.Contains(keys, f.RunKey+"="+f.Tool) {
		t.Errorf("registry %q lacks %s", keys, f.RunKey)
	}
	if !slices.ContainsFunc(services, func(s string) bool { return strings.HasPrefix(s, f.Service+"|") }) {
		t.Errorf("services %q lack %s", services, f.Service)
	}
	if !slices.ContainsFunc(tasks, func(s string) bool { return strings.HasSuffix(s, f.Task) }) {
		t.Errorf("tasks %q lack %s", tasks, f.Task)
	}
	if !strings.Contains(errb.String(), "alerts; graph:") {
		t.Errorf("no summary on stderr: %s", errb.String())
	}
}

// TestInvestigateFormats: text, dot, mermaid and svg render the same
// incidents; --alert and --entity narrow the question; bad flags are usage
// errors.
func TestInvestigateFormats(t *testing.T) {
	path, f := scenarioFile(t)
	rules := shareddata.Path(t, "sigma", "rules", "windows")
	for format, want := range map[string]string{
		"text":    "root cause:",
		"dot":     "digraph scope {",
		"mermaid": "flowchart LR",
		"svg":     "<svg",
	} {
		var out, errb bytes.Buffer
		if code := run([]string{"investigate", "--rules", rules, "--format", format, path}, &out, &errb); code != 0 {
			t.Fatalf("%s: exit %d: %s", format, code, errb.String())
		}
		if !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "igfxsvc.exe") {
			t.Errorf("%s output lacks %q or the tool:\n%.400s", format, want, out.String())
		}
	}
	ps := "process:" + strings.ToLower(strings.Trim(f.PowerShellGUID, "{}"))
	out := filepath.Join(t.TempDir(), "scope.txt")
	var stdout, errb bytes.Buffer
	if code := run([]string{"investigate", "--entity", ps, "--out", out, path}, &stdout, &errb); code != 0 {
		t.Fatalf("--entity: exit %d: %s", code, errb.String())
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), f.RunKey) || stdout.Len() != 0 {
		t.Errorf("--entity scope lacks the Run key:\n%s", got)
	}
	for _, args := range [][]string{
		{"investigate", "--format", "png", "--rules", rules, path},
		{"investigate", path},
		{"investigate", "--rules", rules, "--alert", "100000", path},
		{"investigate", "--rules", rules, "--alert", "1", "--entity", ps, path},
		{"investigate", "--entity", "process:nope", path},
	} {
		var o, e bytes.Buffer
		if code := run(args, &o, &e); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, e.String())
		}
	}
}
