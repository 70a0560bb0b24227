package sigma

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mdrkit/mdr"
	"github.com/mdrkit/mdr/detect"
)

func compileSrc(t *testing.T, src string, opts ...Option) ([]detect.Rule, error) {
	t.Helper()
	c, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c.Compile(Source{Name: "m.yml", Data: []byte(src)})
}

func TestMultiDocumentActions(t *testing.T) {
	src := `action: global
title: Shared
logsource:
    product: windows
detection:
    common:
        EventID: 1
    condition: common and sel
level: high
---
id: r1
logsource:
    category: process_creation
detection:
    sel:
        Image|endswith: '\a.exe'
---
action: repeat
id: r2
detection:
    sel:
        Image|endswith: '\b.exe'
---
action: reset
---
title: Alone
id: r3
logsource:
    product: linux
detection:
    sel:
        A: x
    condition: sel
`
	rules, err := compileSrc(t, src)
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 3 {
		t.Fatalf("got %d rules, want 3", len(rules))
	}
	want := map[string]string{
		"r1": `e.EventID.numEq(1) && e.Image.endsWithFold("\\a.exe")`,
		"r2": `e.EventID.numEq(1) && e.Image.endsWithFold("\\b.exe")`,
		"r3": `e.A.equalsFold("x")`,
	}
	for _, r := range rules {
		if r.Condition != want[r.ID] {
			t.Errorf("%s: %s, want %s", r.ID, r.Condition, want[r.ID])
		}
	}
	if rules[0].Title != "Shared" || rules[0].Severity != mdr.SeverityHigh || rules[0].Logsource != (detect.Logsource{Product: "windows", Category: "process_creation"}) {
		t.Errorf("global part not merged: %+v", rules[0])
	}
	if rules[2].Severity != mdr.SeverityUnknown || rules[2].Logsource.Product != "linux" {
		t.Errorf("reset did not clear the global part: %+v", rules[2])
	}
	if rules[1].Source.Line != 18 {
		t.Errorf("r2 line %d, want 18", rules[1].Source.Line)
	}
}

const correlationSrc = `title: Correlation - Multiple Failed Logins Followed by Successful Login
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
correlation:
    type: temporal_ordered
    rules:
        - multiple_failed_login
        - successful_login
    group-by:
        - User
    timespan: 10m
level: high
---
title: Multiple failed logons
id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
name: multiple_failed_login
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - User
    timespan: 10m
    condition:
        gte: 10
---
title: Single failed login
id: 53ba33fd-3a50-4468-a5ef-c583635cfa92
name: failed_login
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID:
            - 529
            - 4625
    condition: selection
---
title: Successful login
id: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8
name: successful_login
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID:
            - 528
            - 4624
    condition: selection
`

func TestCorrelationChain(t *testing.T) {
	rules, err := compileSrc(t, correlationSrc)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]detect.Rule{}
	for _, r := range rules {
		byID[r.ID] = r
	}
	outer := byID["b180ead8-d58f-40b2-ae54-c8940995b9b6"]
	if outer.Correlation == nil || outer.Correlation.Type != detect.TemporalOrdered || outer.Hidden {
		t.Fatalf("outer: %+v", outer)
	}
	if got := outer.Correlation.Rules; len(got) != 2 || got[0] != "a8418a5a-5fc4-46b5-b23b-6c73beb19d41" || got[1] != "4d0a2c83-c62c-4ed4-b475-c7e23a9269b8" {
		t.Errorf("references not resolved to ids in order: %v", got)
	}
	if outer.Correlation.Timespan != 10*time.Minute || outer.Correlation.Condition.GTE == nil || *outer.Correlation.Condition.GTE != 2 {
		t.Errorf("timespan/default condition: %+v", outer.Correlation)
	}
	inner := byID["a8418a5a-5fc4-46b5-b23b-6c73beb19d41"]
	if inner.Correlation == nil || !inner.Hidden || *inner.Correlation.Condition.GTE != 10 || inner.Correlation.GroupBy[0] != "User" {
		t.Errorf("inner correlation: %+v hidden=%v", inner.Correlation, inner.Hidden)
	}
	for _, id := range []string{"53ba33fd-3a50-4468-a5ef-c583635cfa92", "4d0a2c83-c62c-4ed4-b475-c7e23a9269b8"} {
		if !byID[id].Hidden || byID[id].Condition == "" {
			t.Errorf("base rule %s: hidden=%v condition=%q", id, byID[id].Hidden, byID[id].Condition)
		}
	}
}

func TestCorrelationTypesAndAliases(t *testing.T) {
	base := `
---
title: A
name: internal_error
id: id-a
logsource: {product: web}
detection:
    sel: {status: 500}
    condition: sel
---
title: B
name: new_network_connection
id: id-b
logsource: {product: net}
detection:
    sel: {outcome: success}
    condition: sel
`
	cases := []struct {
		name, corr string
		check      func(t *testing.T, c *detect.Correlation)
	}{
		{"temporal aliases generate", `title: C
id: c
correlation:
    type: temporal
    rules: [internal_error, new_network_connection]
    group-by: [internal_ip]
    timespan: 10s
    aliases:
        internal_ip:
            internal_error: destination.ip
            new_network_connection: source.ip
generate: true
`, func(t *testing.T, c *detect.Correlation) {
			if c.Aliases["internal_ip"]["id-a"] != "destination.ip" || c.Aliases["internal_ip"]["id-b"] != "source.ip" || c.Timespan != 10*time.Second {
				t.Errorf("%+v", c)
			}
		}},
		{"value_count", "title: C\nid: c\ncorrelation:\n    type: value_count\n    rules: [id-a]\n    group-by: [host]\n    timespan: 1d\n    condition:\n        field: User\n        gt: 100\n        lte: 200\n",
			func(t *testing.T, c *detect.Correlation) {
				if c.Condition.Field != "User" || *c.Condition.GT != 100 || *c.Condition.LTE != 200 || c.Timespan != 24*time.Hour {
					t.Errorf("%+v", c.Condition)
				}
			}},
		{"value_sum", "title: C\nid: c\ncorrelation:\n    type: value_sum\n    rules: [id-a]\n    group-by: [ip]\n    timespan: 1h\n    condition:\n        field: bytes\n        gt: 1000000\n",
			func(t *testing.T, c *detect.Correlation) {
				if c.Type != detect.ValueSum || c.Condition.Field != "bytes" {
					t.Errorf("%+v", c)
				}
			}},
		{"value_avg", "title: C\nid: c\ncorrelation:\n    type: value_avg\n    rules: [id-a]\n    group-by: [ip]\n    timespan: 24h\n    condition:\n        field: BytesOut\n        gt: 500\n",
			func(t *testing.T, c *detect.Correlation) {
				if c.Type != detect.ValueAvg || *c.Condition.GT != 500 {
					t.Errorf("%+v", c)
				}
			}},
		{"value_percentile", "title: C\nid: c\ncorrelation:\n    type: value_percentile\n    rules: [id-a]\n    group-by: [ComputerName]\n    timespan: 24h\n    condition:\n        field: image\n        lte: 1\n",
			func(t *testing.T, c *detect.Correlation) {
				if c.Type != detect.ValuePercentile || c.Condition.Percentile != 1 {
					t.Errorf("%+v", c)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rules, err := compileSrc(t, tc.corr+base)
			if err != nil {
				t.Fatal(err)
			}
			var corr *detect.Rule
			hidden := 0
			for i := range rules {
				if rules[i].Correlation != nil {
					corr = &rules[i]
				} else if rules[i].Hidden {
					hidden++
				}
			}
			if corr == nil {
				t.Fatal("no correlation rule")
			}
			tc.check(t, corr.Correlation)
			wantHidden := len(corr.Correlation.Rules)
			if strings.Contains(tc.corr, "generate: true") {
				wantHidden = 0
			}
			if hidden != wantHidden {
				t.Errorf("%d hidden base rules, want %d", hidden, wantHidden)
			}
		})
	}
}

func TestCorrelationErrors(t *testing.T) {
	cases := map[string]string{
		"unknown rule":  "title: C\nid: c\ncorrelation:\n    type: event_count\n    rules: [nope]\n    timespan: 1h\n    condition: {gte: 2}\n",
		"bad type":      "title: C\nid: c\ncorrelation:\n    type: near\n    rules: [c]\n    timespan: 1h\n",
		"bad timespan":  "title: C\nid: c\ncorrelation:\n    type: temporal\n    rules: [c]\n    timespan: 1 hour\n",
		"missing field": "title: C\nid: c\ncorrelation:\n    type: value_count\n    rules: [c]\n    timespan: 1h\n    condition: {gte: 2}\n",
		"no condition":  "title: C\nid: c\ncorrelation:\n    type: event_count\n    rules: [c]\n    timespan: 1h\n",
		"bad operator":  "title: C\nid: c\ncorrelation:\n    type: event_count\n    rules: [c]\n    timespan: 1h\n    condition: {above: 2}\n",
		"unknown alias": "title: C\nid: c\ncorrelation:\n    type: temporal\n    rules: [c]\n    timespan: 1h\n    aliases: {x: {other: f}}\n",
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := compileSrc(t, src)
			var le *LoadError
			if !errors.As(err, &le) || le.Problems[0].RuleID != "c" || le.Problems[0].Line == 0 {
				t.Fatalf("want a problem naming rule c and a line, got %v", err)
			}
		})
	}
}

func TestMetaFilter(t *testing.T) {
	src := `title: Rule
id: 6f3e2987-db24-4c78-a860-b4f4095a7095
logsource:
    category: process_creation
    product: windows
detection:
    sel:
        Image|endswith: '\rar.exe'
    condition: sel
---
title: Filter Administrator account
logsource:
    category: process_creation
    product: windows
filter:
    rules:
        - 6f3e2987-db24-4c78-a860-b4f4095a7095
    selection:
        User|startswith: 'adm_'
    condition: selection
`
	rules, err := compileSrc(t, src)
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 1 {
		t.Fatalf("%d rules", len(rules))
	}
	want := `e.Image.endsWithFold("\\rar.exe") && !(e.User.startsWithFold("adm_"))`
	if rules[0].Condition != want {
		t.Errorf("got %s\nwant %s", rules[0].Condition, want)
	}
	_, err = compileSrc(t, strings.Replace(src, "- 6f3e2987", "- 00000000", 1))
	if !errors.Is(err, ErrReference) {
		t.Errorf("filter naming a missing rule: %v", err)
	}
}

func TestYAMLErrorsNameTheLine(t *testing.T) {
	_, err := compileSrc(t, "title: x\ndetection:\n    sel: [a\n")
	var le *LoadError
	if !errors.As(err, &le) || le.Problems[0].Line == 0 || !errors.Is(err, ErrSyntax) {
		t.Fatalf("got %v", err)
	}
}

func TestAliasBombRejected(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	b.WriteString("title: bomb\nlogsource: {product: x}\ndetection: {s: {A: 1}, condition: s}\n")
	_, err := compileSrc(t, b.String())
	if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), "alias expansion") {
		t.Fatalf("got %v", err)
	}
}

func TestCorrelationOverRejectedRule(t *testing.T) {
	src := strings.Replace(correlationSrc, "        EventID:\n            - 529\n", "        EventID|bogus:\n            - 529\n", 1)
	rules, err := compileSrc(t, src)
	var le *LoadError
	if !errors.As(err, &le) || len(le.Problems) != 3 {
		t.Fatalf("want the base rule and both correlations of the chain rejected, got %v", err)
	}
	if !errors.Is(err, ErrReference) || !errors.Is(err, ErrModifier) {
		t.Errorf("got %v", err)
	}
	if len(rules) != 1 || rules[0].ID != "4d0a2c83-c62c-4ed4-b475-c7e23a9269b8" || rules[0].Hidden {
		t.Errorf("want the successful-login rule accepted and visible (its correlation is gone): %+v", rules)
	}
}

func TestIsSigma(t *testing.T) {
	cases := map[string]bool{
		"title: x\ndetection:\n    s: {A: 1}\n    condition: s\n": true,
		correlationSrc:                                                                 true,
		"title: f\nfilter:\n    rules: [x]\n":                                          true,
		"title: c\ncorrelation:\n    type: event_count\n":                              true,
		"id: n\nseverity: high\ncondition: e.A == 1\n":                                 false,
		"id: n\nseverity: high\ncorrelation:\n    type: event_count\n    rules: [a]\n": false,
		"- id: n\n  condition: e.A == 1\n":                                             false,
		"title: THOR\nlogsources:\n    a: {}\n":                                        false,
	}
	for src, want := range cases {
		if got := IsSigma([]byte(src)); got != want {
			t.Errorf("IsSigma(%q) = %v, want %v", src[:min(40, len(src))], got, want)
		}
	}
}
