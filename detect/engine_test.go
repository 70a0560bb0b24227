package detect

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/mdrkit/mdr"
)

var testPipeline = Pipeline{Name: "test", Logsources: []LogsourceMapping{
	{Logsource: Logsource{Product: "windows", Category: "process_creation"}, Conditions: []map[string][]string{
		{"Channel": {"Microsoft-Windows-Sysmon/Operational"}, "EventID": {"1"}},
		{"Channel": {"Security"}, "EventID": {"4688"}}}},
	{Logsource: Logsource{Product: "windows"}, Conditions: []map[string][]string{
		{"Channel": {"Microsoft-Windows-Sysmon/Operational", "Security", "System"}}}},
	{Logsource: Logsource{Product: "windows", Service: "system"}, Conditions: []map[string][]string{{"Channel": {"System"}}}},
}}

func TestRouting(t *testing.T) {
	rules := []Rule{
		{ID: "proc", Logsource: Logsource{Product: "Windows", Category: "Process_Creation"}, Condition: `e.Image.endsWithFold(".exe")`},
		{ID: "win", Logsource: Logsource{Product: "windows"}, Condition: `e.Image.endsWithFold(".exe")`},
		{ID: "sys", Logsource: Logsource{Product: "windows", Service: "system"}, Condition: `e.Image.endsWithFold(".exe")`},
		{ID: "linux", Logsource: Logsource{Product: "linux"}, Condition: `e.Image.endsWithFold(".exe")`},
		{ID: "none", Condition: `e.Image.endsWithFold(".exe")`},
		{ID: "nolit", Logsource: Logsource{Product: "windows", Category: "process_creation"}, Condition: `!e.Image.containsFold("zzz")`},
	}
	for _, pre := range []bool{true, false} {
		rs, err := Compile(rules, WithPipeline(testPipeline), WithPrefilter(pre))
		if err != nil {
			t.Fatal(err)
		}
		if st := rs.Stats(); st.Unrouted != 2 || st.Unfiltered != 1 {
			t.Fatalf("stats %+v", st)
		}
		cases := []struct {
			ev   *mdr.Event
			want string
		}{
			{ev("Channel", "Microsoft-Windows-Sysmon/Operational", "EventID", 1, "Image", "a.exe"), "proc win linux none nolit"},
			// numbers as strings, hex, case and surrounding space are normalised
			{ev("Channel", "microsoft-windows-sysmon/operational ", "EventID", "0x1", "Image", "a.exe"), "proc win linux none nolit"},
			{ev("Channel", "security", "EventID", 4688, "Image", "a.exe"), "proc win linux none nolit"},
			{ev("Channel", "Security", "EventID", 4624, "Image", "a.exe"), "win linux none"},
			{ev("Channel", "System", "EventID", 7045, "Image", "a.exe"), "win sys linux none"},
			{ev("Channel", "Application", "EventID", 1, "Image", "a.exe"), "linux none"},
			{ev("EventID", 1, "Image", "a.exe"), "linux none"},
		}
		// each case twice in a row: the second meets the same routing values
		// (the router keeps its last result), the first other ones
		for k := range 2 * len(cases) {
			i := k / 2
			c := cases[i]
			ms, err := rs.Match(context.Background(), c.ev)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range ms {
				got = append(got, m.Rule.ID)
			}
			if strings.Join(got, " ") != c.want {
				t.Errorf("prefilter=%v case %d (%d): got %v want %s", pre, i, k%2, got, c.want)
			}
		}
	}
	if _, err := Compile(rules, WithPipeline(Pipeline{Logsources: []LogsourceMapping{{Logsource: Logsource{Product: "x"}}}})); err == nil || !errors.Is(err, ErrRule) {
		t.Fatalf("a mapping without conditions was accepted: %v", err)
	}
}

func TestExplanation(t *testing.T) {
	rs, err := Compile([]Rule{{ID: "r", Title: "t", Condition: `e.Image.endsWithFold(["\\powershell.exe", "\\pwsh.exe"]) && !e.CommandLine.containsFold("-nop") && e.keywordFold("*whoami*") && e.EventID.numEq(1) && e.Image.size() > 3`}})
	if err != nil {
		t.Fatal(err)
	}
	e := ev("Image", `C:\x\PowerShell.exe`, "CommandLine", "powershell /c whoami", "EventID", "1")
	ms, err := rs.Match(context.Background(), e)
	if err != nil || len(ms) != 1 {
		t.Fatalf("%v %v", ms, err)
	}
	x := ms[0].Explanation
	want := []Condition{
		{Field: "Image", Value: `C:\x\PowerShell.exe`, Operator: "endsWithFold", Argument: `["\\powershell.exe", "\\pwsh.exe"]`},
		{Field: "CommandLine", Value: "powershell /c whoami", Operator: "containsFold", Argument: `"-nop"`, Negated: true},
		{Value: "powershell /c whoami", Operator: "keywordFold", Argument: `"*whoami*"`},
		{Field: "EventID", Value: "1", Operator: "numEq", Argument: `"1"`},
		{Operator: "cel", Argument: "e.Image.size() > 3"},
	}
	if len(x.Conditions) != len(want) {
		t.Fatalf("explanation %+v", x)
	}
	for i := range want {
		if x.Conditions[i] != want[i] {
			t.Errorf("condition %d = %+v, want %+v", i, x.Conditions[i], want[i])
		}
	}
	text := x.String()
	for _, s := range []string{`Image = "C:\x\PowerShell.exe" endsWithFold ["\\powershell.exe", "\\pwsh.exe"]`, `not CommandLine = "powershell /c whoami" containsFold "-nop"`, `a value "powershell /c whoami" keywordFold "*whoami*"`} {
		if !strings.Contains(text, s) {
			t.Errorf("text %q lacks %q", text, s)
		}
	}
	js, err := json.Marshal(x)
	if err != nil || !strings.Contains(string(js), `"field":"Image","value":"C:\\x\\PowerShell.exe","operator":"endsWithFold"`) || !strings.Contains(string(js), `"negated":true`) {
		t.Fatalf("JSON %s %v", js, err)
	}
}

func TestHiddenAndCorrelationAccess(t *testing.T) {
	rules := []Rule{
		{ID: "base", Hidden: true, Condition: `e.A == "x"`},
		{ID: "corr", Correlation: &Correlation{Type: EventCount, Rules: []string{"base"}, Timespan: 60e9, Condition: CorrelationCondition{GTE: ptr(2)}}},
		{ID: "chain", Correlation: &Correlation{Type: Temporal, Rules: []string{"corr", "base"}, Timespan: 60e9}},
	}
	rs, err := Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := rs.Match(context.Background(), ev("A", "x"))
	if len(ms) != 1 || !ms[0].Hidden || ms[0].Rule.ID != "base" {
		t.Fatalf("hidden match %+v", ms)
	}
	if cs := rs.Correlations(); len(cs) != 2 || cs[0].ID != "corr" || cs[1].ID != "chain" {
		t.Fatalf("correlations %+v", cs)
	}
	if r, ok := rs.Rule("base"); !ok || !r.Hidden {
		t.Fatal("Rule(base)")
	}
	if _, ok := rs.Rule("nope"); ok {
		t.Fatal("Rule(nope) found")
	}
	if st := rs.Stats(); st.Hidden != 1 || st.Correlations != 2 || st.Rules != 1 || rs.Len() != 3 || len(rs.Rules()) != 3 {
		t.Fatalf("stats %+v len %d", st, rs.Len())
	}
}

func TestCostLimitAndCancel(t *testing.T) {
	// a CEL-only condition that loops over a big list
	cond := `[` + strings.Repeat(`1,`, 2000) + `1].all(x, [` + strings.Repeat(`2,`, 100) + `2].exists(y, y == x + e.A.size())) && e.A == "x"`
	rs, err := Compile([]Rule{{ID: "heavy", Condition: cond}, {ID: "light", Condition: `e.A == "x"`}}, WithCostLimit(1000))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := rs.Match(context.Background(), ev("A", "x"))
	var ee *EvalError
	if !errors.As(err, &ee) || ee.RuleID != "heavy" || !errors.Is(err, ErrCost) || !errors.Is(err, mdr.ErrLimit) {
		t.Fatalf("want a cost error for heavy, got %v", err)
	}
	if len(ms) != 1 || ms[0].Rule.ID != "light" {
		t.Fatalf("the other rule must still match: %+v", ms)
	}
	rs2, err := Compile([]Rule{{ID: "heavy", Condition: cond}}, WithCostLimit(1<<62), WithInterruptCheckFrequency(10))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := rs2.Match(ctx, ev("A", "x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	for _, o := range []Option{WithCostLimit(0), WithInterruptCheckFrequency(0)} {
		if _, err := Compile(nil, o); err == nil {
			t.Fatal("a zero option was accepted")
		}
	}
}

func TestVariants(t *testing.T) {
	if got := variantBase64("http"); got != "aHR0cA==" {
		t.Fatal(got)
	}
	// each offset variant appears in the encoding of the text at that offset
	for _, pre := range []string{"", "a", "ab", "abc", "xyzw"} {
		for _, post := range []string{"", "!", "!!", "!!!"} {
			enc := variantBase64(pre + "Invoke-Mimikatz" + post)
			found := false
			for _, v := range variantBase64Offset("Invoke-Mimikatz") {
				if v != "" && strings.Contains(enc, v) {
					found = true
				}
			}
			if !found {
				t.Errorf("no base64offset variant in %q (prefix %q)", enc, pre)
			}
		}
	}
	if got := variantUTF16("ab", false, false); got != "a\x00b\x00" {
		t.Fatalf("utf16le %q", got)
	}
	if got := variantUTF16("ab", true, false); got != "\x00a\x00b" {
		t.Fatalf("utf16be %q", got)
	}
	if got := variantUTF16("a", false, true); got != "\xff\xfea\x00" {
		t.Fatalf("utf16 %q", got)
	}
	w, err := variantWindash("-a /b c-d")
	if err != nil || len(w) != 25 || w[0] != "-a -b c-d" || !contains(w, "/a /b c-d") || !contains(w, "\u2015a \u2014b c-d") {
		t.Fatalf("windash %d %q %v", len(w), w[:3], err)
	}
	if _, err := variantWindash(strings.Repeat(" -x", 6)); err == nil {
		t.Fatal("windash expansion is not bounded")
	}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func TestGlob(t *testing.T) {
	cases := []struct {
		p, s string
		fold bool
		want bool
	}{
		{`*\cmd.exe`, `c:\windows\cmd.exe`, false, true},
		{`*\CMD.EXE`, `c:\windows\cmd.exe`, true, true},
		{`*\CMD.EXE`, `c:\windows\cmd.exe`, false, false},
		{`a?c`, `abc`, false, true},
		{`a?c`, `aéc`, false, true},
		{`a?c`, `ac`, false, false},
		{`a\*c`, `a*c`, false, true},
		{`a\*c`, `abc`, false, false},
		{`a\?c`, `a?c`, false, true},
		{`a\\*`, `a\xyz`, false, true},
		{`a\b*`, `a\bcd`, false, true},
		{`*a*b*c*`, `xxaxxbxxcxx`, false, true},
		{`*a*b*c*`, `xxcxxbxxaxx`, false, false},
		{`*ab*ab`, `abab`, false, true},
		{`*ab*ab`, `ab`, false, false},
		{`*`, ``, false, true},
		{``, ``, false, true},
		{``, `a`, false, false},
		{`?*?`, `a`, false, false},
		{`?*?`, `ab`, false, true},
	}
	for _, c := range cases {
		g := compileGlob(c.p, c.fold)
		s := c.s
		if c.fold {
			s = fold(s)
		}
		if got := g.match(s); got != c.want {
			t.Errorf("glob %q on %q (fold %v) = %v", c.p, c.s, c.fold, got)
		}
	}
}

func TestRegexLiterals(t *testing.T) {
	cases := map[string][]string{
		`(?i)\\powershell\.exe`: {`\powershell.exe`},
		`abc|def`:               {"abc", "def"},
		`abc|.*`:                nil,
		`x(abc)+y`:              {"abc"},
		`a.*bcdef`:              {"bcdef"},
		`(ab)?c`:                {"c"},
		`[a-z]+`:                nil,
		`ABC`:                   {"abc"},
	}
	for re, want := range cases {
		got, ok := regexLiterals(re)
		if ok != (want != nil) || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: %q %v, want %q", re, got, ok, want)
		}
	}
}

func TestRegexRequired(t *testing.T) {
	cases := map[string]string{
		`(?i)set.*&&\s?set.*(environment|invoke)`: "set|&&|set|environment,invoke",
		`abc`:        "abc",
		`a(bx|cy)d`:  "a|bx,cy|d",
		`x*`:         "",
		`(?i)ABC\d+`: "abc",
	}
	for re, want := range cases {
		var parts []string
		for _, g := range regexRequired(re) {
			parts = append(parts, strings.Join(g, ","))
		}
		if got := strings.Join(parts, "|"); got != want {
			t.Errorf("%s: %q, want %q", re, got, want)
		}
	}
}

func TestDottedPathNextToFlatKey(t *testing.T) {
	e := ev("a", "x", "a.b", "y", "c.d.e", "z")
	conds := map[string]bool{
		`e.a.b == "y"`:                         true,
		`e.a.b.equalsCase("y")`:                true,
		`e["a"].b.equalsCase("y")`:             true,
		`e.a == "x"`:                           true,
		`has(e.a.b)`:                           true,
		`has(e.c.d)`:                           true,
		`has(e.c.x)`:                           false,
		`e.c.d.e.endsWith("z")`:                true,
		`e.c.d.isNull()`:                       false,
		`e.a.b.size() == 1 && e.a.size() == 1`: true,
	}
	for _, native := range []bool{true, false} {
		for cond, want := range conds {
			rs, err := Compile([]Rule{{ID: "r", Condition: cond}}, WithNativeEvaluation(native))
			if err != nil {
				t.Fatalf("%s: %v", cond, err)
			}
			ms, err := rs.Match(context.Background(), e)
			if err != nil {
				t.Fatal(err)
			}
			if (len(ms) == 1) != want {
				t.Errorf("native=%v: %s = %v, want %v", native, cond, len(ms) == 1, want)
			}
		}
	}
}

// TestKeywordClasses checks keyword rules of several route classes: an
// event that opens two classes with keyword rules is scanned for the
// union of their literals (built on first use), one that opens one class
// for that class's literals alone. Matches must equal evaluating every
// routed rule (no prefilter), for values in mixed case, non-ASCII text
// and lists, over events whose classes change from one to the next.
func TestKeywordClasses(t *testing.T) {
	rules := []Rule{
		{ID: "win-mimi", Logsource: Logsource{Product: "windows"}, Condition: `e.keywordFold(["*mimikatz*", "sekurlsa::logonpasswords"])`},
		{ID: "win-case", Logsource: Logsource{Product: "windows"}, Condition: `e.keywordCase("*Invoke-Kerberoast*")`},
		{ID: "sys-short", Logsource: Logsource{Product: "windows", Service: "system"}, Condition: `e.keywordFold(["ab", "*xyzw*"])`},
		{ID: "proc-kw", Logsource: Logsource{Product: "windows", Category: "process_creation"}, Condition: `e.keywordFold("*straße*")`},
		{ID: "linux-kw", Logsource: Logsource{Product: "linux"}, Condition: `e.keywordFold("*mimikatz*")`},
		// field literals beside the keywords: a field scanned for its own
		// literals is scanned for the keyword literals in the same pass
		// when they are all at least as long as its shortest (CommandLine
		// here), else the keyword scan covers it (Image, whose shortest
		// literal is longer than the system log's "xyzw")
		{ID: "proc-img", Logsource: Logsource{Product: "windows", Category: "process_creation"}, Condition: `e.Image.endsWithFold("\\windows\\x.exe") || e.Image.containsFold("invoke-kerberoast")`},
		{ID: "win-cmd", Logsource: Logsource{Product: "windows"}, Condition: `e.CommandLine.containsFold("run ab") || e.CommandLine.endsWithFold(" now") && e.CommandLine.startsWithFold("run")`},
	}
	words := []string{"MimiKatz", "mimikatz", "SEKURLSA::LogonPasswords", "Invoke-Kerberoast", "invoke-kerberoast", "AB", "xYzW", "STRASSE", "Straße", "STRAßE", "C:\\Windows\\x.exe", "é", "plain"}
	channels := []struct {
		ch string
		id int
	}{{"Microsoft-Windows-Sysmon/Operational", 1}, {"Microsoft-Windows-Sysmon/Operational", 3}, {"System", 7045}, {"Security", 4688}, {"Security", 4624}, {"Application", 1}}
	on, err := Compile(rules, WithPipeline(testPipeline))
	if err != nil {
		t.Fatal(err)
	}
	off, err := Compile(rules, WithPipeline(testPipeline), WithPrefilter(false))
	if err != nil {
		t.Fatal(err)
	}
	ids := func(rs *Ruleset, e *mdr.Event) string {
		ms, err := rs.Match(context.Background(), e)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range ms {
			got = append(got, m.Rule.ID)
		}
		return strings.Join(got, " ")
	}
	seen := map[string]bool{}
	for i := 0; i < 3000; i++ {
		c := channels[(i*7+i/5)%len(channels)]
		a, b := words[i%len(words)], words[(i/3)%len(words)]
		// the words sit in one field each, so that each scan must find them
		e := ev("Channel", c.ch, "EventID", c.id, "CommandLine", "run "+a+" now", "Image", b)
		if i%3 == 0 {
			e = ev("Channel", c.ch, "EventID", c.id, "CommandLine", "run now", "Image", "y", "Tags", []string{"x", a + b})
		}
		want, got := ids(off, e), ids(on, e)
		if got != want {
			t.Fatalf("event %d (%s %d, %q, %q): prefilter %q, every rule %q", i, c.ch, c.id, a, b, got, want)
		}
		seen[want] = true
	}
	// the events exercised each keyword rule, one class open and two
	for _, id := range []string{"win-mimi", "win-case", "sys-short", "proc-kw", "proc-img", "win-cmd"} {
		found := false
		for s := range seen {
			found = found || strings.Contains(" "+s+" ", " "+id+" ")
		}
		if !found {
			t.Errorf("no event matched %s", id)
		}
	}
	if on.pre.bySlotKW[on.slotOf["CommandLine"]] == nil || on.pre.bySlotKW[on.slotOf["Image"]] == nil {
		t.Error("no combined field and keyword set for CommandLine and Image")
	}
	if n := on.nKWCombos.Load(); n < 2 {
		t.Errorf("%d keyword sets of several classes built, want 2 (windows+system, windows+process_creation)", n)
	}
}
