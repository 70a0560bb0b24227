package detect

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
)

func TestLoadFile(t *testing.T) {
	rules, err := LoadFile("testdata/rules/windows.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 3 {
		t.Fatalf("got %d rules", len(rules))
	}
	r := rules[0]
	if r.ID != "test-encoded-powershell" || r.Severity != mdr.SeverityHigh || r.Logsource.Category != "process_creation" ||
		len(r.Tags) != 2 || len(r.Fields) != 2 || r.Source.Line != 2 || r.Source.Source != "testdata/rules/windows.yml" ||
		!strings.HasPrefix(r.Condition, "e.Image.endsWithFold") {
		t.Fatalf("rule 0: %+v", r)
	}
	if rules[1].Severity != mdr.SeverityCritical || rules[1].Source.Line != 17 {
		t.Fatalf("rule 1: %+v", rules[1])
	}
	c := rules[2].Correlation
	if c == nil || c.Type != EventCount || c.Timespan != 5*time.Minute || *c.Condition.GTE != 3 || c.GroupBy[0] != "Computer" {
		t.Fatalf("rule 2: %+v", rules[2])
	}
	rs, err := Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	if got := rs.Stats(); got.Rules != 2 || got.Correlations != 1 {
		t.Fatalf("stats %+v", got)
	}
}

func TestParseRulesErrors(t *testing.T) {
	src := `id: a
title: fine
condition: e.X == "1"
---
id: b
severity: extreme
condition: "true"
---
- id: c
  conditoin: "true"
- id: d
  correlation: {type: event_count, rules: [a], timespan: 5 minutes}
- just a string
---
id: e
tags: {not: a list}
`
	rules, err := ParseRules([]byte(src), "mem.yml")
	if len(rules) != 1 || rules[0].ID != "a" {
		t.Fatalf("rules %+v", rules)
	}
	var ce *CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("err %v", err)
	}
	want := []struct {
		id   string
		line int64
		msg  string
	}{{"b", 6, "severity"}, {"c", 10, "unknown rule key \"conditoin\""}, {"d", 12, "timespan"}, {"", 13, "mapping"}, {"e", 16, "cannot unmarshal"}}
	if len(ce.Rejected) != len(want) {
		t.Fatalf("rejected:\n%v", err)
	}
	for i, w := range want {
		r := ce.Rejected[i]
		if r.RuleID != w.id || r.Line != w.line || r.File != "mem.yml" || !strings.Contains(r.Reason, w.msg) {
			t.Errorf("rejection %d = %+v, want %+v", i, r, w)
		}
	}
	// a syntax error stops at its line
	_, err = ParseRules([]byte("id: x\ncondition: [\n"), "broken.yml")
	if rj := Rejections(err); len(rj) != 1 || rj[0].Line == 0 {
		t.Fatalf("syntax error: %v", err)
	}
}

func TestParseTimespan(t *testing.T) {
	for in, want := range map[string]time.Duration{"30s": 30 * time.Second, "5m": 5 * time.Minute, "2h": 2 * time.Hour, "1d": 24 * time.Hour, "1w": 7 * 24 * time.Hour, "1h30m": 90 * time.Minute} {
		if got, err := ParseTimespan(in); err != nil || got != want {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	for _, in := range []string{"", "5x", "m", "-1d", "99999999999999999w"} {
		if _, err := ParseTimespan(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func FuzzParseRules(f *testing.F) {
	f.Add([]byte("id: a\ncondition: e.X == 1\n"))
	f.Add([]byte("- id: a\n  correlation: {type: temporal, timespan: 1d}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, _ := ParseRules(data, "fuzz")
		_, _ = Compile(rules)
	})
}

func FuzzCompileCondition(f *testing.F) {
	for _, c := range conditionCases {
		f.Add(c.cond)
	}
	// issue 17: constant comprehensions were folded at compile time
	// without a cost limit (a triple one over 500 items: 44 s)
	f.Add(`e.Image == "x" && [1,2,3,4,5,6,7,8,9,10].exists(x, [1,2,3,4,5,6,7,8,9,10].exists(y, [1,2,3,4,5,6,7,8,9,10].exists(z, x + y + z == -1)))`)
	other := ev("Image", "x", "EventID", "0x10", "Hashes", []string{"A", "b"}, "proc.name", nil)
	f.Fuzz(func(t *testing.T, cond string) {
		// differential: direct evaluation with the prefilter must agree with
		// the CEL program evaluated on every event. Compiling is bounded
		// by the cost limit too: a condition that takes seconds to compile
		// is a failure (the limit here allows about 10,000 steps).
		start := time.Now()
		fast, err := Compile([]Rule{{ID: "f", Condition: cond}}, WithCostLimit(10000))
		if fast == nil {
			t.Fatalf("nil ruleset: %v", err)
		}
		if el := time.Since(start); el > 10*time.Second {
			t.Fatalf("%q: compiling took %v", cond, el)
		}
		slow, _ := Compile([]Rule{{ID: "f", Condition: cond}}, WithCostLimit(10000), WithNativeEvaluation(false), WithPrefilter(false))
		for _, e := range []*mdr.Event{sample, other} {
			a, errA := fast.Match(context.Background(), e)
			b, errB := slow.Match(context.Background(), e)
			if errA != nil || errB != nil {
				continue // cost limit: both stop
			}
			if len(a) != len(b) {
				t.Fatalf("%q: %d matches directly, %d through CEL", cond, len(a), len(b))
			}
		}
	})
}
