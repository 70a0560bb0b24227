package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/store/badger"
)

// TestDemo runs `mdr demo` as the README says (with the SigmaHQ rules of
// the shared data) and checks that every stage printed its heading and
// that the run ended with the hosts restored and the audit chain verified.
func TestDemo(t *testing.T) {
	sigmaDir := shareddata.Path(t, "sigma", "rules", "windows")
	keep := t.TempDir()
	var out, errb bytes.Buffer
	code := run([]string{"demo", "--seed", "2", "--sigma", sigmaDir, "--keep", keep}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	s := out.String()
	for _, h := range []string{"== rules", "== attack", "== detect", "== triage", "== investigate", "== respond", "== remediate",
		"== verify", "== audit", "root cause:", "process tree:", "incident graph:", "approved by demo", "the attack is gone", "hash chain verified"} {
		if !strings.Contains(s, h) {
			t.Errorf("output lacks %q", h)
		}
	}
	if _, err := os.Stat(filepath.Join(keep, "incident.svg")); err != nil {
		t.Errorf("no SVG kept: %v", err)
	}
	st, err := badger.Open(badger.DefaultConfig(filepath.Join(keep, "store")))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n, err := st.CountEvents(context.Background(), time.Time{}, time.Time{})
	if err != nil || n == 0 {
		t.Errorf("kept store holds %d events (%v)", n, err)
	}
}

// TestDemoJSON checks that --json prints only JSON lines, one per stage
// and one with the result.
func TestDemoJSON(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"demo", "--json", "--scenario", "lateral-service", "--sigma", shareddata.Path(t, "sigma", "rules", "windows")}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	stages := map[string]bool{}
	result := false
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		if s, ok := m["stage"].(string); ok {
			stages[s] = true
		}
		if _, ok := m["result"]; ok {
			result = true
		}
	}
	for _, s := range []string{"rules", "attack", "detect", "triage", "investigate", "respond", "remediate", "verify", "audit"} {
		if !stages[s] {
			t.Errorf("no %s stage line", s)
		}
	}
	if !result {
		t.Error("no result line")
	}
}

func TestDemoUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"demo", "extra"}, &out, &errb); code != 2 {
		t.Errorf("extra argument: exit %d, want 2", code)
	}
	if code := run([]string{"demo", "--scenario", "no-such"}, &out, &errb); code != 1 {
		t.Errorf("unknown scenario: exit %d, want 1", code)
	}
	if code := run([]string{"demo", "--sigma", filepath.Join(t.TempDir(), "missing")}, &out, &errb); code != 1 {
		t.Errorf("missing --sigma DIR: exit %d, want 1", code)
	}
}
