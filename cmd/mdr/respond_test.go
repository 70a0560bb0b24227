package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/respond"
)

func TestRespondValidate(t *testing.T) {
	good := shareddata.Path(t, "respond", "openc2", "valid", "oc2er-v1.0-csd01__L1526__contain-device.json")
	resp := shareddata.Path(t, "respond", "openc2", "valid", "oc2ls-v1.0-cs02__L1189__response-200.json")
	bad := shareddata.Path(t, "respond", "openc2", "invalid", "plugfest2020-language__commands-bad__target_multiple.json")
	junk := shareddata.Path(t, "respond", "openc2", "invalid", "usecases-ap-blinky__bad-command__junk.json")

	var out, errb bytes.Buffer
	if code := run([]string{"respond", "validate", good, resp}, &out, &errb); code != 0 {
		t.Fatalf("valid files: exit %d: %s %s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "valid command") || !strings.Contains(out.String(), "valid response") {
		t.Fatalf("output %q", out.String())
	}
	out.Reset()
	errb.Reset()
	if code := run([]string{"respond", "validate", "--json", good, bad, junk}, &out, &errb); code != 1 {
		t.Fatalf("invalid file: exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines: %q", len(lines), out.String())
	}
	var got []validateLine
	for _, l := range lines {
		var v validateLine
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if !got[0].Valid || got[0].Kind != "command" || got[0].Reasons == nil || len(got[0].Reasons) != 0 {
		t.Errorf("good: %+v", got[0])
	}
	if got[1].Valid || got[1].Kind != "command" || len(got[1].Reasons) == 0 || !strings.HasPrefix(got[1].Reasons[0], "target:") {
		t.Errorf("bad: %+v", got[1])
	}
	if got[2].Valid || got[2].Kind != "not-json" {
		t.Errorf("junk: %+v", got[2])
	}
	if code := run([]string{"respond", "validate"}, &out, &errb); code != 2 {
		t.Errorf("no file: exit %d", code)
	}
	if code := run([]string{"respond", "bogus"}, &out, &errb); code != 2 {
		t.Errorf("unknown subcommand: exit %d", code)
	}
}

func TestRespondAdvise(t *testing.T) {
	rules := shareddata.Path(t, "sigma", "rules", "windows", "process_access")
	events := shareddata.Path(t, "events", "evtx_attack_samples.jsonl")
	var out, errb bytes.Buffer
	if code := run([]string{"respond", "advise", "--rules", rules, events}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 5 {
		t.Fatalf("%d advice lines", len(lines))
	}
	for i, l := range lines {
		var a adviceLine
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if err := a.Command.Validate(); err != nil {
			t.Errorf("line %d: %v", i+1, err)
		}
		if a.Incident == "" || a.Rationale == "" || len(a.Techniques) == 0 || a.Rank < 1 {
			t.Errorf("line %d incomplete: %s", i+1, l)
		}
		// the command as printed is OpenC2 that validate accepts
		var raw struct {
			Command json.RawMessage `json:"command"`
		}
		_ = json.Unmarshal([]byte(l), &raw)
		if rep := respond.CheckMessage(raw.Command); !rep.Valid {
			t.Errorf("line %d: printed command invalid: %v", i+1, rep.Reasons)
		}
	}
	// without --rules, FILEs are alert JSON lines
	dir := t.TempDir()
	alerts := filepath.Join(dir, "alerts.jsonl")
	if err := os.WriteFile(alerts, []byte(`{"id":"a1","rule_id":"r","rule_title":"LSASS dump","severity":"high","tags":["attack.t1003.001"],"time":"2026-12-03T10:00:00Z","host":"ws1"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run([]string{"respond", "advise", alerts}, &out, &errb); code != 0 {
		t.Fatalf("alerts file: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), `"action":"contain","target":{"device":{"hostname":"ws1"}}`) {
		t.Fatalf("advice %s", out.String())
	}
	if err := os.WriteFile(alerts, []byte("not json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	if code := run([]string{"respond", "advise", alerts}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "alerts.jsonl:1") {
		t.Fatalf("bad alerts file: exit %d: %s", code, errb.String())
	}
}
