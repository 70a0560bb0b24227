package detect

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/internal/evtest"
)

func ev(kv ...any) *mdr.Event { return evtest.Event(kv...) }

var sample = ev(
	"EventID", 1, "Channel", "Microsoft-Windows-Sysmon/Operational",
	"Image", `C:\Windows\System32\WindowsPowerShell\v1.0\PowerShell.EXE`,
	"CommandLine", `powershell.exe -NoP -Enc SQBFAFgA /c whoami`,
	"GrantedAccess", "0x1010", "DestinationIp", "10.1.2.3", "SourceIp", "2001:db8::7",
	"UtcTime", "2025-12-06 21:11:02.632", "Hashes", []string{"MD5=ABC", "SHA256=DEF"},
	"process.parent.executable", `C:\Windows\explorer.exe`, "Empty", nil, "Weird Name", "ÅSA ſtraße",
	"Count", 42, "Ratio", 0.5, "Flag", true,
)

// each condition's expected result on sample, with and without native
// evaluation and prefilter.
var conditionCases = []struct {
	cond string
	want bool
}{
	{`e.Image.endsWithFold("\\powershell.exe")`, true},
	{`e.Image.endsWithCase("\\powershell.exe")`, false},
	{`e.Image.endsWithCase("\\PowerShell.EXE")`, true},
	{`e.Image.equalsFold("c:\\windows\\system32\\windowspowershell\\v1.0\\powershell.exe")`, true},
	{`e.Image.startsWithFold(["x:", "C:\\WINDOWS"])`, true},
	{`e.Image.startsWithCase("C:\\WINDOWS")`, false},
	{`e.CommandLine.containsFold(" -enc ")`, true},
	{`e.CommandLine.containsCase(" -enc ")`, false},
	{`e.CommandLine.containsFold(windash(" -enc "))`, true},
	{`e.CommandLine.containsFold(windash(" /NoP "))`, true},
	{`e.CommandLine.containsFold(" –nop ")`, false},
	{`e.CommandLine.wildcardFold("*powershell*-enc*")`, true},
	{`e.CommandLine.wildcardFold("powershell.exe -NoP -Enc ????????*")`, true},
	{`e.CommandLine.wildcardFold("powershell")`, false},
	{`e.CommandLine.wildcardCase("*-ENC*")`, false},
	{`e.CommandLine.regex("(?i)-enc\\s+[a-z0-9+/=]{8}")`, true},
	{`e.CommandLine.regex("-enc\\s")`, false},
	{`e.DestinationIp.inCIDR("10.0.0.0/8")`, true},
	{`e.DestinationIp.inCIDR(["192.168.0.0/16", "172.16.0.0/12"])`, false},
	{`e.SourceIp.inCIDR("2001:db8::/32")`, true},
	{`e.SourceIp.inCIDR("10.0.0.0/8")`, false},
	{`e.GrantedAccess.numEq(4112)`, true},
	{`e.GrantedAccess.numEq("0x1010")`, true},
	{`e.GrantedAccess.numGt(4000) && e.GrantedAccess.numLt(5000)`, true},
	{`e.EventID.numEq("1")`, true},
	{`e.EventID.equalsFold("1")`, true},
	{`e.EventID == 1`, true},
	{`e.EventID.numGte(2)`, false},
	{`e.Ratio.numLte(0.5)`, true},
	{`e.Image.numEq(1)`, false},
	{`e.Missing.containsFold("x")`, false},
	{`e.Missing == "x"`, false},
	{`!e.Missing.containsFold("x")`, true},
	{`e.Missing.isNull()`, true},
	{`e.Empty.isNull()`, true},
	{`e.Image.isNull()`, false},
	{`has(e.Image)`, true},
	{`has(e.Missing)`, false},
	{`"Image" in e`, true},
	{`"Nope" in e`, false},
	{`e.process.parent.executable.endsWithFold("\\EXPLORER.exe")`, true},
	{`e["process.parent.executable"].endsWithFold("\\explorer.exe")`, true},
	{`has(e.process.parent)`, true},
	{`e.process.isNull()`, false},
	{`e.process.nothing.here.isNull()`, true},
	{`e["Weird Name"].containsFold("åsa s")`, true},
	{`e["Weird Name"].equalsFold("åsa straße")`, true},
	{`e.Hashes.containsFold("sha256=def")`, true},
	{`e.Hashes.equalsCase("MD5=ABC")`, true},
	{`e.Count.containsFold("42")`, true},
	{`e.Flag.equalsFold("TRUE")`, true},
	{`e.UtcTime.timePart("hour").numEq(21)`, true},
	{`e.UtcTime.timePart("month").numEq(12)`, true},
	{`e.Missing.timePart("hour").numEq(21)`, false},
	{`e.keywordFold("*whoami*")`, true},
	{`e.keywordFold("*mimikatz*")`, false},
	{`e.keywordCase("*SHA256*")`, true},
	{`e.keywordRegex("Sys(mon|tem32)")`, true},
	{`e.CommandLine.containsCase(base64offset("whoami"))`, false},
	{`e.Image.startsWith("C:")`, true},
	{`e.Image == "x" || e.Image.endsWithFold(".exe") && !e.CommandLine.containsFold("mimikatz")`, true},
	{`e.Missing.startsWith("C:")`, false},
	{`false || e.Image.containsFold("powershell")`, true},
	{`true && e.Image.containsFold("cmd.exe")`, false},
	{`[1,2,3].exists(x, x == e.EventID)`, true},
	{`e.Image.size() > 10 && e.Image.containsFold("powershell")`, true},
}

func TestConditions(t *testing.T) {
	for _, native := range []bool{true, false} {
		for _, pre := range []bool{true, false} {
			rules := make([]Rule, len(conditionCases))
			for i, c := range conditionCases {
				rules[i] = Rule{ID: strings.Repeat("r", 1) + string(rune('A'+i%26)) + itoa(i), Title: c.cond, Condition: c.cond}
			}
			rs, err := Compile(rules, WithNativeEvaluation(native), WithPrefilter(pre))
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			ms, err := rs.Match(context.Background(), sample)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, m := range ms {
				got[m.Rule.Title] = true
				if len(m.Explanation.Conditions) == 0 {
					t.Errorf("%s: empty explanation", m.Rule.Title)
				}
			}
			for _, c := range conditionCases {
				if got[c.cond] != c.want {
					t.Errorf("native=%v prefilter=%v: %s = %v, want %v", native, pre, c.cond, got[c.cond], c.want)
				}
			}
		}
	}
}

func itoa(i int) string {
	return strings.TrimSpace(strings.Repeat(" ", 0) + string(rune('0'+i/100%10)) + string(rune('0'+i/10%10)) + string(rune('0'+i%10)))
}

func TestCompileErrorsCollected(t *testing.T) {
	rules := []Rule{
		{ID: "ok", Condition: `e.Image.endsWithFold("a")`, Source: mdr.Origin{Source: "f.yml", Line: 1}},
		{ID: "bad-syntax", Condition: `e.Image.endsWithFold(`, Source: mdr.Origin{Source: "f.yml", Line: 10}},
		{ID: "bad-regex", Condition: `e.Image.regex("(")`, Source: mdr.Origin{Source: "f.yml", Line: 20}},
		{ID: "dyn-regex", Condition: `e.Image.regex(e.Other)`, Source: mdr.Origin{Source: "f.yml", Line: 30}},
		{ID: "", Condition: `true`, Source: mdr.Origin{Source: "g.yml", Line: 3}},
		{ID: "ok", Condition: `true`, Source: mdr.Origin{Source: "g.yml", Line: 9}},
		{ID: "not-bool", Condition: `"x"`},
		{ID: "bad-cidr", Condition: `e.Ip.inCIDR("10.0.0.0/99")`},
		{ID: "bad-unit", Condition: `e.T.timePart("fortnight").numEq(1)`},
		{ID: "bad-fn", Condition: `e.Image.nosuch("x")`},
		{ID: "empty"},
		{ID: "corr-unknown", Correlation: &Correlation{Type: EventCount, Rules: []string{"nope"}, Timespan: 1}},
		{ID: "corr-ok", Correlation: &Correlation{Type: EventCount, Rules: []string{"ok"}, Timespan: 60e9, Condition: CorrelationCondition{GTE: ptr(3)}}},
		{ID: "corr-type", Correlation: &Correlation{Type: "sometimes", Rules: []string{"ok"}, Timespan: 1}},
		{ID: "corr-span", Correlation: &Correlation{Type: EventCount, Rules: []string{"ok"}, Condition: CorrelationCondition{GTE: ptr(3)}}},
		{ID: "corr-nofield", Correlation: &Correlation{Type: ValueCount, Rules: []string{"ok"}, Timespan: 1, Condition: CorrelationCondition{GTE: ptr(3)}}},
		{ID: "corr-temporal1", Correlation: &Correlation{Type: Temporal, Rules: []string{"ok"}, Timespan: 1}},
		{ID: "corr-both", Condition: "true", Correlation: &Correlation{Type: EventCount, Rules: []string{"ok"}, Timespan: 1, Condition: CorrelationCondition{GTE: ptr(3)}}},
	}
	rs, err := Compile(rules)
	var ce *CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("want *CompileError, got %v", err)
	}
	if !errors.Is(err, ErrRule) || !errors.Is(err, mdr.ErrInvalid) {
		t.Fatalf("error does not wrap ErrRule/ErrInvalid")
	}
	wantIDs := []string{"bad-syntax", "bad-regex", "dyn-regex", "", "ok", "not-bool", "bad-cidr", "bad-unit", "bad-fn", "empty", "corr-both", "corr-unknown", "corr-type", "corr-span", "corr-nofield", "corr-temporal1"}
	if len(ce.Rejected) != len(wantIDs) {
		t.Fatalf("rejected %d, want %d:\n%v", len(ce.Rejected), len(wantIDs), err)
	}
	for i, id := range wantIDs {
		if ce.Rejected[i].RuleID != id {
			t.Errorf("rejection %d: id %q want %q (%v)", i, ce.Rejected[i].RuleID, id, ce.Rejected[i])
		}
	}
	if r := ce.Rejected[0]; r.File != "f.yml" || r.Line != 10 || !strings.Contains(r.Error(), "f.yml:10: rule bad-syntax:") {
		t.Errorf("bad location: %v", r)
	}
	if rs == nil || rs.Len() != 2 || len(rs.Correlations()) != 1 {
		t.Fatalf("ruleset should keep the accepted rules: %v", rs)
	}
	if _, ok := rs.Rule("corr-ok"); !ok {
		t.Fatal("Rule(corr-ok) not found")
	}
	ms, _ := rs.Match(context.Background(), ev("Image", "xa"))
	if len(ms) != 1 || ms[0].Rule.ID != "ok" {
		t.Fatalf("matches %v", ms)
	}
}

func ptr(f float64) *float64 { return &f }
