package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
	"github.com/mdrkit/mdr/internal/shareddata"
	"github.com/mdrkit/mdr/reader"
)

// The native rules of these tests, written for them.
const scanTestRules = `
- id: t-lsass-access
  title: Process access to LSASS with read rights
  severity: critical
  tags: [attack.credential_access, attack.t1003.001]
  condition: e.TargetImage.endsWithFold("\\lsass.exe") && e.GrantedAccess.numEq([0x1010, 0x1410, 0x1fffff])
  fields: [SourceImage, GrantedAccess]
- id: t-encoded-powershell
  title: Encoded PowerShell
  severity: high
  condition: e.CommandLine.containsFold(windash([" -enc ", " -encodedcommand "])) || e.ScriptBlockText.containsFold("frombase64string")
- id: t-hidden-logon
  title: Logon (feeds correlations only)
  severity: informational
  hidden: true
  condition: e.EventID.numEq(4624)
`

func writeRules(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yml"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runCmd(t *testing.T, f func(context.Context, []string, *bytes.Buffer, *bytes.Buffer) error, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := f(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), err
}

func scan(ctx context.Context, args []string, out, errb *bytes.Buffer) error {
	return runScan(ctx, args, out, errb)
}

func rulesCmd(ctx context.Context, args []string, out, errb *bytes.Buffer) error {
	return runRules(ctx, args, out, errb)
}

func TestScanNativeRules(t *testing.T) {
	dir := writeRules(t, scanTestRules)
	events := shareddata.Path(t, "events", "evtx_attack_samples.jsonl")
	out, errs, err := runCmd(t, scan, "--rules", dir, events)
	if err != nil {
		t.Fatalf("%v\n%s", err, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 20 {
		t.Fatalf("only %d matches", len(lines))
	}
	seen := map[string]int{}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("bad JSON line %q: %v", l, err)
		}
		for _, k := range []string{"rule_id", "rule_title", "level", "tags", "file", "event_index", "event_time", "explanation"} {
			if _, ok := m[k]; !ok {
				t.Fatalf("key %s missing in %s", k, l)
			}
		}
		id := m["rule_id"].(string)
		seen[id]++
		if id == "t-hidden-logon" {
			t.Fatal("a hidden rule's match was printed")
		}
		conds := m["explanation"].(map[string]any)["conditions"].([]any)
		if len(conds) == 0 {
			t.Fatalf("no explanation: %s", l)
		}
		if id == "t-lsass-access" {
			c0 := conds[0].(map[string]any)
			if c0["field"] != "TargetImage" || c0["operator"] != "endsWithFold" || !strings.HasSuffix(strings.ToLower(c0["value"].(string)), `\lsass.exe`) {
				t.Fatalf("explanation %v", c0)
			}
			if m["level"] != "critical" || m["file"] != events {
				t.Fatalf("line %s", l)
			}
		}
	}
	if seen["t-lsass-access"] == 0 || seen["t-encoded-powershell"] == 0 {
		t.Fatalf("matches per rule: %v", seen)
	}
	// event_index points at the event: re-read it and check the rule holds
	var first map[string]any
	json.Unmarshal([]byte(lines[0]), &first)
	idx := int(first["event_index"].(float64))
	r, err := reader.Open(events, reader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var ev *mdr.Event
	for i := 0; r.Next(); i++ {
		if i == idx {
			ev = r.Event()
			break
		}
	}
	rules, _ := detect.ParseRules([]byte(scanTestRules), "x")
	rs, err := detect.Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := rs.Match(context.Background(), ev)
	if len(ms) == 0 || ms[0].Rule.ID != first["rule_id"] {
		t.Fatalf("event %d does not match %v", idx, first["rule_id"])
	}
	if !strings.Contains(errs, "events read") || !strings.Contains(errs, "3 rules loaded, 0 rejected") || !strings.Contains(errs, "events/s") {
		t.Fatalf("summary: %q", errs)
	}
}

// TestScanWorkersSameOutput runs the Sigma corpus over real logs with one
// and with three workers: the output must be byte for byte the same.
func TestScanWorkersSameOutput(t *testing.T) {
	rules := shareddata.Path(t, "sigma", "rules", "windows")
	ev1 := shareddata.Path(t, "events", "sigma_regression.jsonl")
	ev2 := shareddata.Path(t, "events", "evtx_attack_samples.jsonl")
	one, e1, err := runCmd(t, scan, "--rules", rules, ev1, ev2)
	if err != nil {
		t.Fatalf("%v\n%s", err, e1)
	}
	three, e3, err := runCmd(t, scan, "--workers", "3", "--rules", rules, ev1, ev2)
	if err != nil {
		t.Fatalf("%v\n%s", err, e3)
	}
	if n := strings.Count(one, "\n"); n < 100 {
		t.Fatalf("only %d matches with the Sigma corpus", n)
	}
	if one != three {
		t.Fatal("--workers 3 gave a different output than one worker")
	}
	t.Logf("%d matches; %s", strings.Count(one, "\n"), strings.TrimSpace(e1[strings.LastIndex(strings.TrimSpace(e1), "\n")+1:]))
}

func TestScanBaselineAndErrors(t *testing.T) {
	events := shareddata.Path(t, "events", "sigma_regression.jsonl")
	out, errs, err := runCmd(t, scan, events)
	if err != nil || out != "" || !strings.Contains(errs, "237 events read, 0 matches, 0 rules loaded") {
		t.Fatalf("baseline: %v %q %q", err, out, errs)
	}
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(bad, []byte("{\"a\":1}\n{oops\n{\"a\":2}\n"), 0o644)
	_, errs, err = runCmd(t, scan, bad)
	if err != nil || !strings.Contains(errs, "bad.jsonl:2") || !strings.Contains(errs, "2 events read") || !strings.Contains(errs, "1 malformed lines skipped") {
		t.Fatalf("skip: %v %q", err, errs)
	}
	if _, _, err = runCmd(t, scan, "--on-error", "stop", bad); err == nil {
		t.Fatal("--on-error stop did not stop")
	}
	if _, _, err = runCmd(t, scan, "--workers", "0", bad); err == nil {
		t.Fatal("--workers 0 accepted")
	}
	if _, _, err = runCmd(t, scan, "--rules", "/nonexistent/rules", bad); err == nil {
		t.Fatal("missing rules path accepted")
	}
}

func TestRulesCheck(t *testing.T) {
	dir := writeRules(t, scanTestRules+`
- id: t-broken
  title: broken
  condition: e.Image.endsWithFold(
- id: t-bad-regex
  condition: e.Image.regex("(")
`)
	os.WriteFile(filepath.Join(dir, "more.yaml"), []byte("id: t-unknown-key\nconditon: 'true'\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a rule file"), 0o644)
	out, _, err := runCmd(t, rulesCmd, "check", "--json", dir)
	if err == nil {
		t.Fatal("rejections must fail the check")
	}
	var res struct {
		Total    int          `json:"total"`
		Compiled int          `json:"compiled"`
		Rejected []ruleReject `json:"rejected"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if res.Total != 6 || res.Compiled != 3 || len(res.Rejected) != 3 {
		t.Fatalf("%+v", res)
	}
	ids := map[string]ruleReject{}
	for _, r := range res.Rejected {
		ids[r.ID] = r
	}
	if r := ids["t-broken"]; !strings.HasSuffix(r.Path, "rules.yml") || r.Line == 0 || !strings.Contains(r.Reason, "condition") {
		t.Fatalf("t-broken: %+v", r)
	}
	if r := ids["t-unknown-key"]; !strings.Contains(r.Reason, "conditon") || !strings.HasSuffix(r.Path, "more.yaml") {
		t.Fatalf("t-unknown-key: %+v", r)
	}
	if _, ok := ids["t-bad-regex"]; !ok {
		t.Fatalf("t-bad-regex not rejected: %+v", res.Rejected)
	}
	text, _, err := runCmd(t, rulesCmd, "check", dir)
	if err == nil || !strings.Contains(text, "rules.yml:") || !strings.Contains(text, "3 rejected") {
		t.Fatalf("text mode: %v %q", err, text)
	}
	good := writeRules(t, scanTestRules)
	if out, _, err := runCmd(t, rulesCmd, "check", "--json", good); err != nil || !strings.Contains(out, `"rejected":[]`) {
		t.Fatalf("good rules: %v %q", err, out)
	}
	if _, _, err := runCmd(t, rulesCmd, "lint", good); err == nil {
		t.Fatal("unknown subcommand accepted")
	}
}

// TestSigmaCorpusPrefilterExact checks on real logs, with the SigmaHQ
// Windows rules, that the prefilter and the direct evaluation change no
// match: prefilter on == prefilter off (direct evaluation), and direct
// evaluation == CEL programs (prefilter on).
func TestSigmaCorpusPrefilterExact(t *testing.T) {
	rules, _, err := loadRules(context.Background(), []string{shareddata.Path(t, "sigma", "rules", "windows")}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	compile := func(opts ...detect.Option) *detect.Ruleset {
		rs, err := detect.Compile(rules, append(compileOptions(), opts...)...)
		if rs == nil {
			t.Fatal(err)
		}
		return rs
	}
	fast := compile()
	noPre := compile(detect.WithPrefilter(false))
	cel := compile(detect.WithNativeEvaluation(false))
	var events []*mdr.Event
	for _, f := range []string{"sigma_regression.jsonl", "evtx_attack_samples.jsonl"} {
		r, err := reader.Open(shareddata.Path(t, "events", f), reader.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for r.Next() {
			events = append(events, r.Event())
		}
		r.Close()
	}
	ctx := context.Background()
	ids := func(rs *detect.Ruleset, e *mdr.Event) string {
		ms, err := rs.Match(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, m := range ms {
			b.WriteString(m.Rule.ID)
			b.WriteByte(' ')
		}
		return b.String()
	}
	total := 0
	for i, e := range events {
		// every match's output line is what encoding/json makes of it
		ms, err := fast.Match(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		for j := range ms {
			checkMatchJSON(t, &ms[j], scanItem{ev: e, file: "events.jsonl", index: int64(i)})
		}
		a := ids(fast, e)
		if b := ids(noPre, e); a != b {
			t.Fatalf("event %d: prefilter %q, without %q", i, a, b)
		}
		if c := ids(cel, e); a != c {
			t.Fatalf("event %d: direct %q, CEL %q", i, a, c)
		}
		total += strings.Count(a, " ")
	}
	if total < 200 {
		t.Fatalf("only %d matches", total)
	}
	t.Logf("%d events, %d matches, identical with and without prefilter and direct evaluation; stats %+v", len(events), total, fast.Stats())
}
